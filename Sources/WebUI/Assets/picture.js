// The policy picture (Picture from /api/editor and /api/policies): the subject in the centre,
// ingress boxes on the left and egress boxes on the right, arrows green or red, and the pop-ups
// that turn a click into an EditorOp. It never edits YAML itself: every change is an op.

import { $, h, s, clear, show } from "./dom.js";

const BOXES = [
  ["inNamespace", "{} In Namespace"],
  ["inCluster", "In Cluster"],
  ["outsideCluster", "Outside Cluster"],
];

const ENTITIES = {
  inCluster: ["cluster", "host", "remote-node", "kube-apiserver", "health", "init", "ingress"],
  outsideCluster: ["world", "world-ipv4", "world-ipv6", "all"],
};

/** "app=x, tier=web" → ["app=x", "tier=web"]; throws on a part without '='. */
export function parseLabels(text) {
  const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
  for (const p of parts) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new Error(`"${p}" is not key=value`);
  }
  return parts.map((p) => p.replace(/\s*=\s*/, "="));
}

/** "80/TCP, 53/UDP, 8080" → [{port, protocol?}]; throws on a malformed entry. */
export function parsePorts(text) {
  const out = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:\s*\/\s*([A-Za-z]+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a port (80, 80/TCP, 53/UDP, http)`);
    const num = /^\d+$/.test(m[1]) ? Number(m[1]) : null;
    if (num !== null && (num < 1 || num > 65535)) throw new Error(`port ${m[1]} is out of range 1-65535`);
    const proto = m[2]?.toUpperCase();
    if (proto && !["TCP", "UDP", "SCTP", "ANY"].includes(proto)) throw new Error(`protocol ${m[2]}: TCP, UDP, SCTP or ANY`);
    out.push(proto ? { port: m[1], protocol: proto } : { port: m[1] });
  }
  return out;
}

function defaultToggle(direction, side, readOnly, onOp) {
  const name = direction === "ingress" ? "Ingress" : "Egress";
  const deny = side.defaultDeny;
  const b = h("button", {
    type: "button",
    id: `${direction}-default`,
    class: `toggle ${deny ? "deny" : "allow"}`,
    dataset: { deny: String(deny) },
    disabled: readOnly || !!side.toggleLocked,
    title: side.toggleLocked || `Switch ${direction} to default ${deny ? "allow" : "deny"}`,
    text: `${deny ? "🔒" : "🔓"} ${name} Default ${deny ? "Deny" : "Allow"}`,
    onclick: () => onOp({ op: "setDefaultDeny", direction, deny: !deny }),
  });
  return b;
}

function subjectBox(picture, ctx) {
  const subj = picture.subject;
  const box = h("div", { id: "subject", class: `subject${picture.readOnly ? " read-only" : ""}` });
  if (!picture.readOnly) {
    box.append(h("button", {
      type: "button", id: "edit-subject", class: "edit-subject", title: "Edit policy name, namespace and endpoint selector",
      text: "✎", onclick: () => openSubjectForm(box, subj, ctx),
    }));
  }
  const selects = subj.selects || [];
  box.append(
    h("div", { class: "subject-kind", text: picture.readOnly ? `${picture.policies.length} ${picture.policies.length === 1 ? "policy" : "policies"}` : subj.kind }),
    h("div", { class: "subject-name", text: subj.name || "(no name)" }),
    subj.namespace && h("div", { class: "subject-ns", text: `namespace ${subj.namespace}` }),
    h("div", { class: "subject-selector", text: subj.selectorText }),
    h("div", { class: "subject-selects", title: selects.join("\n") || "no pod now",
      text: `selects ${selects.length} pod${selects.length === 1 ? "" : "s"} now` }),
    h("div", { class: "toggles" }, [
      defaultToggle("ingress", picture.ingress, picture.readOnly, ctx.onOp),
      defaultToggle("egress", picture.egress, picture.readOnly, ctx.onOp),
    ]),
  );
  return box;
}

function field(label, input) {
  return h("label", { class: "form-field" }, [h("span", { text: label }), input]);
}

function openSubjectForm(box, subj, ctx) {
  box.querySelector("#subject-form")?.remove();
  const clusterwide = subj.kind === "CiliumClusterwideNetworkPolicy";
  const name = h("input", { id: "policy-name", value: subj.name, autocomplete: "off" });
  const ns = h("input", { id: "policy-namespace", value: subj.namespace, autocomplete: "off", disabled: clusterwide,
    placeholder: clusterwide ? "clusterwide: no namespace" : "" });
  const sel = h("input", { id: "endpoint-selector", value: (subj.selector || []).join(", "), autocomplete: "off",
    placeholder: "app=frontend, tier=web (empty: every pod)" });
  const err = h("div", { class: "form-error", hidden: true });
  const close = () => form.remove();
  const save = () => {
    try {
      if (!name.value.trim()) throw new Error("the policy needs a name");
      ctx.onOp({ op: "setSubject", name: name.value.trim(), namespace: clusterwide ? "" : ns.value.trim(), selector: parseLabels(sel.value) });
      close();
    } catch (e) {
      err.textContent = e.message;
      show(err, true);
    }
  };
  const form = h("form", { id: "subject-form", class: "subject-form", onsubmit: (e) => { e.preventDefault(); save(); } }, [
    field("Policy name", name),
    field("Policy namespace", ns),
    field("Endpoint selector", sel),
    h("div", { class: "hint", text: "Empty selector: every pod of the namespace." }),
    err,
    h("div", { class: "form-buttons" }, [
      h("button", { type: "button", id: "subject-cancel", text: "Cancel", onclick: close }),
      h("button", { type: "submit", id: "subject-save", class: "save", text: "Save" }),
    ]),
  ]);
  form.addEventListener("keydown", (e) => { if (e.key === "Escape") close(); });
  box.append(form);
  name.focus();
}

function arrow(direction, key, state) {
  return h("div", { class: "arrow", dataset: { arrow: `${direction}/${key}`, state }, title: state === "allowed" ? "allowed" : "denied" },
    s("svg", { viewBox: "0 0 80 20", preserveAspectRatio: "none", width: "100%", height: 20 }, [
      s("line", { x1: 0, y1: 10, x2: 70, y2: 10 }),
      s("path", { d: "M68,3 L80,10 L68,17 z" }),
    ]));
}

function itemRow(item, direction, picture, ctx) {
  const li = h("li", {
    class: ["item", `type-${item.type}`, item.deny && "deny", picture.readOnly && item.policy && "linked"].filter(Boolean).join(" "),
    dataset: { item: item.id },
    title: item.detail || item.label,
    onclick: picture.readOnly && item.policy ? () => ctx.onOpenPolicy(item.policy) : undefined,
  });
  li.append(h("span", { class: "item-label", text: item.label }));
  if (item.deny) li.append(h("span", { class: "tag deny-tag", text: "deny" }));
  for (const p of item.ports || []) li.append(h("span", { class: "tag port-tag", text: p }));
  if (picture.readOnly && item.policy) li.append(h("span", { class: "tag policy-tag", text: item.policy.name }));
  if (!picture.readOnly && item.type === "kubeDNS" && direction === "egress" && picture.subject.kind !== "NetworkPolicy") {
    const input = h("input", { type: "checkbox", dataset: { dnsProxy: String(item.rule) }, checked: item.dnsProxy,
      onchange: (e) => ctx.onOp({ op: "setDNSProxy", direction: "egress", rule: item.rule, on: e.target.checked }) });
    li.append(h("label", { class: `switch dns-switch${item.dnsProxy ? " on" : ""}`, title: "Send DNS through Cilium's DNS proxy (rules: dns: matchPattern \"*\")", onclick: (e) => e.stopPropagation() },
      [input, "DNS proxy"]));
  }
  if (!picture.readOnly) {
    li.append(h("button", { type: "button", class: "remove", title: "Remove", text: "✕",
      onclick: (e) => { e.stopPropagation(); ctx.onOp({ op: "removeItem", item: item.id }); } }));
  }
  return li;
}

function addsFor(direction, key, kind) {
  const knp = kind === "NetworkPolicy";
  switch (key) {
    case "inNamespace":
      return kind === "CiliumClusterwideNetworkPolicy" ? [] : [["anyPod", "Any pod"], ["podsByLabels", "Pods with labels"]];
    case "inCluster":
      return [
        direction === "egress" && ["kubeDNS", "Kubernetes DNS"],
        ["podsIn", "Pods in namespace"],
        ["anyPodAnyNamespace", "Any pod in any namespace"],
        !knp && ["entity", "Entity"],
      ].filter(Boolean);
    default:
      return [!knp && ["entity", "Entity"], ["cidr", "CIDR"], direction === "egress" && !knp && ["fqdn", "FQDN"]].filter(Boolean);
  }
}

function sideBox(direction, key, title, picture, ctx) {
  const side = picture[direction];
  const items = side.boxes[key] || [];
  const box = h("div", { class: `box ${direction}`, dataset: { box: `${direction}/${key}` } });
  box.append(h("div", { class: "box-head", text: title }));
  const list = h("ul", { class: "items" });
  for (const item of items) list.append(itemRow(item, direction, picture, ctx));
  if (!items.length) {
    list.append(h("li", { class: "none", text: side.arrows[key] === "allowed" ? "everything allowed" : "nothing allowed" }));
  }
  box.append(list);
  if (!picture.readOnly) {
    const adds = addsFor(direction, key, picture.subject.kind);
    if (adds.length) {
      box.append(h("div", { class: "adds" }, adds.map(([type, label]) => h("button", {
        type: "button", class: "add", dataset: { add: type }, text: `+ ${label}`,
        onclick: (e) => { e.stopPropagation(); openAddPopup(e.currentTarget, direction, key, type, picture, ctx); },
      }))));
    } else if (key === "inNamespace") {
      box.append(h("div", { class: "hint", text: "A clusterwide policy has no namespace: add pods under In Cluster." }));
    }
  }
  return box;
}

/** The picture's "other" items: rules it cannot draw, listed under it. */
function renderOther(picture) {
  const root = $("picture-other");
  clear(root);
  const rows = [];
  for (const direction of ["ingress", "egress"]) {
    for (const item of picture[direction].other || []) {
      rows.push(h("li", { dataset: { item: item.id }, title: item.detail }, [
        h("span", { class: "tag", text: direction }), ` ${item.label}`, item.detail ? h("span", { class: "muted", text: ` — ${item.detail}` }) : null,
        item.policy ? h("span", { class: "tag policy-tag", text: item.policy.name }) : null,
      ]));
    }
  }
  show(root, rows.length > 0);
  if (rows.length) root.append(h("div", { class: "pane-title", text: "Shown in YAML only" }), h("ul", {}, rows));
}

/**
 * Draws `picture` into `root`. ctx: {onOp(op), onOpenPolicy(ref), namespaces: [names]}.
 */
export function renderPicture(root, picture, ctx) {
  closePopup();
  clear(root);
  const grid = h("div", { class: `picture-grid${picture.readOnly ? " read-only" : ""}` });
  grid.append(
    h("div", { class: "side-title ingress", text: "Ingress · traffic into the selected pods" }),
    h("div", { class: "side-title egress", text: "Egress · traffic out of the selected pods" }),
  );
  BOXES.forEach(([key, title], i) => {
    const row = String(i + 2);
    const inBox = sideBox("ingress", key, title, picture, ctx);
    const inArrow = arrow("ingress", key, picture.ingress.arrows[key]);
    const outArrow = arrow("egress", key, picture.egress.arrows[key]);
    const outBox = sideBox("egress", key, title, picture, ctx);
    for (const [el, col] of [[inBox, 1], [inArrow, 2], [outArrow, 4], [outBox, 5]]) {
      el.style.gridRow = row;
      el.style.gridColumn = String(col);
    }
    grid.append(inBox, inArrow, outArrow, outBox);
  });
  const subject = subjectBox(picture, ctx);
  subject.style.gridRow = "2 / span 3";
  subject.style.gridColumn = "3";
  grid.append(subject);
  root.append(grid);
  renderOther(picture);
}

// MARK: pop-ups

export function closePopup() {
  const p = $("popup");
  if (p) { p.hidden = true; clear(p); }
}

/** Places a floating panel under `anchor`, kept inside the window. */
export function placeNear(panel, anchor) {
  panel.hidden = false;
  const r = anchor.getBoundingClientRect();
  const w = panel.offsetWidth;
  const left = Math.max(8, Math.min(window.scrollX + r.left, window.scrollX + document.documentElement.clientWidth - w - 8));
  panel.style.left = `${left}px`;
  panel.style.top = `${window.scrollY + r.bottom + 6}px`;
}

function popupFields(type, direction, key, ctx) {
  const fields = [];
  const inputs = {};
  const text = (id, label, placeholder) => {
    inputs[id] = h("input", { id: `popup-${id}`, placeholder, autocomplete: "off" });
    fields.push(field(label, inputs[id]));
  };
  switch (type) {
    case "anyPod":
      fields.push(h("p", { text: direction === "ingress" ? "Traffic from every pod of the policy's namespace." : "Traffic to every pod of the policy's namespace." }));
      break;
    case "podsByLabels":
      text("labels", "Pod labels", "app=backend-service");
      break;
    case "podsIn": {
      text("namespace", "Namespace", "tenant-b");
      const list = h("datalist", { id: "popup-namespaces" }, (ctx.namespaces || []).map((n) => h("option", { value: n })));
      inputs.namespace.setAttribute("list", "popup-namespaces");
      fields.push(list);
      text("labels", "Pod labels (optional)", "app=backend-service; empty: any pod");
      break;
    }
    case "anyPodAnyNamespace":
      fields.push(h("p", { text: "Every pod of every namespace." }));
      break;
    case "kubeDNS":
      fields.push(h("p", { text: "DNS to kube-dns in kube-system, port 53/UDP." }));
      break;
    case "entity":
      inputs.entity = h("select", { id: "popup-entity" }, ENTITIES[key].map((e) => h("option", { value: e, text: e })));
      fields.push(field("Entity", inputs.entity));
      break;
    case "cidr":
      text("cidr", "CIDR", "192.0.2.0/24");
      text("except", "Except (optional)", "192.0.2.128/25, …");
      break;
    case "fqdn":
      text("fqdn", "DNS name or pattern", "api.twitter.com or *.twitter.com");
      break;
  }
  if (type !== "kubeDNS") text("ports", "Ports (optional)", "80/TCP, 53/UDP; empty: every port");
  return { fields, inputs };
}

function peerFrom(type, inputs) {
  const v = (id) => inputs[id]?.value.trim() ?? "";
  switch (type) {
    case "podsByLabels": {
      const labels = parseLabels(v("labels"));
      if (!labels.length) throw new Error("give at least one label, key=value");
      return { type, labels };
    }
    case "podsIn": {
      if (!v("namespace")) throw new Error("give the namespace");
      const labels = parseLabels(v("labels"));
      return labels.length ? { type: "podsIn", namespace: v("namespace"), labels } : { type: "anyPodIn", namespaces: [v("namespace")] };
    }
    case "entity":
      return { type, entity: v("entity") };
    case "cidr": {
      if (!v("cidr")) throw new Error("give the CIDR, e.g. 192.0.2.0/24");
      const except = v("except").split(",").map((x) => x.trim()).filter(Boolean);
      return except.length ? { type, cidr: v("cidr"), except } : { type, cidr: v("cidr") };
    }
    case "fqdn": {
      const name = v("fqdn");
      if (!name) throw new Error("give a DNS name or a pattern");
      return name.includes("*") ? { type, matchPattern: name } : { type, matchName: name };
    }
    default:
      return { type };
  }
}

function openAddPopup(anchor, direction, key, type, picture, ctx) {
  const popup = $("popup");
  clear(popup);
  const { fields, inputs } = popupFields(type, direction, key, ctx);
  const err = h("div", { class: "form-error", hidden: true });
  const submitText = type === "anyPod" ? (direction === "ingress" ? "Allow from any pod" : "Allow to any pod") : "Allow rule";
  const submit = () => {
    try {
      const op = { op: "addPeer", direction, box: key, peer: peerFrom(type, inputs) };
      const ports = inputs.ports ? parsePorts(inputs.ports.value) : [];
      if (ports.length) op.ports = ports;
      closePopup();
      ctx.onOp(op);
    } catch (e) {
      err.textContent = e.message;
      show(err, true);
    }
  };
  const title = anchor.textContent.replace(/^\+\s*/, "");
  popup.append(h("form", { class: "popup-form", dataset: { popup: type }, onsubmit: (e) => { e.preventDefault(); submit(); } }, [
    h("div", { class: "popup-title", text: `${direction === "ingress" ? "Ingress from" : "Egress to"} ${title}` }),
    ...fields,
    err,
    h("div", { class: "form-buttons" }, [
      h("button", { type: "button", id: "popup-cancel", text: "Cancel", onclick: closePopup }),
      h("button", { type: "submit", id: "popup-submit", class: "primary", text: submitText }),
    ]),
  ]));
  placeNear(popup, anchor);
  popup.querySelector("input, select")?.focus();
}

/** Escape and clicks elsewhere close the pop-up (not clicks inside it). */
export function installPopupDismissal() {
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closePopup(); });
  document.addEventListener("mousedown", (e) => {
    const p = $("popup");
    if (!p.hidden && !p.contains(e.target) && !e.target.closest?.("[data-add]")) closePopup();
  });
}

