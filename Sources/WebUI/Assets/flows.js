// The grouped flows tables (Connections, and the Policies page's what-if table) and the Connections
// view itself: service map above, filterable table below, both refreshed on every live tick.

import { $, h, clear, show, serial, parseTime, ago } from "./dom.js";
import { api, refLabel } from "./api.js";
import { renderMap } from "./map.js";

function portText(row) {
  return row.port ? `${row.port}/${row.protocol}` : row.protocol;
}

function cardCell(card) {
  const sub = card.namespace || (card.ips?.length ? card.ips[0] : "") || (card.name === card.kind ? "" : card.kind);
  return h("td", { class: "card-cell", title: card.id }, [
    h("div", { class: "card-name", text: card.name }),
    sub && h("div", { class: "card-sub", text: sub }),
  ]);
}

function verdictBadge(verdict) {
  return h("span", { class: `verdict ${verdict}`, text: verdict });
}

/** "dropped by CiliumNetworkPolicy tenant-a/default" for each policy that decided. */
function decidedBy(prefix, refs) {
  return (refs || []).map((r) => h("div", { class: "decided-by", text: `${prefix} ${refLabel(r)}` }));
}

/** Newest first; the id keeps equal times in a stable order. */
export function byLastSeen(a, b) {
  return (parseTime(b.lastSeen) || 0) - (parseTime(a.lastSeen) || 0) || a.id.localeCompare(b.id);
}

const COLUMNS = ["Source Service", "Destination Service", "Destination Port", "L7 info", "Verdict", "TCP Flags", "Last seen"];

function buildRow(item, whatif, selected, now) {
  const row = whatif ? item.row : item;
  const recorded = whatif ? item.recorded : row.verdict;
  const tr = h("tr", {
    class: [whatif && item.changed && "changed", selected && "selected"].filter(Boolean).join(" ") || undefined,
    dataset: { row: row.id, verdict: recorded, ...(whatif ? { draft: item.draft } : {}) },
  });
  tr.append(cardCell(row.source), cardCell(row.destination), h("td", { class: "port", text: portText(row) }),
    h("td", { class: "l7" }, h("div", { class: "l7-text", title: row.l7 || undefined, text: row.l7 || "" })),
    h("td", { class: "verdict-cell" }, [verdictBadge(recorded), recorded === "dropped" && decidedBy("dropped by", row.droppedBy)]));
  if (whatif) {
    // The highlighted row and the two verdict columns say what changes; who decides is a tooltip.
    const by = (item.draftDecidedBy || []).map(refLabel).join("\n");
    tr.append(h("td", { class: "verdict-cell draft", title: by ? `decided by ${by}` : undefined }, [
      item.changed && h("span", { class: "change", text: "→ " }), verdictBadge(item.draft),
    ]));
  }
  tr.append(h("td", { class: "flags", text: (row.flags || []).join(", ") }), h("td", { class: "last-seen" }, [
    h("span", { class: "ago" }), h("span", { class: "count" }),
  ]));
  updateLastSeen(tr, row, now);
  return tr;
}

function updateLastSeen(tr, row, now) {
  const cell = tr.querySelector(".last-seen");
  cell.title = `${row.lastSeen}\n${row.count} flow${row.count === 1 ? "" : "s"}`;
  const since = cell.querySelector(".ago");
  since.dataset.time = row.lastSeen;
  since.textContent = ago(row.lastSeen, now);
  cell.querySelector(".count").textContent = ` ×${row.count}`;
}

/** What a row draws apart from its time and count, which change on nearly every tick. */
function signature(item, whatif, selected) {
  const row = whatif ? item.row : item;
  const { lastSeen, count, ...rest } = row;
  return JSON.stringify([rest, whatif && [item.recorded, item.draft, item.changed, item.draftDecidedBy], selected]);
}

/**
 * Fills `table` with grouped rows. With `whatif`, items are WhatIfRow ({row, recorded, draft,
 * changed, draftDecidedBy}) and a "Draft verdict" column follows Verdict. Rows that look the same
 * as before keep their element (only time and count are updated), so live ticks neither flicker
 * nor invalidate what a user or a test is pointing at.
 */
export function renderFlowTable(table, items, { whatif = false, onRow, selectedRow, empty = "No flows" } = {}) {
  const heads = whatif ? [...COLUMNS.slice(0, 5), "Draft verdict", ...COLUMNS.slice(5)] : COLUMNS;
  if (!table.tHead || table.dataset.columns !== String(heads.length)) {
    clear(table);
    table.dataset.columns = String(heads.length);
    table.append(h("thead", {}, h("tr", {}, heads.map((t) => h("th", { text: t })))), h("tbody"));
    table.tBodies[0].addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-row]");
      const item = tr && table.flowItems?.get(tr.dataset.row);
      if (item && table.onRow) table.onRow(item, e, tr);
    });
    table.flowRows = new Map();
  }
  table.onRow = onRow;
  table.flowItems = new Map();
  const now = Date.now();
  const kept = new Map();
  const trs = [];
  for (const item of items) {
    const row = whatif ? item.row : item;
    const sig = signature(item, whatif, selectedRow === row.id);
    const old = table.flowRows.get(row.id);
    const tr = old && old.sig === sig ? old.tr : buildRow(item, whatif, selectedRow === row.id, now);
    if (tr === old?.tr) updateLastSeen(tr, row, now);
    kept.set(row.id, { tr, sig });
    table.flowItems.set(row.id, item);
    trs.push(tr);
  }
  table.flowRows = kept;
  if (!items.length) trs.push(h("tr", { class: "empty-row" }, h("td", { colspan: heads.length, text: empty })));
  table.tBodies[0].replaceChildren(...trs);
}

/** Everything a row shows, lower-cased, for the text filter. */
function rowText(row) {
  const c = (card) => [card.name, card.namespace, card.id, ...(card.ips || []), ...(card.labels || [])].join(" ");
  return [c(row.source), c(row.destination), portText(row), row.l7, row.verdict, ...(row.flags || []),
    ...(row.droppedBy || []).map(refLabel)].join(" ").toLowerCase();
}

/** The Connections page. */
export class ConnectionsView {
  constructor() {
    this.namespace = null;
    this.map = null;
    this.rows = [];
    this.selection = null;      // {card, label} or {from, to, label}
    this.firstRenderDone = false;
    this.refresh = serial(() => this.load());
    $("verdict-filter").addEventListener("change", () => this.renderTable());
    $("flow-filter").addEventListener("input", () => this.renderTable());
    $("filter-chip").querySelector("button").addEventListener("click", () => this.select(null));
    $("service-map").addEventListener("click", () => this.select(null));
  }

  enter(namespace) {
    if (namespace !== this.namespace) {
      this.namespace = namespace;
      this.map = null;
      this.rows = [];
      this.selection = null;
    }
    this.refresh();
  }

  onTick() { this.refresh(); }

  async load() {
    const ns = this.namespace;
    const [map, flows] = await Promise.all([api.map(ns), api.flows(ns)]);
    if (ns !== this.namespace) return;
    this.map = map;
    this.rows = flows.rows;
    this.render();
  }

  select(selection) {
    this.selection = selection;
    this.render();
  }

  render() {
    if (!this.map) return;
    const svg = $("service-map");
    renderMap(svg, this.map, {
      selection: this.selection,
      onCard: (card) => this.select({ card: card.id, label: card.namespace ? `${card.name} (${card.namespace})` : card.name }),
      onEdge: (e) => this.select(this.pairSelection(e.from, e.to)),
    });
    show($("map-empty"), this.map.nodes.length === 0);
    document.body.dataset.mapSeq = String(this.map.seq);
    this.renderTable();
    if (!this.firstRenderDone) {
      this.firstRenderDone = true;
      document.body.dataset.mapRenderedMs = String(Math.round(performance.now()));
    }
  }

  pairSelection(from, to) {
    const name = (id) => this.map?.nodes.find((n) => n.id === id)?.name ?? id;
    return { from, to, label: `${name(from)} → ${name(to)}` };
  }

  renderTable() {
    const verdict = $("verdict-filter").value;
    const words = $("flow-filter").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const sel = this.selection;
    const rows = this.rows.filter((r) =>
      (verdict === "all" || r.verdict === verdict) &&
      (!sel || (sel.card ? r.source.id === sel.card || r.destination.id === sel.card : r.source.id === sel.from && r.destination.id === sel.to)) &&
      (!words.length || ((t) => words.every((w) => t.includes(w)))(rowText(r)))
    ).sort(byLastSeen);
    const chip = $("filter-chip");
    show(chip, !!sel);
    chip.querySelector(".chip-text").textContent = sel ? sel.label : "";
    $("flows-count").textContent = `${rows.length} of ${this.rows.length} rows`;
    renderFlowTable($("flows"), rows, {
      onRow: (row) => {
        const same = sel && sel.from === row.source.id && sel.to === row.destination.id;
        this.select(same ? null : this.pairSelection(row.source.id, row.destination.id));
      },
      empty: this.rows.length ? "No flows match the filters" : "No flows in this namespace yet",
    });
  }
}
