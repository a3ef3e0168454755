#!/usr/bin/python3
"""LAB.md §4–§6 in Porin's web UI, by clicks, in headless Chromium (WebUIBrowserTests runs it).

Debian's python3-selenium drives Debian's chromium through /usr/bin/chromedriver: nothing is
downloaded. The cluster is up with the lab's tenants and §3's curls done; between steps the script
runs the lab's curls with `porin exec`. One line per step, then "N passed, M failed"; exit 1 on any
failure. Every SEVERE browser console entry is a failure.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import traceback
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.common.exceptions import ElementClickInterceptedException, ElementNotInteractableException, StaleElementReferenceException

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--porin", required=True)
ap.add_argument("--cluster", required=True)
ap.add_argument("--lab", required=True)
ap.add_argument("--screenshots", required=True)
args = ap.parse_args()

os.makedirs(args.screenshots, exist_ok=True)
downloads = os.path.join(args.screenshots, "downloads")
os.makedirs(downloads, exist_ok=True)
for f in os.listdir(downloads):
    os.remove(os.path.join(downloads, f))

opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,900", "--disable-gpu"]:
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
opts.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
driver.set_page_load_timeout(30)

passed, failed = 0, 0


def step(name):
    def wrap(fn):
        global passed, failed
        t0 = time.time()
        try:
            fn()
            # Chrome logs every 4xx answer as SEVERE; 409 and 422 are the API's answers to a
            # refused rule or an invalid policy, which the page shows the user. Anything else fails.
            severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"
                      and not ("Failed to load resource" in e.get("message", "") and ("status of 409" in e["message"] or "status of 422" in e["message"]))]
            if severe:
                raise AssertionError("browser console: " + "; ".join(e.get("message", "") for e in severe))
            passed += 1
            print(f"ok   {name} ({time.time() - t0:.1f} s)", flush=True)
        except Exception as e:  # one failed step does not hide the others' results
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
            traceback.print_exc(file=sys.stdout)
            shot(f"failed-{name.split()[0]}")
        return fn
    return wrap


def shot(name):
    driver.save_screenshot(os.path.join(args.screenshots, f"{name}.png"))


def wait(cond, what, timeout=10.0):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # the page is still rendering
            last = e
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f" ({last})" if last else ""))


def css(sel):
    return driver.find_elements(By.CSS_SELECTOR, sel)


def one(sel, timeout=10.0):
    return wait(lambda: (css(sel) or [None])[0], sel, timeout)


def settle():
    """Until the page has no request in flight and no debounce pending (body[data-busy] == "0")."""
    wait(lambda: driver.execute_script("return document.body.dataset.busy") in ("0", None), "the page to settle")


def click(sel, timeout=10.0):
    """Clicks `sel`, looked up afresh when the page re-rendered it under us (a live update)."""
    for attempt in range(20):
        el = one(sel, timeout)
        try:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
            el.click()
            settle()
            return el
        except (StaleElementReferenceException, ElementClickInterceptedException, ElementNotInteractableException):
            if attempt == 19:
                raise
            time.sleep(0.1)


def click_text(text, scope="", tag="button"):
    """The visible element `tag` under `scope` whose text is `text`."""
    def find():
        for el in css(f"{scope} {tag}".strip()):
            if el.is_displayed() and el.text.strip() == text:
                return el
        return None
    el = wait(find, f"{tag} '{text}'")
    el.click()
    settle()
    return el


def attr(sel, name):
    """An attribute of `sel`, read again if a live update replaced the element meanwhile."""
    def read():
        try:
            return one(sel).get_attribute(name) or ""
        except StaleElementReferenceException:
            return None
    return wait(lambda: read(), f"{sel}'s {name}")


def text_of(sel):
    def read():
        try:
            return one(sel).text
        except StaleElementReferenceException:
            return None
    return wait(lambda: read(), f"{sel}'s text")


def yaml_text():
    return one("#yaml").get_property("value")


def api(path, body=None, method=None):
    req = urllib.request.Request(args.url + path, data=None if body is None else json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def porin(*a):
    return subprocess.run([args.porin, *a], capture_output=True, text=True, timeout=60)


def curl(url, ns="tenant-a", timeout=5):
    return porin("exec", "-n", ns, "frontend-service", "--", "curl", "-sI", "--max-time", str(timeout), url)


def lab_yaml(name):
    with open(os.path.join(args.lab, name)) as f:
        return "".join(l for l in f if not l.startswith("#"))


def rows(namespace="tenant-a"):
    return api(f"/api/flows?group=1&namespace={namespace}")["rows"]


def row_id(dest, verdict):
    for r in rows():
        if r["source"]["id"] == "pod:tenant-a/frontend-service" and r["destination"]["id"] == dest and r["verdict"] == verdict:
            return r["id"]
    raise AssertionError(f"no {verdict} row to {dest}")


def go(route):
    driver.get(args.url + "/#" + route)


DEFAULT_FIRST = """apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: default
  namespace: tenant-a
spec:
  endpointSelector: {}
"""


@step("b: Policies, tenant-a: no policy to show, every flow forwarded")
def no_policy():
    go("/policies?namespace=tenant-a")
    wait(lambda: "No policy to show" in one("#no-policy").text, "No policy to show")
    verdicts = wait(lambda: driver.execute_script(
        "return [...document.querySelectorAll('#policy-flows tr[data-row]')].map(t => t.dataset.verdict)"), "flow rows")
    assert set(verdicts) == {"forwarded"}, verdicts


@step("c: LAB §4 by clicks gives the lab's default policy, byte for byte")
def section4():
    click("#create-empty")
    click("#edit-subject")
    for sel, value in [("#policy-name", "default"), ("#policy-namespace", "tenant-a"), ("#endpoint-selector", "")]:
        el = one(sel)
        el.clear()
        if value:
            el.send_keys(value)
    click("#subject-save")
    wait(lambda: yaml_text() == DEFAULT_FIRST, "§4's first YAML", 5)
    click("#ingress-default")
    wait(lambda: "ingress:\n  - {}" in yaml_text(), "ingress: [{}]")
    click("#egress-default")
    wait(lambda: len(css('[data-arrow][data-state="denied"]')) == 6, "6 red arrows")
    click('[data-box="ingress/inNamespace"] [data-add="anyPod"]')
    click_text("Allow from any pod", "#popup")
    wait(lambda: "fromEndpoints" in yaml_text(), "fromEndpoints")
    click('[data-box="egress/inNamespace"] [data-add="anyPod"]')
    click_text("Allow to any pod", "#popup")
    wait(lambda: "toEndpoints" in yaml_text(), "toEndpoints")
    click('[data-box="egress/inCluster"] [data-add="kubeDNS"]')
    click_text("Allow rule", "#popup")
    wait(lambda: "k8s-app: kube-dns" in yaml_text(), "the kube-dns rule")
    item = one('[data-box="egress/inCluster"] [data-item]')
    ActionChains(driver).move_to_element(item).perform()
    switch = wait(lambda: [s for s in css("[data-dns-proxy]") if s.is_displayed()], "the DNS proxy switch")[0]
    switch.click()
    want = lab_yaml("tenant-a-default-policy.yaml")
    wait(lambda: yaml_text() == want, "tenant-a-default-policy.yaml", 5)
    wait(lambda: len(css('[data-arrow][data-state="allowed"]')) == 3, "3 green arrows")
    shot("policies-section4")
    click("#download")
    path = os.path.join(downloads, "default.yaml")
    wait(lambda: os.path.exists(path) and open(path).read() == want, "the downloaded default.yaml", 10)


@step("d: Apply lists the flows that change, then applies like porin apply")
def apply_default():
    click("#apply")
    dialog = one("#apply-dialog")
    changed = wait(lambda: css("#apply-dialog [data-changed-row]"), "changed rows")
    ids = {c.get_attribute("data-changed-row") for c in changed}
    # §3's curl to api.twitter.com went out before any DNS rule, so no DNS proxy named its address:
    # its row goes to the `world` card.
    for dest in ["pod:tenant-b/backend-service", "world"]:
        rid = row_id(dest, "forwarded")
        assert rid in ids, f"{dest} ({rid}) not among the changed rows {ids}: {dialog.text}"
    click("#apply-confirm")
    wait(lambda: "ciliumnetworkpolicy.cilium.io/default created" in text_of("#apply-output"), "the apply output")
    click("#apply-cancel")
    got = porin("get", "cnp", "default", "-n", "tenant-a", "-o", "yaml")
    assert got.returncode == 0 and "matchPattern" in got.stdout, got


@step("e: §5's drops in red on the Connections map, named for their policy; live within 1 s; rendered within 1 s")
def connections():
    for url in ["api.twitter.com", "backend-service.tenant-b"]:
        r = curl(url)
        assert r.returncode == 28, f"curl {url}: {r.returncode} {r.stdout}{r.stderr}"
    ok = curl("backend-service.tenant-a")
    assert ok.returncode == 0 and ok.stdout.startswith("HTTP/1.1 200 OK"), ok
    go("/connections?namespace=tenant-a")
    driver.refresh()
    rendered = wait(lambda: driver.execute_script("return document.body.dataset.mapRenderedMs"), "mapRenderedMs")
    assert float(rendered) < 1000, f"the map rendered after {rendered} ms"
    m = api("/api/map?namespace=tenant-a")
    by_to = {(e["from"], e["to"]): e for e in m["edges"]}
    for to in ["pod:tenant-b/backend-service", "fqdn:api.twitter.com"]:
        e = by_to[("pod:tenant-a/frontend-service", to)]
        v = attr(f'[data-edge="{e["id"]}"]', "data-verdict")
        assert "dropped" in v.split(), f"{to}: {v}"
    dns = by_to[("pod:tenant-a/frontend-service", "dns:kube-system")]
    assert attr(f'[data-edge="{dns["id"]}"]', "data-verdict") == "forwarded"
    for card in ["pod:tenant-a/frontend-service", "pod:tenant-b/backend-service", "fqdn:api.twitter.com", "dns:kube-system"]:
        one(f'[data-card="{card}"]')
    rid = row_id("pod:tenant-b/backend-service", "dropped")
    row = text_of(f'#flows tr[data-row="{rid}"]')
    assert "dropped by CiliumNetworkPolicy tenant-a/default" in row, row
    shot("ui-connections")
    # Live: a new drop reaches the page within a second.
    seq = driver.execute_script("return document.body.dataset.mapSeq")
    t0 = time.time()
    proc = subprocess.Popen([args.porin, "exec", "-n", "tenant-a", "frontend-service", "--", "curl", "-sI", "--max-time", "2",
                             "backend-service.tenant-b"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait(lambda: driver.execute_script("return document.body.dataset.mapSeq") != seq, "a live update", 5)
    live = time.time() - t0
    proc.wait()
    print(f"     figures: map rendered in {float(rendered):.0f} ms after load; a new drop on the page {live * 1000:.0f} ms after curl started")
    assert live < 1.0, f"live update took {live:.2f} s"


@step("f: LAB §6: + New, rename extra, Add rule to policy on the dropped api.twitter.com flow")
def section6():
    go("/policies?namespace=tenant-a")
    click("#new-policy")
    click("#edit-subject")
    el = one("#policy-name")
    el.clear()
    el.send_keys("extra")
    click("#subject-save")
    wait(lambda: "name: extra" in yaml_text(), "the name extra")
    rid = row_id("fqdn:api.twitter.com", "dropped")
    click(f'#policy-flows tr[data-row="{rid}"]')
    click("button.add-rule")
    want = lab_yaml("tenant-a-extra-policy.yaml")
    wait(lambda: yaml_text() == want, "tenant-a-extra-policy.yaml", 5)
    wait(lambda: "changed" in attr(f'#policy-flows tr[data-row="{rid}"]', "class").split(), "the row highlighted")
    assert attr(f'#policy-flows tr[data-row="{rid}"]', "data-draft") == "forwarded"
    # The tenant-b row too: its rule lands under egress In Cluster; removing it restores §6's YAML.
    bid = row_id("pod:tenant-b/backend-service", "dropped")
    click(f'#policy-flows tr[data-row="{bid}"]')
    click("button.add-rule")
    wait(lambda: "k8s:io.kubernetes.pod.namespace: tenant-b" in yaml_text(), "the tenant-b rule")
    item = wait(lambda: [i for i in css('[data-box="egress/inCluster"] [data-item]') if "tenant-b" in i.text], "the tenant-b item")[0]
    ActionChains(driver).move_to_element(item).perform()
    item.find_element(By.CSS_SELECTOR, "button.remove").click()
    wait(lambda: yaml_text() == want, "§6's YAML again", 5)


@step("g: apply extra; Visualize all shows both policies; the §6 curls")
def visualize_all():
    click("#apply")
    one("#apply-dialog")
    click("#apply-confirm")
    wait(lambda: "ciliumnetworkpolicy.cilium.io/extra created" in text_of("#apply-output"), "the apply output")
    click("#apply-cancel")
    wait(lambda: len(css("#policy-list [data-policy]")) == 2, "two policies in the list")
    opened = [e.get_attribute("data-policy") for e in css("#policy-list [data-policy].open")]
    assert opened == ["CiliumNetworkPolicy/tenant-a/extra"], opened
    shot("ui-policies")
    click("#visualize-all")
    wait(lambda: any("extra" in i.text for i in css('[data-box="egress/outsideCluster"] [data-item]')), "extra's item")
    wait(lambda: any("default" in i.text for i in css('[data-box="egress/inCluster"] [data-item]')), "default's item")
    shot("ui-visualize-all")
    r = curl("api.twitter.com")
    assert r.returncode == 0 and "301" in r.stdout.split("\n")[0], r
    for url in ["backend-service.tenant-b", "www.google.com"]:
        r = curl(url)
        assert r.returncode == 28, f"{url}: {r.returncode}"
    click("#visualize-all")


@step("h: typing invalid YAML marks the server's line; fixing it redraws the picture")
def yaml_errors():
    click('#policy-list [data-policy="CiliumNetworkPolicy/tenant-a/extra"]')
    wait(lambda: "name: extra" in yaml_text(), "extra open")
    ta = one("#yaml")
    bad = yaml_text().replace('port: "80"', "port: 80")
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", ta, bad)
    marked = wait(lambda: css(".gutter .error[data-line]"), "a gutter mark")
    assert marked[0].get_attribute("data-line") == "13", marked[0].get_attribute("data-line")
    assert "must be a string" in one("#yaml-errors").text, one("#yaml-errors").text
    fixed = bad.replace("port: 80", 'port: "8080"')
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", ta, fixed)
    wait(lambda: not css(".gutter .error[data-line]"), "no gutter mark")
    wait(lambda: any("8080" in i.text for i in css('[data-box="egress/outsideCluster"] [data-item]')), "the picture follows")


@step("i: a Kubernetes NetworkPolicy applied with porin opens, toggles and edits in the same editor")
def knp():
    knp_yaml = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: tenant-c
spec:
  podSelector:
    matchLabels:
      app: backend-service
  ingress:
  - from:
    - podSelector: {}
"""
    r = subprocess.run([args.porin, "apply", "-f", "-"], input=knp_yaml, capture_output=True, text=True)
    assert r.returncode == 0, r
    go("/policies?namespace=tenant-c&policy=NetworkPolicy/web")
    driver.refresh()
    wait(lambda: "kind: NetworkPolicy" in yaml_text(), "the NetworkPolicy open")
    click("#egress-default")
    wait(lambda: "- Egress" in yaml_text(), "policyTypes gains Egress")
    click('[data-box="egress/inCluster"] [data-add="kubeDNS"]')
    click_text("Allow rule", "#popup")
    wait(lambda: "kubernetes.io/metadata.name: kube-system" in yaml_text(), "the kube-dns peer")


print(f"{passed} passed, {failed} failed", flush=True)
driver.quit()
sys.exit(1 if failed else 0)
