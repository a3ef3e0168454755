// The Policies page: the policy list, the visual editor and its YAML pane, Apply/Delete/Download/
// Copy, and the what-if flows table. The editor's state is the YAML text (plus the last picture
// and, for a policy loaded from the cluster, its ref): every click is an op the server applies.

import { $, h, clear, show, debounce, serial } from "./dom.js";
import { api, APIFailure, refKey, refLabel, sameRef, shortKind } from "./api.js";
import { renderPicture, closePopup, placeNear, installPopupDismissal } from "./picture.js";
import { renderFlowTable, byLastSeen } from "./flows.js";

const draftKey = (ns) => `porin.draft.${ns}`;

function diagText(d) {
  const at = d.line > 0 ? `${d.line}:${d.column}: ` : "";
  return `${at}${d.message}${d.path ? ` (${d.path})` : ""}`;
}

/** The message and, for an APIFailure, its diagnostics. */
function errorText(e) {
  if (!(e instanceof Error)) return String(e);
  const diags = e instanceof APIFailure ? e.errors.map(diagText) : [];
  return [e.message, ...diags].filter(Boolean).join("; ");
}

function hasComment(yaml) {
  return /^\s*#/m.test(yaml);
}

/** metadata.name as typed, for the download's file name. */
function yamlName(yaml) {
  const m = /^metadata:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:[ \t]*["']?([^"'\s#]+)/m.exec(yaml);
  return m ? m[1] : null;
}

export class PoliciesView {
  constructor(navigate) {
    this.navigate = navigate;      // (params) => void: changes the route
    this.ns = null;
    this.namespaces = [];
    this.picture = null;           // the last valid picture of the YAML
    this.openRef = null;           // the applied policy the YAML came from, if any
    this.loadedYaml = null;        // its YAML as the cluster has it, to tell unsaved edits
    this.errors = [];              // diagnostics of the YAML as typed
    this.list = { policies: [], clusterwide: [] };
    this.union = null;
    this.whatifItems = [];
    this.commentNoteShown = false;
    this.typingSeq = 0;

    this.yaml = $("yaml");
    this.refreshList = serial(() => this.loadList());
    this.refreshWhatIf = serial(() => this.loadWhatIf());
    this.whatIfSoon = debounce(() => this.refreshWhatIf(), 250);
    this.validateSoon = debounce(() => this.validate(), 300);
    this.saveDraftSoon = debounce(() => this.saveDraft(), 300);

    const newPolicy = () => this.op({ op: "new", namespace: this.ns, kind: $("new-kind").value }, "");
    $("new-policy").addEventListener("click", newPolicy);
    $("create-empty").addEventListener("click", newPolicy);
    $("visualize-all").addEventListener("change", () => this.setUnion($("visualize-all").checked));
    $("apply").addEventListener("click", () => this.startApply());
    $("apply-confirm").addEventListener("click", () => this.confirmApply());
    $("apply-cancel").addEventListener("click", () => $("apply-dialog").close());
    $("delete").addEventListener("click", () => this.deletePolicy());
    $("download").addEventListener("click", () => this.download());
    $("copy").addEventListener("click", () => this.copy());
    this.yaml.addEventListener("input", () => this.typed());
    this.yaml.addEventListener("scroll", () => { this.gutter().scrollTop = this.yaml.scrollTop; });
    this.yaml.addEventListener("keydown", (e) => this.indentKeys(e));
    installPopupDismissal();
    document.addEventListener("mousedown", (e) => {
      const menu = $("row-menu");
      if (!menu.hidden && !menu.contains(e.target)) menu.hidden = true;
    });
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") $("row-menu").hidden = true; });
  }

  gutter() { return document.querySelector(".yaml-box .gutter"); }

  // MARK: entering the page

  /** Shows namespace `ns`; `policy` is the route's `Kind/name` or null. */
  async enter(ns, policy, namespaces) {
    this.namespaces = namespaces;
    const changedNs = ns !== this.ns;
    if (changedNs) {
      this.ns = ns;
      this.reset();
      this.union = null;
      $("visualize-all").checked = false;
    }
    this.refreshList();
    if (policy) {
      const slash = policy.indexOf("/");
      const kind = policy.slice(0, slash), name = policy.slice(slash + 1);
      const ref = { kind, namespace: kind === "CiliumClusterwideNetworkPolicy" ? "" : ns, name };
      if (!sameRef(ref, this.openRef) || changedNs) await this.openPolicy(ref);
    } else if (changedNs) {
      await this.restoreDraft();
    }
    this.render();
    this.refreshWhatIf();
  }

  onTick() {
    this.refreshList();
    this.whatIfSoon();
  }

  reset() {
    this.picture = null;
    this.openRef = null;
    this.loadedYaml = null;
    this.errors = [];
    this.yaml.value = "";
    this.whatifItems = [];
    this.message(null);
  }

  /** {yaml, ref, loaded} as saveDraft left it for this namespace, or null. */
  readDraft() {
    try { return JSON.parse(localStorage.getItem(draftKey(this.ns)) || "null"); } catch { return null; }
  }

  async restoreDraft() {
    const draft = this.readDraft();
    if (!draft?.yaml) return;
    this.openRef = draft.ref || null;
    this.loadedYaml = draft.loaded ?? null;
    this.yaml.value = draft.yaml;
    if (this.openRef) this.navigate({ policy: `${this.openRef.kind}/${this.openRef.name}` }, true);
    await this.validate();
  }

  saveDraft() {
    if (!this.ns) return;
    const yaml = this.yaml.value;
    if (!yaml) localStorage.removeItem(draftKey(this.ns));
    else localStorage.setItem(draftKey(this.ns), JSON.stringify({ yaml, ref: this.openRef, loaded: this.loadedYaml }));
  }

  async openPolicy(ref) {
    this.union = null;
    $("visualize-all").checked = false;
    const draft = this.readDraft();
    try {
      const r = await api.policy(ref);
      this.openRef = r.ref;
      this.loadedYaml = r.yaml;
      this.errors = [];
      this.message(null);
      if (draft && sameRef(draft.ref, r.ref) && draft.yaml !== r.yaml && draft.loaded === r.yaml) {
        // Unsaved edits of this very version survive a reload.
        this.yaml.value = draft.yaml;
        this.picture = r.picture;
        this.message("Your unsaved changes to this policy were restored.", "info");
        await this.validate();
      } else {
        this.yaml.value = r.yaml;
        this.picture = r.picture;
        this.saveDraft();
      }
    } catch (e) {
      this.reset();
      this.message(`${refLabel(ref)}: ${errorText(e)}`, "error");
    }
    this.render();
    this.whatIfSoon();
  }

  // MARK: list and Visualize all

  async loadList() {
    const ns = this.ns;
    if (!ns) return;
    const r = await api.policies(ns, !!this.union);
    if (ns !== this.ns) return;
    this.list = r;
    this.renderList();
    // Redraw the union only when it changed: ticks come several times a second on a busy cluster.
    if (this.union && r.union && JSON.stringify(r.union) !== JSON.stringify(this.union)) {
      this.union = r.union;
      this.render();
    }
  }

  renderList() {
    const dirty = this.loadedYaml !== null && this.yaml.value !== this.loadedYaml;
    const sig = JSON.stringify([this.list.policies, this.list.clusterwide, this.openRef, dirty]);
    if (sig === this.listSignature) return;
    this.listSignature = sig;
    const item = (p) => {
      const open = sameRef(p.ref, this.openRef);
      return h("li", {
        class: open ? "open" : undefined,
        dataset: { policy: refKey(p.ref) },
        title: `${refLabel(p.ref)}\nselects: ${(p.selects || []).join(", ") || "no pod now"}`,
        onclick: () => this.navigate({ policy: `${p.ref.kind}/${p.ref.name}` }),
      }, [
        h("span", { class: "kind-badge", text: shortKind[p.ref.kind] || p.ref.kind }),
        h("span", { class: "policy-name", text: p.ref.name }),
        open && dirty && h("span", { class: "dirty", title: "unsaved changes", text: "●" }),
        h("span", { class: "selects", text: `${(p.selects || []).length} pod${(p.selects || []).length === 1 ? "" : "s"}` }),
      ]);
    };
    const list = clear($("policy-list"));
    for (const p of this.list.policies) list.append(item(p));
    if (!this.list.policies.length) list.append(h("li", { class: "none", text: "No policy in this namespace" }));
    const cw = clear($("clusterwide-list"));
    for (const p of this.list.clusterwide) cw.append(item(p));
    if (!this.list.clusterwide.length) cw.append(h("li", { class: "none", text: "None" }));
    show($("no-policy-hint"), this.list.policies.length + this.list.clusterwide.length > 0);
  }

  async setUnion(on) {
    closePopup();
    if (!on) {
      this.union = null;
      this.render();
      return;
    }
    try {
      const r = await api.policies(this.ns, true);
      this.list = r;
      this.union = r.union || null;
      if (!this.union) this.message("The server sent no union picture.", "error");
    } catch (e) {
      this.union = null;
      $("visualize-all").checked = false;
      this.message(errorText(e), "error");
    }
    this.renderList();
    this.render();
    this.whatIfSoon();
  }

  // MARK: rendering

  render() {
    const editing = this.yaml.value !== "" || this.picture !== null;
    const showing = this.union || (editing ? this.picture : null);
    show($("no-policy"), !showing && !editing);
    show($("editor"), !!showing || editing);
    show($("yaml-pane"), editing && !this.union);
    $("delete").disabled = !this.openRef;
    $("delete").title = this.openRef ? `Delete ${refLabel(this.openRef)} from the cluster` : "Only an applied policy can be deleted";
    const ctx = {
      onOp: (op) => this.op(op),
      onOpenPolicy: (ref) => this.navigate({ policy: `${ref.kind}/${ref.name}` }),
      namespaces: this.namespaces,
    };
    if (showing) renderPicture($("picture"), showing, ctx);
    else { clear($("picture")); show($("picture-other"), false); }
    this.renderTitle();
    this.renderGutter();
    this.renderErrors();
    this.renderList();
    this.renderWhatIf();
  }

  renderTitle() {
    const t = clear($("editor-title"));
    if (this.union) {
      t.append(`All policies of ${this.ns} (read-only: click an item or a policy to edit it)`);
      return;
    }
    const subj = this.picture?.subject;
    if (!subj && !this.yaml.value) return;
    const label = subj ? refLabel({ kind: subj.kind, namespace: subj.namespace, name: subj.name }) : "policy";
    let state = this.openRef ? "applied" : "not applied";
    if (this.openRef && this.loadedYaml !== null && this.yaml.value !== this.loadedYaml) state = "unsaved changes";
    t.append(h("strong", { text: label }), " ", h("span", { class: `state ${state.replace(/ /g, "-")}`, text: state }));
  }

  renderGutter() {
    const lines = this.yaml.value.split("\n").length;
    const bad = new Set(this.errors.filter((d) => d.line > 0).map((d) => d.line));
    const box = clear(this.gutter().querySelector(".lines"));
    for (let n = 1; n <= Math.max(lines, 1); n++) {
      box.append(h("div", { class: bad.has(n) ? "error" : undefined, dataset: { line: n }, text: n }));
    }
    this.gutter().scrollTop = this.yaml.scrollTop;
  }

  renderErrors() {
    const ul = clear($("yaml-errors"));
    for (const d of this.errors) {
      ul.append(h("li", { dataset: { line: d.line }, text: diagText(d), onclick: () => this.selectLine(d.line) }));
    }
  }

  selectLine(line) {
    if (line < 1) return;
    const lines = this.yaml.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    this.yaml.focus();
    this.yaml.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  /** kind: "error" | "info" | null (hide). */
  message(text, kind = "error") {
    const m = $("editor-message");
    m.textContent = text || "";
    m.className = `message ${kind || ""}`;
    show(m, !!text);
  }

  // MARK: the server applies every change

  async op(op, yaml = this.yaml.value) {
    closePopup();
    if (this.union) {
      this.union = null;
      $("visualize-all").checked = false;
    }
    const before = yaml;
    try {
      const r = await api.editor(yaml, op);
      if (r.errors?.length) {
        this.message(`${op.op}: ${r.errors.map(diagText).join("; ")}`, "error");
        if (!r.picture) this.errors = r.errors.filter((d) => d.line > 0);
        this.render();
        return;
      }
      if (op.op === "new") {
        this.openRef = null;
        this.loadedYaml = null;
        this.navigate({ policy: null }, true);
      }
      this.typingSeq++;       // a parse of older text must not overwrite this
      this.validateSoon.cancel();
      this.yaml.value = r.yaml;
      this.picture = r.picture;
      this.errors = [];
      if (!this.commentNoteShown && hasComment(before) && !hasComment(r.yaml)) {
        this.commentNoteShown = true;
        this.message("Comments are not kept when a click rewrites the YAML.", "info");
      } else {
        this.message(null);
      }
      this.saveDraft();
      this.render();
      this.whatIfSoon();
    } catch (e) {
      this.message(`${op.op}: ${errorText(e)}`, "error");
    }
  }

  typed() {
    this.renderGutter();
    this.renderTitle();
    this.renderList();
    this.saveDraftSoon();
    this.validateSoon();
  }

  /** Parses the YAML as typed: the picture follows a valid text, the gutter marks an invalid one. */
  async validate() {
    this.validateSoon.cancel();
    const seq = ++this.typingSeq;
    const yaml = this.yaml.value;
    if (!yaml.trim()) {
      this.picture = null;
      this.errors = [];
      this.render();
      return;
    }
    try {
      const r = await api.editor(yaml);
      if (seq !== this.typingSeq) return;
      this.errors = r.errors || [];
      if (!this.errors.length && r.picture) this.picture = r.picture;
    } catch (e) {
      if (seq !== this.typingSeq) return;
      this.errors = e.errors?.length ? e.errors : [{ line: 0, column: 0, path: "", message: errorText(e) }];
    }
    this.render();
    if (!this.errors.length) this.whatIfSoon();
  }

  /** Tab inserts two spaces (YAML has no tabs); the rest is the textarea's own. */
  indentKeys(e) {
    if (e.key !== "Tab" || e.shiftKey || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    const t = this.yaml, at = t.selectionStart;
    t.setRangeText("  ", at, t.selectionEnd, "end");
    this.typed();
  }

  // MARK: what-if table and rules from flows

  async loadWhatIf() {
    const ns = this.ns;
    if (!ns) return;
    // A draft that does not parse cannot be evaluated: show the recorded verdicts meanwhile.
    const usable = !this.union && !this.errors.length && this.yaml.value.trim() !== "";
    const r = await api.whatif(ns, usable ? this.yaml.value : "", usable ? this.openRef : null);
    if (ns !== this.ns) return;
    this.whatifItems = r.rows;
    this.renderWhatIf();
  }

  renderWhatIf() {
    const items = [...this.whatifItems].sort((a, b) => (b.changed - a.changed) || byLastSeen(a.row, b.row));
    const changed = items.filter((i) => i.changed).length;
    $("policy-flows-count").textContent = `${items.length} row${items.length === 1 ? "" : "s"}${changed ? `, ${changed} changed by the draft` : ""}`;
    renderFlowTable($("policy-flows"), items, {
      whatif: true,
      onRow: (item, e) => this.rowMenu(item, e),
      empty: "No flows in this namespace yet",
    });
  }

  rowMenu(item, e) {
    const menu = $("row-menu");
    clear(menu);
    if (item.recorded !== "dropped" && item.draft !== "dropped") { menu.hidden = true; return; }
    const editing = !!this.yaml.value && !this.union;
    menu.append(h("button", {
      type: "button", class: "add-rule", disabled: !editing,
      title: editing ? "Add the narrowest rule that allows this flow to the policy in the editor" : "Create or open a policy first",
      text: "Add rule to policy",
      onclick: () => { menu.hidden = true; this.ruleFromFlow(item.row.id); },
    }));
    e.stopPropagation();
    placeNear(menu, e.target.closest("td") || e.target);
  }

  async ruleFromFlow(rowId) {
    try {
      const r = await api.ruleFromFlow(this.yaml.value, rowId);
      if (r.errors?.length) { this.message(r.errors.map(diagText).join("; "), "error"); return; }
      this.typingSeq++;
      this.yaml.value = r.yaml;
      if (r.picture) this.picture = r.picture;
      this.errors = [];
      this.message(null);
      this.saveDraft();
      this.render();
      this.whatIfSoon();
    } catch (e) {
      this.message(errorText(e), "error");
    }
  }

  // MARK: Apply, Delete, Download, Copy

  async startApply() {
    // The picture (and so the policy's name) must match the text as typed, not as of 300 ms ago.
    if (this.yaml.value.trim()) await this.validate();
    const dialog = $("apply-dialog");
    const subj = this.picture?.subject;
    $("apply-name").textContent = subj ? refLabel({ kind: subj.kind, namespace: subj.namespace, name: subj.name }) : "";
    $("apply-summary").textContent = "Checking which recorded flows change verdict…";
    clear($("apply-changes"));
    const out = $("apply-output");
    out.textContent = "";
    out.className = "output";
    show(out, false);
    $("apply-confirm").hidden = false;
    $("apply-confirm").disabled = true;
    $("apply-cancel").textContent = "Cancel";
    if (!dialog.open) dialog.showModal();
    try {
      const r = await api.whatif(this.ns, this.yaml.value, this.openRef);
      const changed = r.rows.filter((x) => x.changed);
      $("apply-summary").textContent = changed.length
        ? `${changed.length} flow group${changed.length === 1 ? "" : "s"} will change verdict:`
        : "No recorded flow changes verdict.";
      // What applying changes: the verdict with the applied policies (the recorded one when the
      // engine cannot tell, e.g. a pod that is gone) against the draft's.
      const from = (x) => (x.current && x.current !== "unknown" ? x.current : x.recorded);
      for (const x of changed) {
        const c = (card) => card.namespace ? `${card.name} (${card.namespace})` : card.name;
        $("apply-changes").append(h("li", { dataset: { changedRow: x.row.id } }, [
          `${c(x.row.source)} → ${c(x.row.destination)} ${x.row.port ? `${x.row.port}/${x.row.protocol}` : x.row.protocol}: `,
          h("span", { class: `verdict ${from(x)}`, text: from(x) }), " → ", h("span", { class: `verdict ${x.draft}`, text: x.draft }),
        ]));
      }
      if (r.errors?.length) this.showApplyOutput(r.errors.map(diagText).join("\n"), "error");
    } catch (e) {
      $("apply-summary").textContent = `The draft could not be evaluated: ${errorText(e)}`;
    }
    $("apply-confirm").disabled = false;
  }

  showApplyOutput(text, kind) {
    const out = $("apply-output");
    out.textContent = text;
    out.className = `output ${kind}`;
    show(out, true);
  }

  async confirmApply() {
    $("apply-confirm").disabled = true;
    const yaml = this.yaml.value;
    try {
      const r = await api.apply(yaml);
      if (!r.ok) {
        this.applyFailed(r.output, r.errors || []);
        return;
      }
      this.showApplyOutput(r.output || "applied", "ok");
      $("apply-confirm").hidden = true;
      $("apply-cancel").textContent = "Close";
      const subj = this.picture?.subject;
      if (subj) this.openRef = { kind: subj.kind, namespace: subj.kind === "CiliumClusterwideNetworkPolicy" ? "" : subj.namespace, name: subj.name };
      this.loadedYaml = yaml;
      this.saveDraft();
      this.message(null);
      if (this.openRef) {
        // A policy written for another namespace opens there (a new routing pass loads it back).
        const ns = this.openRef.namespace || this.ns;
        this.navigate({ namespace: ns, policy: `${this.openRef.kind}/${this.openRef.name}` }, ns === this.ns);
      }
      this.refreshList();
      this.render();
      this.whatIfSoon();
    } catch (e) {
      this.applyFailed(e.message, e.errors || []);
    }
  }

  applyFailed(text, errors) {
    this.showApplyOutput([text, ...errors.map(diagText)].filter(Boolean).join("\n"), "error");
    this.errors = errors.filter((d) => d.line > 0);
    this.renderGutter();
    this.renderErrors();
    $("apply-confirm").disabled = false;
  }

  async deletePolicy() {
    const ref = this.openRef;
    if (!ref) return;
    try {
      const r = await api.remove(ref);
      if (r.ok === false) { this.message([r.output, ...(r.errors || []).map(diagText)].filter(Boolean).join("\n"), "error"); return; }
      // The YAML stays in the pane as a draft: Apply puts the policy back.
      this.openRef = null;
      this.loadedYaml = null;
      this.saveDraft();
      this.message(`${r.output || `${refLabel(ref)} deleted`}. The YAML stays in the editor: Apply creates it again.`, "info");
      this.navigate({ policy: null }, true);
      this.refreshList();
      this.render();
      this.whatIfSoon();
    } catch (e) {
      this.message(errorText(e), "error");
    }
  }

  download() {
    const text = this.yaml.value;
    const name = yamlName(text) || this.picture?.subject?.name || "policy";
    const url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
    const a = h("a", { href: url, download: `${name}.yaml` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async copy() {
    const text = this.yaml.value;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard permission (plain http on another name, or a headless browser): select the
      // text and use the older command, which works inside a user gesture.
      this.yaml.focus();
      this.yaml.select();
      if (!document.execCommand("copy")) {
        this.message("Copy is blocked here: the YAML is selected, press Ctrl+C.", "info");
        return;
      }
    }
    this.message("YAML copied to the clipboard.", "info");
  }
}

