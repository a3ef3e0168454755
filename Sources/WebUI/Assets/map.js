// The service map: a deterministic layered layout of MapResponse's cards and edges, drawn as SVG.
// Same input, same picture: screenshots stay stable and the browser tests can find every element.

import { s, clear } from "./dom.js";
import { refLabel } from "./api.js";

const W = 232;          // card width
const COL_GAP = 150;    // between columns: room for the Béziers and their labels
const ROW_GAP = 28;
const MARGIN = 32;
const PORT_ROW = 22;
const MAX_LABELS = 3;

const byPlace = (a, b) =>
  (a.namespace || "").localeCompare(b.namespace || "") || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);

/** Workloads are layered by who calls whom; kube-dns, host, world and the like are servers to
 *  everything, so they always go in the last column, where arrows end. */
const isWorkload = (card) => card.kind === "workload";

export function layout(nodes, edges) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const workloads = nodes.filter(isWorkload).sort(byPlace);
  const others = nodes.filter((n) => !isWorkload(n)).sort(byPlace);
  const out = new Map(workloads.map((n) => [n.id, []]));
  const hasIncoming = new Set();
  for (const e of edges) {
    const from = byId.get(e.from), to = byId.get(e.to);
    if (!from || !to || e.from === e.to || !isWorkload(from) || !isWorkload(to)) continue;
    out.get(e.from).push(e.to);
    hasIncoming.add(e.to);
  }
  const column = new Map();
  const place = (roots, start) => {
    let frontier = roots, col = start;
    while (frontier.length) {
      for (const n of frontier) column.set(n.id, col);
      const next = new Map();
      for (const n of frontier) {
        for (const id of out.get(n.id)) if (!column.has(id) && !next.has(id)) next.set(id, byId.get(id));
      }
      frontier = [...next.values()].sort(byPlace);
      col++;
    }
  };
  place(workloads.filter((n) => !hasIncoming.has(n.id)), 0);
  // Cycles with no way in: start each at the first column from its first card in sort order.
  for (let rest = workloads.filter((n) => !column.has(n.id)); rest.length; rest = rest.filter((n) => !column.has(n.id))) {
    place([rest[0]], 0);
  }
  const lastWorkload = workloads.length ? Math.max(...workloads.map((n) => column.get(n.id))) : -1;
  for (const n of others) column.set(n.id, lastWorkload + 1);

  const columns = [];
  for (const n of [...workloads, ...others]) (columns[column.get(n.id)] ||= []).push(n);
  const boxes = new Map();
  const geo = [];
  let height = 0;
  columns.forEach((cards, c) => {
    const x = MARGIN + c * (W + COL_GAP);
    // Where an arrow may cross this column without running under a card: the free bands above,
    // between and below its cards.
    const gaps = [MARGIN / 2];
    let y = MARGIN;
    for (const card of cards.sort(byPlace)) {
      const box = cardBox(card, x, y);
      boxes.set(card.id, box);
      y += box.h + ROW_GAP;
      gaps.push(y - ROW_GAP / 2);
    }
    geo.push({ x, gaps });
    height = Math.max(height, y);
  });
  return {
    boxes, column, geo,
    width: MARGIN * 2 + columns.length * W + Math.max(0, columns.length - 1) * COL_GAP,
    height: height + MARGIN - ROW_GAP,
  };
}

function cardLines(card) {
  const labels = (card.labels || []);
  const shown = labels.slice(0, MAX_LABELS);
  if (labels.length > MAX_LABELS) shown.push(`+${labels.length - MAX_LABELS} more`);
  return shown;
}

function cardBox(card, x, y) {
  const labels = cardLines(card);
  const ports = card.ports || [];
  const top = 52 + (card.namespace ? 0 : -16);
  const labelsTop = top;
  const podsTop = labelsTop + labels.length * 16 + 6;
  const portsTop = podsTop + 16;
  const h = portsTop + ports.length * PORT_ROW + (ports.length ? 4 : -4) + 10;
  const portY = new Map(ports.map((p, i) => [p, y + portsTop + i * PORT_ROW + PORT_ROW / 2]));
  return { x, y, w: W, h, labels, labelsTop, podsTop, portsTop, portY };
}

function truncate(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function cardTitle(card) {
  const lines = [card.name, card.namespace && `namespace ${card.namespace}`, ...(card.labels || [])];
  if (card.pods?.length) lines.push(`pods: ${card.pods.join(", ")}`);
  if (card.ips?.length) lines.push(`addresses: ${card.ips.join(", ")}`);
  return lines.filter(Boolean).join("\n");
}

function drawCard(card, box, selected, onCard) {
  const g = s("g", {
    class: `card kind-${card.kind}${selected ? " selected" : ""}`,
    dataset: { card: card.id },
    transform: `translate(${box.x},${box.y})`,
    onclick: (e) => { e.stopPropagation(); onCard(card); },
  });
  g.append(s("title", { text: cardTitle(card) }));
  g.append(s("rect", { class: "card-body", width: box.w, height: box.h, rx: 10, ry: 10 }));
  g.append(s("rect", { class: "card-stripe", width: 6, height: box.h, rx: 3, ry: 3 }));
  g.append(s("text", { class: "card-caption", x: 18, y: 26, text: truncate(card.name, 26) }));
  if (card.namespace) g.append(s("text", { class: "card-namespace", x: 18, y: 44, text: card.namespace }));
  box.labels.forEach((l, i) => g.append(s("text", { class: "card-label", x: 18, y: box.labelsTop + 12 + i * 16, text: truncate(l, 32) })));
  const pods = card.pods?.length ?? 0;
  const count = card.kind === "workload" || pods ? `${pods} pod${pods === 1 ? "" : "s"}` : (card.ips?.length ? `${card.ips.length} address${card.ips.length === 1 ? "" : "es"}` : card.kind);
  g.append(s("text", { class: "card-pods", x: 18, y: box.podsTop + 12, text: count }));
  (card.ports || []).forEach((p, i) => {
    const cy = box.portsTop + i * PORT_ROW + PORT_ROW / 2;
    g.append(s("g", { class: "access-point", dataset: { port: p } }, [
      s("rect", { class: "port-pill", x: 12, y: cy - 9, width: 74, height: 18, rx: 9, ry: 9 }),
      s("circle", { class: "port-dot", cx: 0, cy, r: 5 }),
      s("text", { class: "port-text", x: 22, y: cy + 4, text: p }),
    ]));
  });
  return g;
}

function edgeTitle(e, nodes) {
  const name = (id) => nodes.get(id)?.name ?? id;
  const parts = [`${name(e.from)} → ${name(e.to)} ${e.port}/${e.protocol}`, `${e.forwarded} forwarded, ${e.dropped} dropped`];
  if (e.droppedBy?.length) parts.push(`dropped by ${e.droppedBy.map(refLabel).join(", ")}`);
  if (e.dns?.length) parts.push(`DNS: ${e.dns.join(", ")}`);
  return parts.join("\n");
}

/** A horizontal-ended Bézier from p to q. */
function curve(p, q) {
  const dx = Math.max(30, Math.abs(q[0] - p[0]) / 2);
  return { d: ` C${p[0] + dx},${p[1]} ${q[0] - dx},${q[1]} ${q[0]},${q[1]}`, mid: [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2] };
}

/**
 * The edge's path: one Bézier between neighbouring columns; across several columns, through the
 * free band of each column in between that is nearest the straight line, so no arrow runs under
 * a card. Returns the path and where its label goes (the middle of the last curve).
 */
function route(e, lay, lanes) {
  const a = lay.boxes.get(e.from), b = lay.boxes.get(e.to);
  const portName = e.protocol && e.port ? `${e.port}/${e.protocol}` : e.protocol;
  const start = [a.x + a.w, a.y + 24];
  const end = [b.x - 3, b.portY.get(portName) ?? b.y + 24];
  const ca = lay.column.get(e.from), cb = lay.column.get(e.to);
  let d = `M${start[0]},${start[1]}`, at = start, mid = null;
  for (let c = ca + 1; c < cb; c++) {
    const { x, gaps } = lay.geo[c];
    const want = start[1] + ((end[1] - start[1]) * (c - ca)) / (cb - ca);
    const band = gaps.reduce((best, g) => (Math.abs(g - want) < Math.abs(best - want) ? g : best), gaps[0]);
    // Arrows sharing a band run side by side, 5 px apart, rather than on top of each other.
    const n = lanes.get(`${c}:${band}`) ?? 0;
    lanes.set(`${c}:${band}`, n + 1);
    const y = band + (n % 2 ? 1 : -1) * Math.ceil(n / 2) * 5;
    const seg = curve(at, [x - 16, y]);
    d += seg.d + ` L${x + W + 16},${y}`;
    at = [x + W + 16, y];
  }
  const last = curve(at, end);
  d += last.d;
  mid = last.mid;
  return { d, mid, portName };
}

function drawEdge(e, lay, lanes, nodes, selected, onEdge) {
  if (!lay.boxes.has(e.from) || !lay.boxes.has(e.to)) return null;
  const { d, mid, portName } = route(e, lay, lanes);
  const verdicts = [e.forwarded > 0 && "forwarded", e.dropped > 0 && "dropped"].filter(Boolean).join(" ");
  return s("g", { class: `edge${selected ? " selected" : ""}`, onclick: (ev) => { ev.stopPropagation(); onEdge(e); } }, [
    s("path", {
      class: "edge-line",
      d,
      dataset: { edge: e.id, verdict: verdicts },
      "marker-end": e.dropped > 0 ? "url(#end-dropped)" : "url(#end-forwarded)",
    }, [s("title", { text: edgeTitle(e, nodes) })]),
    s("text", { class: "edge-label", x: mid[0], y: mid[1] - 4, "text-anchor": "middle", dataset: { edgeLabel: e.id }, text: portName }),
  ]);
}

function marker(id) {
  return s("marker", { id, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, [
    s("path", { class: `marker ${id}`, d: "M0,0 L10,5 L0,10 z" }),
  ]);
}

/**
 * Draws `map` into `svg`. `selection` is {card} or {from, to} (what the flows table is filtered by);
 * clicks call onCard(card) and onEdge(edge).
 */
export function renderMap(svg, map, { selection, onCard, onEdge }) {
  const nodes = new Map(map.nodes.map((n) => [n.id, n]));
  // Counts and times change on nearly every tick, the drawing rarely: keep the elements (and what
  // a pointer or a test holds) when only the tooltips would change.
  const sig = JSON.stringify([map.nodes, map.edges.map(({ forwarded, dropped, lastSeen, ...e }) => [e, forwarded > 0, dropped > 0]), selection]);
  if (svg.mapSignature === sig) {
    for (const e of map.edges) {
      const title = svg.querySelector(`path[data-edge="${CSS.escape(e.id)}"] title`);
      if (title) title.textContent = edgeTitle(e, nodes);
    }
    return;
  }
  svg.mapSignature = sig;
  clear(svg);
  const lay = layout(map.nodes, map.edges);
  const { width, height } = lay;
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.append(s("defs", {}, [marker("end-dropped"), marker("end-forwarded")]));
  const edgeLayer = s("g", { class: "edges" });
  const cardLayer = s("g", { class: "cards" });
  const picked = (e) => selection && ((selection.card && (e.from === selection.card || e.to === selection.card)) ||
    (selection.from === e.from && selection.to === e.to));
  // Dropped edges last, so their red ends sit on top of grey ones that share an access point.
  const edges = [...map.edges].sort((x, y) => (x.dropped > 0) - (y.dropped > 0) || x.id.localeCompare(y.id));
  const lanes = new Map();
  for (const e of edges) {
    const g = drawEdge(e, lay, lanes, nodes, picked(e), onEdge);
    if (g) edgeLayer.append(g);
  }
  for (const card of map.nodes) {
    const sel = selection && (selection.card === card.id || selection.from === card.id || selection.to === card.id);
    cardLayer.append(drawCard(card, lay.boxes.get(card.id), sel, onCard));
  }
  svg.append(edgeLayer, cardLayer);
}
