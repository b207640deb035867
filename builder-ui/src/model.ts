// The flow document as the builder edits it: the canonical JSON form the
// server answers (flow.EncodeJSON), plus pure functions over it. Nothing here
// touches React or the network, so Vitest covers it directly.
import { compile, defaultRow, type VarInfo } from './conditions/conditions';

/** A field of a node type, from GET /api/spec (flow.FieldSpec). */
export interface FieldSpec {
  name: string;
  kind: string;
  required?: boolean;
  doc: string;
}

/** A node type, from GET /api/spec (flow.NodeSpec). */
export interface NodeSpec {
  type: string;
  doc: string;
  waits: boolean;
  fields: FieldSpec[];
}

export interface Spec {
  format_version: number;
  nodes: NodeSpec[];
  expect: string[];
  methods: string[];
}

export interface Button {
  label: string;
  next?: string;
  score?: number;
  tags?: string[];
}
export interface Branch {
  when: string;
  next?: string;
}
export interface Variant {
  name: string;
  weight?: number;
  next?: string;
}
export interface Timeout {
  after?: string;
  next?: string;
}
export interface Position {
  x: number;
  y: number;
}

/** One node. Fields vary by type; the spec says which a type takes. */
export interface NodeDoc {
  type: string;
  text?: string;
  next?: string;
  buttons?: Button[];
  branches?: Branch[];
  variants?: Variant[];
  timeout?: Timeout;
  ui?: Position;
  [field: string]: unknown;
}

export interface Trigger {
  command?: string;
  keywords?: string[];
  goto?: string;
  reset?: boolean;
}
export interface FAQ {
  keywords?: string[];
  answer?: string;
}

export interface FlowDoc {
  voronka: number;
  id: string;
  name?: string;
  description?: string;
  start?: string;
  expire?: string;
  vars?: Record<string, string>;
  scoring?: Record<string, number>;
  triggers?: Trigger[];
  faq?: FAQ[];
  nodes: Record<string, NodeDoc>;
}

/** A validation problem as the API answers it. */
export interface Problem {
  line: number;
  col: number;
  severity: 'error' | 'warning' | string;
  message: string;
  node?: string;
  field?: string;
  text: string;
  /** The message before formatting, for other languages (see problemText). */
  format?: string;
  args?: (string | number | boolean)[];
}

/** An outgoing connection point of a node: the field path it sets. */
export interface Output {
  handle: string; // "next", "buttons[1].next", "timeout.next", "else", …
  /** What the exit is: a field (next, else, on_fail…), a button, a branch, a variant or the timeout. */
  kind: 'field' | 'button' | 'branch' | 'variant' | 'timeout';
  /** The field name, button label, branch condition, variant name or timeout duration, untranslated. */
  label: string;
}

/** An edge of the graph: the field of `source` that names `target`. */
export interface Edge {
  id: string;
  source: string;
  handle: string;
  target: string;
}

export function emptyFlow(id: string, name: string): FlowDoc {
  return { voronka: 1, id, name, nodes: {} };
}

/**
 * afterDraftDeleted picks the flow to show once the draft of `deleted` is
 * gone, from the bot's flows listed afterwards: the same flow when it still
 * has a published version, else the one the bot runs, else the first, else
 * none ('').
 */
export function afterDraftDeleted(flows: readonly { id: string; running: boolean }[], deleted: string): string {
  if (flows.some((f) => f.id === deleted)) return deleted;
  return (flows.find((f) => f.running) ?? flows[0])?.id ?? '';
}

/** outputs lists the connection points of a node, from its spec and lists. */
export function outputs(node: NodeDoc, spec: NodeSpec | undefined): Output[] {
  if (!spec) return [];
  const out: Output[] = [];
  for (const f of spec.fields) {
    switch (f.kind) {
      case 'node':
        out.push({ handle: f.name, kind: 'field', label: f.name });
        break;
      case 'buttons':
        (node.buttons ?? []).forEach((b, i) => out.push({ handle: `buttons[${i}].next`, kind: 'button', label: b.label || `#${i + 1}` }));
        break;
      case 'branches':
        (node.branches ?? []).forEach((b, i) => out.push({ handle: `branches[${i}].next`, kind: 'branch', label: b.when || `#${i + 1}` }));
        break;
      case 'variants':
        (node.variants ?? []).forEach((v, i) => out.push({ handle: `variants[${i}].next`, kind: 'variant', label: v.name || `#${i + 1}` }));
        break;
      case 'timeout':
        out.push({ handle: 'timeout.next', kind: 'timeout', label: node.timeout?.after ?? '' });
        break;
    }
  }
  // The way on comes first, then the other exits as the spec lists them.
  const i = out.findIndex((o) => o.handle === 'next');
  if (i > 0) out.unshift(...out.splice(i, 1));
  return out;
}

const listHandle = /^(buttons|branches|variants)\[(\d+)\]\.next$/;

/** target returns the node id a handle of a node points at. */
export function target(node: NodeDoc, handle: string): string | undefined {
  const m = listHandle.exec(handle);
  if (m) {
    const list = node[m[1]] as { next?: string }[] | undefined;
    return list?.[Number(m[2])]?.next || undefined;
  }
  if (handle === 'timeout.next') return node.timeout?.next || undefined;
  const v = node[handle];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** withTarget returns a copy of node whose handle points at to (or nowhere). */
export function withTarget(node: NodeDoc, handle: string, to: string | undefined): NodeDoc {
  const n: NodeDoc = { ...node };
  const m = listHandle.exec(handle);
  if (m) {
    const key = m[1] as 'buttons' | 'branches' | 'variants';
    const list = [...((n[key] as { next?: string }[] | undefined) ?? [])];
    const i = Number(m[2]);
    if (i < list.length) {
      const item = { ...list[i] };
      if (to) item.next = to;
      else delete item.next;
      list[i] = item;
      (n as Record<string, unknown>)[key] = list;
    }
    return n;
  }
  if (handle === 'timeout.next') {
    if (to) n.timeout = { after: n.timeout?.after ?? '1h', next: to };
    else delete n.timeout;
    return n;
  }
  if (to) n[handle] = to;
  else delete n[handle];
  return n;
}

/** edges lists every connection of the flow that points at an existing node. */
export function edges(doc: FlowDoc, specs: Map<string, NodeSpec>): Edge[] {
  const out: Edge[] = [];
  for (const [id, node] of Object.entries(doc.nodes)) {
    for (const o of outputs(node, specs.get(node.type))) {
      const to = target(node, o.handle);
      if (to && doc.nodes[to]) out.push({ id: `${id}|${o.handle}`, source: id, handle: o.handle, target: to });
    }
  }
  return out;
}

/** newNodeID picks an unused id such as message_3. */
export function newNodeID(doc: FlowDoc, type: string): string {
  for (let i = 1; ; i++) {
    const id = `${type}_${i}`;
    if (!doc.nodes[id]) return id;
  }
}

/** defaultNode is what a node dropped from the palette starts with. */
export function defaultNode(type: string, lang: 'ru' | 'en', vars: VarInfo[] = []): NodeDoc {
  const ru = lang === 'ru';
  switch (type) {
    case 'message':
      return { type, text: ru ? 'Новое сообщение' : 'New message' };
    case 'buttons':
      return { type, text: ru ? 'Выберите вариант' : 'Pick one', buttons: [{ label: ru ? 'Да' : 'Yes' }, { label: ru ? 'Нет' : 'No' }] };
    case 'question':
      return { type, text: ru ? 'Ваш вопрос?' : 'Your question?', expect: 'text' };
    case 'condition':
      return { type, branches: [{ when: compile({ join: 'and', rows: [defaultRow(vars)] }, vars) }] };
    case 'score':
      return { type, add: 10 };
    case 'handoff':
      return { type, text: ru ? 'Передаю менеджеру' : 'Connecting you to a manager', queue: 'sales' };
    case 'delay':
      return { type, for: '1h' };
    case 'split':
      return { type, variants: [{ name: 'A', weight: 1 }, { name: 'B', weight: 1 }] };
    case 'webhook':
      return { type, method: 'POST', url: 'https://example.com/hook' };
    case 'set': {
      const v = vars.find((x) => x.type === 'number' || x.type === 'string');
      if (v) return { type, vars: { [v.name]: v.type === 'number' ? '0' : '""' } };
      return { type, vars: { [ru ? 'этап' : 'stage']: ru ? '"новый"' : '"new"' } };
    }
    case 'goal':
      return { type, name: 'goal' };
    case 'end':
      return { type, text: ru ? 'Спасибо!' : 'Thank you!' };
    default:
      return { type };
  }
}

/** addNode adds a node at a position; the first node becomes the start. */
export function addNode(doc: FlowDoc, id: string, node: NodeDoc, pos: Position): FlowDoc {
  const nodes = { ...doc.nodes, [id]: { ...node, ui: round(pos) } };
  if (doc.start) return { ...doc, nodes };
  // The first block is the start, and triggers that lost their block lead to it.
  return { ...doc, nodes, start: id, triggers: doc.triggers?.map((t) => (t.goto ? t : { ...t, goto: id })) };
}

export function round(p: Position): Position {
  return { x: Math.round(p.x), y: Math.round(p.y) };
}

/** removeNodes deletes nodes and every reference to them. */
export function removeNodes(doc: FlowDoc, ids: Iterable<string>, specs: Map<string, NodeSpec>): FlowDoc {
  const gone = new Set(ids);
  const nodes: Record<string, NodeDoc> = {};
  for (const [id, node] of Object.entries(doc.nodes)) {
    if (gone.has(id)) continue;
    let n = node;
    for (const o of outputs(node, specs.get(node.type))) {
      const to = target(n, o.handle);
      if (to && gone.has(to)) n = withTarget(n, o.handle, undefined);
    }
    nodes[id] = n;
  }
  const out: FlowDoc = { ...doc, nodes };
  if (out.start && gone.has(out.start)) out.start = Object.keys(nodes)[0];
  // A trigger whose block is gone leads to the start instead.
  if (out.triggers) out.triggers = out.triggers.map((t) => (t.goto && gone.has(t.goto) ? { ...t, goto: out.start ?? '' } : t));
  return out;
}

/** connect points a handle of source at target. */
export function connect(doc: FlowDoc, source: string, handle: string, to: string | undefined): FlowDoc {
  const node = doc.nodes[source];
  if (!node) return doc;
  return { ...doc, nodes: { ...doc.nodes, [source]: withTarget(node, handle, to) } };
}

/** renameNode changes a node id and every reference to it. */
export function renameNode(doc: FlowDoc, from: string, to: string, specs: Map<string, NodeSpec>): FlowDoc {
  if (from === to || !doc.nodes[from] || doc.nodes[to]) return doc;
  const nodes: Record<string, NodeDoc> = {};
  for (const [id, node] of Object.entries(doc.nodes)) {
    let n = node;
    for (const o of outputs(node, specs.get(node.type))) {
      if (target(n, o.handle) === from) n = withTarget(n, o.handle, to);
    }
    nodes[id === from ? to : id] = n;
  }
  return {
    ...doc,
    nodes,
    start: doc.start === from ? to : doc.start,
    triggers: doc.triggers?.map((t) => (t.goto === from ? { ...t, goto: to } : t)),
  };
}

/**
 * copyNodes returns the chosen nodes with fresh ids for pasting into doc,
 * moved by offset; connections among them follow, connections to nodes not
 * copied stay as they were.
 */
export function copyNodes(
  doc: FlowDoc,
  clip: Record<string, NodeDoc>,
  offset: Position,
  specs: Map<string, NodeSpec>,
): { doc: FlowDoc; ids: string[] } {
  const rename = new Map<string, string>();
  const taken: FlowDoc = { ...doc, nodes: { ...doc.nodes } };
  for (const [id, node] of Object.entries(clip)) {
    const nid = newNodeID(taken, node.type);
    taken.nodes[nid] = node;
    rename.set(id, nid);
  }
  let next = doc;
  const nodes = { ...next.nodes };
  for (const [id, node] of Object.entries(clip)) {
    let n: NodeDoc = { ...node, ui: round({ x: (node.ui?.x ?? 0) + offset.x, y: (node.ui?.y ?? 0) + offset.y }) };
    for (const o of outputs(node, specs.get(node.type))) {
      const to = target(n, o.handle);
      if (to && rename.has(to)) n = withTarget(n, o.handle, rename.get(to));
    }
    nodes[rename.get(id) as string] = n;
  }
  next = { ...next, nodes, start: next.start || [...rename.values()][0] };
  return { doc: next, ids: [...rename.values()] };
}

/** needsLayout reports whether some node has no position on the canvas. */
export function needsLayout(doc: FlowDoc): boolean {
  return Object.values(doc.nodes).some((n) => !n.ui);
}

/** problemsByNode groups problems by the node they concern ("" for the flow). */
export function problemsByNode(ps: Problem[]): Map<string, Problem[]> {
  const m = new Map<string, Problem[]>();
  for (const p of ps) {
    const k = p.node ?? '';
    const l = m.get(k);
    if (l) l.push(p);
    else m.set(k, [p]);
  }
  return m;
}

/** hasErrors reports whether any problem is an error (not a warning). */
export function hasErrors(ps: Problem[]): boolean {
  return ps.some((p) => p.severity === 'error');
}

/** fieldProblems picks the problems of a field and its sub-fields. */
export function fieldProblems(ps: Problem[] | undefined, field: string): Problem[] {
  return (ps ?? []).filter((p) => p.field === field || (p.field ?? '').startsWith(field + '.') || (p.field ?? '').startsWith(field + '['));
}

/** DiffSummary says what changed between two versions of a flow. */
export interface DiffSummary {
  added: string[];
  removed: string[];
  changed: string[];
  settings: boolean; // vars, scoring, triggers, faq, start, name…
}

function withoutUI(n: NodeDoc): NodeDoc {
  const { ui: _ui, ...rest } = n; // eslint-disable-line @typescript-eslint/no-unused-vars
  void _ui;
  return rest;
}

/** diff compares two flows node by node; moves on the canvas do not count. */
export function diff(from: FlowDoc, to: FlowDoc): DiffSummary {
  const added = Object.keys(to.nodes).filter((id) => !from.nodes[id]);
  const removed = Object.keys(from.nodes).filter((id) => !to.nodes[id]);
  const changed = Object.keys(to.nodes).filter(
    (id) => from.nodes[id] && JSON.stringify(withoutUI(from.nodes[id])) !== JSON.stringify(withoutUI(to.nodes[id])),
  );
  const { nodes: _a, ...fa } = from;
  const { nodes: _b, ...fb } = to;
  void _a;
  void _b;
  return { added, removed, changed, settings: JSON.stringify(fa) !== JSON.stringify(fb) };
}

/** Templates: the {{ variable }} names a text refers to. */
export function templateVars(text: string): string[] {
  const out: string[] = [];
  const re = /\{\{\s*([A-Za-zА-Яа-яЁё_][A-Za-zА-Яа-яЁё0-9_.]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]);
  return out;
}

/** History is an undo/redo stack of documents. */
export interface History {
  past: FlowDoc[];
  present: FlowDoc;
  future: FlowDoc[];
  key?: string; // the last change's coalescing key
  at?: number;
}

const maxHistory = 200;

/**
 * record makes doc the present. Changes with the same key within a second
 * (typing in one field) become one undo step.
 */
export function record(h: History, doc: FlowDoc, key?: string, now = Date.now()): History {
  if (doc === h.present) return h;
  if (key && h.key === key && h.at !== undefined && now - h.at < 1000) {
    return { ...h, present: doc, future: [], at: now };
  }
  const past = [...h.past, h.present].slice(-maxHistory);
  return { past, present: doc, future: [], key, at: now };
}

export function undo(h: History): History {
  if (h.past.length === 0) return h;
  return { past: h.past.slice(0, -1), present: h.past[h.past.length - 1], future: [h.present, ...h.future] };
}

export function redo(h: History): History {
  if (h.future.length === 0) return h;
  return { past: [...h.past, h.present], present: h.future[0], future: h.future.slice(1) };
}

/** varInfos lists the flow's declared variables with their types. */
export function varInfos(doc: FlowDoc | null): { name: string; type: string }[] {
  return Object.entries(doc?.vars ?? {}).map(([name, type]) => ({ name, type }));
}

/** saveType is the variable type a question's answer implies. */
export function saveType(expect: unknown): string {
  if (expect === 'number') return 'number';
  if (expect === 'date') return 'date';
  return 'string';
}

const varNameRe = /^[A-Za-zА-Яа-яЁё_][A-Za-zА-Яа-яЁё0-9_]*$/;

/** isVarName reports whether a name can be a variable (Latin or Russian letters, digits, _). */
export function isVarName(s: string): boolean {
  return varNameRe.test(s);
}

/**
 * declareVars declares the variables the flow saves into but does not
 * declare, with the type the saving node implies: a question's answer
 * (number, date, text), a webhook's response (object), a set node's value
 * (number, yes/no, text). A variable that only one question saves follows
 * that question's answer type when it changes. Returns doc itself when
 * nothing changes.
 */
export function declareVars(doc: FlowDoc): FlowDoc {
  const vars = { ...(doc.vars ?? {}) };
  const savers = new Map<string, string[]>();
  const want = (name: unknown, type: string) => {
    if (typeof name !== 'string' || !isVarName(name)) return;
    savers.set(name, [...(savers.get(name) ?? []), type]);
  };
  for (const n of Object.values(doc.nodes)) {
    if (n.type === 'question') want(n.save, saveType(n.expect));
    else if (n.type === 'webhook') want(n.save, 'object');
    else if (n.type === 'set' && n.vars && typeof n.vars === 'object') {
      for (const [k, e] of Object.entries(n.vars as Record<string, string>)) {
        const t = String(e).trim();
        want(k, /^-?\d+(\.\d+)?$/.test(t) ? 'number' : t === 'true' || t === 'false' ? 'bool' : 'string');
      }
    }
  }
  let changed = false;
  for (const [name, types] of savers) {
    if (!(name in vars)) {
      vars[name] = types[0];
      changed = true;
    } else if (types.length === 1 && vars[name] !== types[0] && ['number', 'date', 'string'].includes(vars[name]) && ['number', 'date', 'string'].includes(types[0])) {
      // The one question saving it changed its answer type.
      vars[name] = types[0];
      changed = true;
    }
  }
  return changed ? { ...doc, vars } : doc;
}

/** danglingExit returns the first exit of a node that leads nowhere: next first, then the others in order. */
export function danglingExit(node: NodeDoc, spec: NodeSpec | undefined): string | undefined {
  const outs = outputs(node, spec).filter((o) => !target(node, o.handle) && o.kind !== 'timeout');
  return (outs.find((o) => o.handle === 'next') ?? outs.find((o) => o.kind !== 'field' || o.handle !== 'on_error'))?.handle;
}

const translit: Record<string, string> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'y', к: 'k', л: 'l', м: 'm', н: 'n', о: 'o',
  п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'h', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'sch', ъ: '', ы: 'y', ь: '', э: 'e', ю: 'yu', я: 'ya',
};

/** flowIdFrom derives a flow id (a-z, 0-9, -) from a name in any language; Russian is transliterated. */
export function flowIdFrom(name: string): string {
  const latin = [...name.toLowerCase()].map((c) => translit[c] ?? c).join('');
  const id = latin
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return id || 'funnel';
}

/** uniqueId adds -2, -3… to id until it is not taken. */
export function uniqueId(id: string, taken: (x: string) => boolean): string {
  if (!taken(id)) return id;
  for (let i = 2; ; i++) if (!taken(`${id}-${i}`)) return `${id}-${i}`;
}

/** firstWords cuts a text to its first words, at most n characters. */
export function firstWords(s: string, n = 40): string {
  const t = s.replace(/\s+/g, ' ').trim();
  if (t.length <= n) return t;
  const cut = t.slice(0, n);
  const sp = cut.lastIndexOf(' ');
  return (sp > n / 2 ? cut.slice(0, sp) : cut) + '…';
}
