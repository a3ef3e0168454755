// DOM and SVG helpers shared by the views. Everything is built with createElement and text nodes:
// the page runs under CSP default-src 'self', so no inline style attributes and no markup parsed from strings.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.setAttribute("class", v);
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of [children ?? []].flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** An HTML element: h("button", {class: "x", onclick: f}, ["text", child]). */
export function h(tag, attrs, children) {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element, same calling convention as h. */
export function s(tag, attrs, children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function $(id) {
  return document.getElementById(id);
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

/**
 * Work in progress (API calls in flight, debounced calls waiting), published as
 * `document.body.dataset.busy`: "0" means the page has settled, which is what a browser test
 * waits for before it reads what the last click produced.
 */
let busyCount = 0;
export function busy(delta) {
  busyCount += delta;
  document.body.dataset.busy = String(busyCount);
}

/** Calls fn after `ms` without another call; the returned function also has .now() and .cancel(). */
export function debounce(fn, ms) {
  let timer = null;
  const call = (...args) => {
    if (timer === null) busy(+1);
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; busy(-1); fn(...args); }, ms);
  };
  call.cancel = () => {
    if (timer !== null) busy(-1);
    clearTimeout(timer);
    timer = null;
  };
  call.now = (...args) => { call.cancel(); fn(...args); };
  return call;
}

/**
 * Runs an async job with no overlap: a trigger while it runs makes it run once more when it ends,
 * however many triggers came, so a burst of live ticks costs at most two fetches.
 */
export function serial(job) {
  let running = false;
  let again = false;
  const trigger = async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        try { await job(); reportQuietly(null); } catch (e) { reportQuietly(e); }
      } while (again);
    } finally {
      running = false;
    }
  };
  return trigger;
}

// Background failures are shown in the page's status line (null: the last job succeeded); the
// console stays clean because the browser test fails on any SEVERE console entry.
let quietHandler = () => {};
export function onQuietError(fn) { quietHandler = fn; }
export function reportQuietly(e) { quietHandler(e); }

const units = [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];

/** Hubble times have nanoseconds; Date.parse wants at most milliseconds. */
export function parseTime(t) {
  if (!t) return NaN;
  return Date.parse(String(t).replace(/(\.\d{3})\d+/, "$1"));
}

/** "12 s ago", "3 min ago"… for a Hubble timestamp. */
export function ago(t, now = Date.now()) {
  const ms = parseTime(t);
  if (Number.isNaN(ms)) return "";
  const secs = Math.max(0, Math.round((now - ms) / 1000));
  if (secs < 2) return "just now";
  for (const [n, u] of units) if (secs >= n) return `${Math.floor(secs / n)} ${u} ago`;
  return "just now";
}

/** Keeps "… ago" cells current between refreshes. */
export function refreshTimes(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll("[data-time]")) el.textContent = ago(el.dataset.time, now);
}
