// Conditions as rows: "variable / score / segment / tag / channel / source,
// an operator that fits its type, a value", joined by И or ИЛИ. Rows compile
// to the expr-lang expression the engine runs; an expression written by hand
// that has this shape parses back into rows, anything else stays an
// expression. Pure functions: the editor, the canvas's wording and the
// broadcasts' segments all use them.

export type SubjectKind = 'var' | 'score' | 'segment' | 'tag' | 'channel' | 'source';

/** subjectKinds are what the row editor's menu offers besides the variables, in its order. */
export const subjectKinds: SubjectKind[] = ['score', 'segment', 'tag', 'channel', 'source'];

export type Op = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'contains' | 'starts' | 'empty' | 'notEmpty' | 'has' | 'hasNot' | 'isTrue' | 'isFalse';

/** One row: what is checked, how, and against what (the value as typed). */
export interface Row {
  kind: SubjectKind;
  /** The variable's name, for kind 'var'. */
  name?: string;
  op: Op;
  value: string;
}

export type Join = 'and' | 'or';

export interface Rows {
  join: Join;
  rows: Row[];
}

/** A declared variable: its name and flow type (string, number, bool, date, list, object). */
export interface VarInfo {
  name: string;
  type: string;
}

/** The value a subject holds, which decides its operators. */
export type ValueKind = 'number' | 'text' | 'bool' | 'choice' | 'tag' | 'other';

export function valueKind(kind: SubjectKind, varType?: string): ValueKind {
  switch (kind) {
    case 'score':
      return 'number';
    case 'segment':
    case 'channel':
      return 'choice';
    case 'tag':
      return 'tag';
    case 'source':
      return 'text';
    case 'var':
      return varType === 'number' ? 'number' : varType === 'string' ? 'text' : varType === 'bool' ? 'bool' : 'other';
  }
}

/** opsFor lists the operators that fit a subject, the default first. */
export function opsFor(vk: ValueKind): Op[] {
  switch (vk) {
    case 'number':
      return ['ge', 'gt', 'le', 'lt', 'eq', 'ne'];
    case 'text':
      return ['eq', 'ne', 'contains', 'starts', 'empty', 'notEmpty'];
    case 'bool':
      return ['isTrue', 'isFalse'];
    case 'choice':
      return ['eq', 'ne'];
    case 'tag':
      return ['has', 'hasNot'];
    case 'other':
      return [];
  }
}

/** takesValue reports whether an operator needs a value typed or picked. */
export function takesValue(op: Op): boolean {
  return !['empty', 'notEmpty', 'isTrue', 'isFalse'].includes(op);
}

const cmp: Partial<Record<Op, string>> = { eq: '==', ne: '!=', gt: '>', ge: '>=', lt: '<', le: '<=' };
const cmpOp = Object.fromEntries(Object.entries(cmp).map(([k, v]) => [v, k as Op])) as Record<string, Op>;

/** numberLiteral reads a number as people type it ("1 500,5"); null if it is none. */
export function numberLiteral(s: string): string | null {
  const t = s.replace(/[\s\u00a0]/g, '').replace(',', '.');
  return /^-?\d+(\.\d+)?$/.test(t) ? String(Number(t)) : null;
}

const str = (s: string) => JSON.stringify(s);

function subject(r: Row): string {
  switch (r.kind) {
    case 'score':
      return 'score';
    case 'segment':
      return 'segment';
    case 'channel':
      return 'contact.channel';
    case 'source':
      return 'contact.source';
    case 'tag':
      return 'tags';
    case 'var':
      return r.name ?? '';
  }
}

/** compileRow is one row as an expression; a number that is not one counts as 0. */
export function compileRow(r: Row, varType?: string): string {
  const s = subject(r);
  switch (r.op) {
    case 'has':
      return `${str(r.value)} in tags`;
    case 'hasNot':
      return `${str(r.value)} not in tags`;
    case 'empty':
      return `${s} == ""`;
    case 'notEmpty':
      return `${s} != ""`;
    case 'isTrue':
      return `${s} == true`;
    case 'isFalse':
      return `${s} == false`;
    case 'contains':
      return `${s} contains ${str(r.value)}`;
    case 'starts':
      return `${s} startsWith ${str(r.value)}`;
  }
  const numeric = r.kind === 'score' || (r.kind === 'var' && varType === 'number');
  const v = numeric ? (numberLiteral(r.value) ?? '0') : str(r.value);
  return `${s} ${cmp[r.op]} ${v}`;
}

/** compile joins rows into one expression ("" for no rows). */
export function compile(c: Rows, vars: VarInfo[] = []): string {
  const types = new Map(vars.map((v) => [v.name, v.type]));
  return c.rows.map((r) => compileRow(r, types.get(r.name ?? ''))).join(c.join === 'and' ? ' && ' : ' || ');
}

/** splitTop splits an expression at && / || (and the words and / or) outside quotes and brackets. */
function splitTop(src: string): { parts: string[]; joins: Join[] } | null {
  const parts: string[] = [];
  const joins: Join[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (depth === 0) {
      const rest = src.slice(i);
      const m = /^(&&|\|\|)/.exec(rest) ?? (/\s$/.test(src.slice(0, i)) || i === 0 ? /^(and|or)(?=\s)/.exec(rest) : null);
      if (m) {
        parts.push(src.slice(start, i));
        joins.push(m[1] === '&&' || m[1] === 'and' ? 'and' : 'or');
        i += m[1].length - 1;
        start = i + 1;
      }
    }
  }
  if (quote || depth !== 0) return null;
  parts.push(src.slice(start));
  return { parts: parts.map((p) => p.trim()), joins };
}

/** stringLiteral reads "…" or '…' as the whole of s; null otherwise. */
function stringLiteral(s: string): string | null {
  const t = s.trim();
  if (/^"(?:[^"\\]|\\.)*"$/.test(t)) {
    try {
      return JSON.parse(t) as string;
    } catch {
      return null;
    }
  }
  if (/^'(?:[^'\\]|\\.)*'$/.test(t)) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return null;
}

const name = String.raw`[A-Za-zА-Яа-яЁё_][A-Za-zА-Яа-яЁё0-9_]*`;
const lit = String.raw`("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?|true|false)`;
const reCmp = new RegExp(String.raw`^(${name}(?:\.${name})?)\s*(==|!=|>=|<=|>|<)\s*${lit}$`);
const reIn = new RegExp(String.raw`^${lit}\s+(not in|in)\s+tags$`);
const reNotIn = new RegExp(String.raw`^(?:!|not\s+)\(\s*${lit}\s+in\s+tags\s*\)$`);
const reText = new RegExp(String.raw`^(${name}(?:\.${name})?)\s+(contains|startsWith)\s+${lit}$`);

function subjectOf(s: string, vars: Map<string, string>): { kind: SubjectKind; name?: string } | null {
  switch (s) {
    case 'score':
      return { kind: 'score' };
    case 'segment':
      return { kind: 'segment' };
    case 'contact.channel':
      return { kind: 'channel' };
    case 'contact.source':
      return { kind: 'source' };
  }
  return vars.has(s) ? { kind: 'var', name: s } : null;
}

/** parseRow reads one comparison into a row that fits its subject's type; null if it does not fit. */
export function parseRow(src: string, vars: VarInfo[]): Row | null {
  const types = new Map(vars.map((v) => [v.name, v.type]));
  const t = src.trim();
  let m = reIn.exec(t);
  if (m) {
    const v = stringLiteral(m[1]);
    return v === null ? null : { kind: 'tag', op: m[2] === 'in' ? 'has' : 'hasNot', value: v };
  }
  m = reNotIn.exec(t);
  if (m) {
    const v = stringLiteral(m[1]);
    return v === null ? null : { kind: 'tag', op: 'hasNot', value: v };
  }
  m = reText.exec(t);
  if (m) {
    const sub = subjectOf(m[1], types);
    const v = stringLiteral(m[3]);
    if (!sub || v === null || valueKind(sub.kind, types.get(sub.name ?? '')) !== 'text') return null;
    return { ...sub, op: m[2] === 'contains' ? 'contains' : 'starts', value: v };
  }
  m = reCmp.exec(t);
  if (!m) return null;
  const sub = subjectOf(m[1], types);
  if (!sub) return null;
  const vk = valueKind(sub.kind, types.get(sub.name ?? ''));
  const op = cmpOp[m[2]];
  const raw = m[3];
  const s = stringLiteral(raw);
  switch (vk) {
    case 'number':
      return s === null && numberLiteral(raw) !== null ? { ...sub, op, value: raw } : null;
    case 'bool':
      if (op === 'eq' && (raw === 'true' || raw === 'false')) return { ...sub, op: raw === 'true' ? 'isTrue' : 'isFalse', value: '' };
      if (op === 'ne' && (raw === 'true' || raw === 'false')) return { ...sub, op: raw === 'true' ? 'isFalse' : 'isTrue', value: '' };
      return null;
    case 'text':
      if (s === null || (op !== 'eq' && op !== 'ne')) return null;
      if (s === '') return { ...sub, op: op === 'eq' ? 'empty' : 'notEmpty', value: '' };
      return { ...sub, op, value: s };
    case 'choice':
      return s !== null && (op === 'eq' || op === 'ne') ? { ...sub, op, value: s } : null;
    default:
      return null;
  }
}

/**
 * parse reads an expression into rows, or null when it has another shape
 * (mixed И and ИЛИ, brackets, functions, arithmetic): it then stays an
 * expression. "" is no rows.
 */
export function parse(src: string, vars: VarInfo[]): Rows | null {
  if (src.trim() === '') return { join: 'and', rows: [] };
  const sp = splitTop(src);
  if (!sp) return null;
  if (sp.joins.length && sp.joins.some((j) => j !== sp.joins[0])) return null;
  const rows: Row[] = [];
  for (const p of sp.parts) {
    const r = parseRow(p, vars);
    if (!r) return null;
    rows.push(r);
  }
  return { join: sp.joins[0] ?? 'and', rows };
}

/** Words for describe: the operators and subjects in the interface's language. */
export interface Words {
  op: (op: Op) => string;
  subject: (r: Row) => string;
  value: (r: Row) => string;
  and: string;
  or: string;
}

/** describe words an expression for the canvas ("бюджет не меньше 100000 и есть тег «vip»"); the expression itself when it is not rows. */
export function describe(src: string, vars: VarInfo[], w: Words): string {
  const c = parse(src, vars);
  if (!c || c.rows.length === 0) return src;
  return c.rows
    .map((r) => {
      if (r.kind === 'tag') return `${w.op(r.op)} «${r.value}»`;
      const v = takesValue(r.op) ? ` ${w.value(r)}` : '';
      return `${w.subject(r)} ${w.op(r.op)}${v}`;
    })
    .join(` ${c.join === 'and' ? w.and : w.or} `);
}

/** defaultRow is the row a new condition starts with: the first variable, or the score. */
export function defaultRow(vars: VarInfo[]): Row {
  const v = vars.find((x) => ['number', 'string', 'bool'].includes(x.type));
  if (!v) return { kind: 'score', op: 'ge', value: '10' };
  const vk = valueKind('var', v.type);
  return { kind: 'var', name: v.name, op: opsFor(vk)[0], value: vk === 'number' ? '0' : '' };
}
