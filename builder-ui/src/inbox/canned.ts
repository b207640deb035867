// Canned replies in the composer: typing "/" starts a pick, the text after it
// filters the replies by shortcut and title, and the chosen one replaces the
// "/word" with its text, rendered for this conversation. Pure functions.

/** SlashToken is the "/word" the caret is in: where it starts and ends, and the word. */
export interface SlashToken {
  start: number;
  end: number;
  query: string;
}

/**
 * slashToken finds the "/word" that ends at the caret: a slash at the start
 * of the text or after a space or line break, then letters, digits, _ or -.
 * null when the caret is not in one (an URL's slash does not count).
 */
export function slashToken(text: string, caret: number): SlashToken | null {
  const before = text.slice(0, caret);
  const m = /(^|\s)\/([\p{L}\p{N}_-]*)$/u.exec(before);
  if (!m) return null;
  const start = before.length - m[2].length - 1;
  return { start, end: caret, query: m[2] };
}

/** CannedLike is what the picker needs of a canned reply. */
export interface CannedLike {
  shortcut: string;
  title?: string;
  text: string;
}

/**
 * matchCanned orders the replies for a query: shortcuts that start with it
 * first, then those containing it in the shortcut, title or text; each group
 * by shortcut.
 */
export function matchCanned<T extends CannedLike>(list: readonly T[], query: string, limit = 8): T[] {
  const q = query.toLowerCase();
  const starts: T[] = [];
  const contains: T[] = [];
  for (const c of list) {
    const sc = c.shortcut.toLowerCase();
    if (sc.startsWith(q)) starts.push(c);
    else if (`${sc} ${c.title ?? ''} ${c.text}`.toLowerCase().includes(q)) contains.push(c);
  }
  const by = (a: T, b: T) => a.shortcut.localeCompare(b.shortcut);
  return [...starts.sort(by), ...contains.sort(by)].slice(0, limit);
}

/** insertCanned puts text where the token was; the caret goes after it. */
export function insertCanned(text: string, tok: SlashToken, replacement: string): { text: string; caret: number } {
  const out = text.slice(0, tok.start) + replacement + text.slice(tok.end);
  return { text: out, caret: tok.start + replacement.length };
}

/** TemplateContext is what a canned reply's {{ }} may name, as in flow texts. */
export interface TemplateContext {
  contact?: Record<string, unknown>;
  vars?: Record<string, unknown>;
  score?: number;
  segment?: string;
  tags?: string[];
  /** operator is the operator's own profile ({{ operator.name }}). */
  operator?: Record<string, unknown>;
}

/**
 * renderPreview fills {{ name }}, {{ contact.first_name }} and other plain
 * paths from the conversation, the way the server renders flow texts; an
 * expression it cannot read (an operator, a call) stays as written, so the
 * operator sees what is left for them to fill. A missing value renders as ''
 * (as the server renders a nil).
 */
export function renderPreview(text: string, ctx: TemplateContext): string {
  return text.replace(/\{\{\s*([\s\S]*?)\s*\}\}/g, (whole, expr: string) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(expr)) return whole;
    const v = lookup(ctx, expr.split('.'));
    if (v === undefined || v === null) return '';
    if (Array.isArray(v)) return v.join(', ');
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  });
}

function lookup(ctx: TemplateContext, path: string[]): unknown {
  const [head, ...rest] = path;
  let v: unknown;
  switch (head) {
    case 'contact':
    case 'operator':
      v = ctx[head];
      break;
    case 'score':
    case 'segment':
    case 'tags':
      v = ctx[head];
      break;
    default:
      v = ctx.vars?.[head];
  }
  for (const k of rest) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}
