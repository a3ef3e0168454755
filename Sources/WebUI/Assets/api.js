// Calls to Porin's JSON API (/api/*, shapes in Sources/UIModel/APITypes.swift) and the live-update
// event stream. Every failure becomes an APIFailure carrying the server's {error, errors}.

import { busy } from "./dom.js";

export class APIFailure extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }
}

const enc = encodeURIComponent;

async function call(method, path, body) {
  busy(+1);
  try {
    return await request(method, path, body);
  } finally {
    busy(-1);
  }
}

async function request(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new APIFailure(0, { error: "Porin's control plane does not answer (is the cluster up?)" });
  }
  const text = await res.text();
  let data = null;
  try { data = JSON.parse(text); } catch { /* reported below */ }
  if (!res.ok) {
    // APIError is {error, errors}; apply and delete answer ApplyResponse {ok, output, errors}.
    const errors = Array.isArray(data?.errors) ? data.errors : [];
    const message = data?.error || data?.output || (errors.length ? "" : `${res.status} ${res.statusText}: ${text.slice(0, 200)}`);
    throw new APIFailure(res.status, { error: message, errors });
  }
  if (data === null) throw new APIFailure(res.status, { error: `${path}: the answer is not JSON` });
  return data;
}

/** `CiliumNetworkPolicy/tenant-a/default`; clusterwide policies have `_` for the namespace. */
export function refKey(ref) {
  return `${ref.kind}/${ref.namespace || "_"}/${ref.name}`;
}

/** "CiliumNetworkPolicy tenant-a/default", as the server's PolicyRef.description prints it. */
export function refLabel(ref) {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

export function sameRef(a, b) {
  return !!a && !!b && a.kind === b.kind && (a.namespace || "") === (b.namespace || "") && a.name === b.name;
}

export function isClusterwide(kind) {
  return kind === "CiliumClusterwideNetworkPolicy";
}

export const shortKind = { CiliumNetworkPolicy: "CNP", CiliumClusterwideNetworkPolicy: "CCNP", NetworkPolicy: "KNP" };

function policyPath(ref) {
  return `/api/policies/${enc(ref.kind)}/${ref.namespace ? enc(ref.namespace) : "_"}/${enc(ref.name)}`;
}

export const api = {
  namespaces: () => call("GET", "/api/namespaces"),
  map: (ns) => call("GET", `/api/map?namespace=${enc(ns)}`),
  flows: (ns) => call("GET", ns === "all" ? "/api/flows?group=1" : `/api/flows?group=1&namespace=${enc(ns)}`),
  policies: (ns, union) => call("GET", `/api/policies?namespace=${enc(ns)}${union ? "&picture=union" : ""}`),
  policy: (ref) => call("GET", policyPath(ref)),
  editor: (yaml, op) => call("POST", "/api/editor", op ? { yaml, op } : { yaml }),
  whatif: (namespace, yaml, replaces) => call("POST", "/api/whatif", { namespace, yaml, replaces: replaces || null }),
  apply: (yaml) => call("POST", "/api/policies/apply", { yaml }),
  remove: (ref) => call("DELETE", policyPath(ref)),
  ruleFromFlow: (yaml, row) => call("POST", "/api/rule-from-flow", { yaml, row }),
};

/**
 * The live stream: `onTick(seq)` for every tick (the first comes on connect, so a reconnect
 * refreshes whatever was missed); `onState("live"|"reconnecting")`. EventSource reconnects by itself.
 */
export function subscribe(onTick, onState) {
  const source = new EventSource("/api/events");
  source.addEventListener("tick", (e) => {
    onState("live");
    let seq = 0;
    try { seq = JSON.parse(e.data).seq ?? 0; } catch { /* a tick without a number still means "refresh" */ }
    onTick(seq);
  });
  source.addEventListener("error", () => onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting"));
  return source;
}
