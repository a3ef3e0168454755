// The page's entry point: hash routes (#/connections?namespace=NS, #/policies?namespace=NS&policy=
// Kind/name), the menu and namespace drop-down, and the live event stream that refreshes the view.

import { $, h, clear, show, onQuietError, refreshTimes } from "./dom.js";
import { api, subscribe } from "./api.js";
import { ConnectionsView } from "./flows.js";
import { PoliciesView } from "./editor.js";

const PAGES = ["connections", "policies"];
let namespaces = [];
let route = { page: "connections", params: new URLSearchParams() };

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const page = PAGES.includes(path) ? path : "connections";
  return { page, params: new URLSearchParams(query) };
}

function hashFor(page, params) {
  const q = new URLSearchParams();
  for (const key of ["namespace", "policy"]) if (params.get(key)) q.set(key, params.get(key));
  const qs = q.toString().replace(/%2F/g, "/");
  return `#/${page}${qs ? `?${qs}` : ""}`;
}

/** Changes the route; `replace` updates the address without a history entry or a new routing pass. */
function navigate(changes, replace = false) {
  const params = new URLSearchParams(route.params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined) params.delete(k);
    else params.set(k, v);
  }
  const page = changes.page || route.page;
  params.delete("page");
  if (changes.namespace && changes.namespace !== route.params.get("namespace") && !("policy" in changes)) params.delete("policy");
  const hash = hashFor(page, params);
  if (replace) {
    history.replaceState(null, "", hash);
    route = parseHash();
    fillNamespaces();
  } else if (hash !== location.hash) {
    location.hash = hash;
  } else {
    onRoute();
  }
}

const connections = new ConnectionsView();
const policies = new PoliciesView(navigate);

function defaultNamespace(page) {
  const names = namespaces.map((n) => n.name);
  const saved = localStorage.getItem("porin.namespace");
  if (saved && (names.includes(saved) || (saved === "all" && page === "connections"))) return saved;
  const active = namespaces.find((n) => !["kube-system", "default"].includes(n.name) && (n.pods || n.flows));
  return active?.name || names[0] || (page === "connections" ? "all" : null);
}

function fillNamespaces() {
  const select = clear($("namespace"));
  const current = route.params.get("namespace");
  const names = namespaces.map((n) => n.name);
  if (current && current !== "all" && !names.includes(current)) names.push(current);
  for (const name of names.sort()) select.append(h("option", { value: name, text: name }));
  if (route.page === "connections") select.append(h("option", { value: "all", text: "All namespaces" }));
  if (current) select.value = current;
}

async function loadNamespaces() {
  try {
    namespaces = (await api.namespaces()).namespaces;
    quiet(null);
  } catch (e) {
    quiet(e);
  }
  fillNamespaces();
}

async function onRoute() {
  route = parseHash();
  let ns = route.params.get("namespace");
  if (!ns || (route.page === "policies" && ns === "all")) {
    ns = defaultNamespace(route.page);
    if (ns) { navigate({ namespace: ns }, true); }
  }
  if (ns) localStorage.setItem("porin.namespace", ns);
  fillNamespaces();
  for (const page of PAGES) {
    $(`menu-${page}`).classList.toggle("active", page === route.page);
    $(`menu-${page}`).href = hashFor(page, new URLSearchParams(ns && !(page === "policies" && ns === "all") ? { namespace: ns } : {}));
    show($(`${page}-view`), page === route.page);
  }
  show($("policy-sidebar"), route.page === "policies");
  document.body.dataset.page = route.page;
  if (route.page === "connections") connections.enter(ns || "all");
  else if (ns) await policies.enter(ns, route.params.get("policy"), namespaces.map((n) => n.name));
}

/** Background refreshes report here: a banner says the data is stale and why, until one succeeds. */
function quiet(e) {
  const status = $("live-status");
  if (e) {
    status.dataset.state = "error";
    status.textContent = e.message || String(e);
    status.title = status.textContent;
  } else if (status.dataset.state === "error") {
    status.dataset.state = "live";
    status.textContent = "live";
    status.title = "";
  }
}

function setLive(state) {
  const status = $("live-status");
  if (state === "live" && status.dataset.state === "error") return;
  status.dataset.state = state;
  status.textContent = state === "live" ? "live" : "reconnecting…";
  status.title = state === "live" ? "Flows and policies update as they change" : "Lost the live stream; the browser reconnects by itself";
}

let lastNamespaces = 0;
function onTick() {
  // New namespaces are rare: look for them at most every 5 s.
  if (Date.now() - lastNamespaces > 5000) {
    lastNamespaces = Date.now();
    loadNamespaces();
  }
  if (route.page === "connections") connections.onTick();
  else policies.onTick();
}

async function start() {
  onQuietError(quiet);
  $("namespace").addEventListener("change", (e) => navigate({ namespace: e.target.value, policy: null }));
  window.addEventListener("hashchange", onRoute);
  lastNamespaces = Date.now();
  // With a namespace in the address the view's own fetches need not wait for the list.
  const listed = loadNamespaces();
  if (!parseHash().params.get("namespace")) await listed;
  await onRoute();
  await listed;
  subscribe(onTick, setLive);
  setInterval(() => refreshTimes(), 5000);
}

start();
