// Small helpers of the inbox's components.
import type { Item, Message } from './types';

/** fill puts values into a string's {name} places. */
export function fill(s: string, vars: Record<string, string | number | undefined>): string {
  return s.replace(/\{(\w+)\}/g, (whole, k: string) => (vars[k] === undefined ? whole : String(vars[k])));
}

/**
 * displayName is how the inbox names a customer: the server's name, except
 * that a web visitor who gave none (named by their chat id, a random token)
 * is "Посетитель #a1b2", the last four characters telling visitors apart.
 */
export function displayName(c: { id: string; name: string; channel: string }, visitor: string): string {
  const chat = c.id.split(':').slice(2).join(':');
  if (c.channel === 'web' && (!c.name || c.name === chat)) return `${visitor} #${chat.slice(-4)}`;
  return c.name || chat;
}

/** initials are up to two letters of a name for the avatar. */
export function initials(name: string): string {
  const words = name
    .split(/\s+/)
    .map((w) => w.replace(/^[^\p{L}\p{N}]+/u, ''))
    .filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0] ?? '');
  return letters.join('').toUpperCase() || '?';
}

/** hue picks a stable colour for a conversation's avatar. */
export function hue(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % 360;
}

/** preview is the list's one line of the last message. */
export function preview(item: Item): string {
  const t = item.inbox?.last?.text ?? '';
  return t.length > 120 ? t.slice(0, 119) + '…' : t;
}

/**
 * systemText says a system line (assignment, resolve, hand-back) in the
 * page's language from its event and data; the server's English text is the
 * fallback for an event this page does not know.
 */
export function systemText(m: Message, tr: (key: string) => string, queueName: (q: string) => string): string {
  const d = (m.data ?? {}) as Record<string, unknown>;
  const s = (k: string) => (typeof d[k] === 'string' || typeof d[k] === 'number' ? String(d[k]) : '');
  const key = `inboxEvent_${m.event ?? ''}`;
  const template = tr(key);
  if (!m.event || template === key) return m.text ?? '';
  const user = s('user_name') || s('user');
  return fill(template, {
    queue: queueName(s('queue')),
    user,
    target: user || queueName(s('queue')),
    node: s('node') || '—',
    by: user ? ` (${user})` : '',
    score: s('score'),
  });
}

/** isTouch says whether the main pointer is a finger (Enter then makes a new line instead of sending). */
export function isTouch(): boolean {
  return typeof window !== 'undefined' && !!window.matchMedia?.('(pointer: coarse)').matches;
}
