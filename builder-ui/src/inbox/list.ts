// The conversation list as the page holds it: items by id in the server's
// order (newest activity first), the filter that chose them, and how a live
// event changes them. Pure functions; the page keeps the state in a reducer.
import type { ListQuery } from './api';
import type { Item } from './types';

/** View is the tab: my chats, the unassigned ones, or every chat the user may see. */
export type View = 'mine' | 'unassigned' | 'all';
/** StatusFilter narrows by inbox state: open = unassigned or assigned. */
export type StatusFilter = 'open' | 'resolved' | 'all';

export interface Filter {
  view: View;
  status: StatusFilter;
  queue: string;
  q: string;
}

export const defaultFilter: Filter = { view: 'mine', status: 'open', queue: '', q: '' };

/** query is the GET /api/inbox query for a filter. */
export function query(f: Filter): ListQuery {
  return {
    status: f.view === 'unassigned' ? 'unassigned' : f.status,
    assignee: f.view === 'mine' ? 'me' : undefined,
    queue: f.queue || undefined,
    q: f.q.trim() || undefined,
  };
}

/** matches says whether the server would list item for this filter and user, so a live change can add or drop it. */
export function matches(item: Item, f: Filter, me: string): boolean {
  const ib = item.inbox;
  if (!ib) return false;
  if (f.view === 'unassigned' && ib.state !== 'unassigned') return false;
  if (f.view === 'mine' && ib.assignee !== me) return false;
  if (f.view !== 'unassigned') {
    if (f.status === 'open' && ib.state === 'resolved') return false;
    if (f.status === 'resolved' && ib.state !== 'resolved') return false;
  }
  if (f.queue && ib.queue !== f.queue) return false;
  const q = f.q.trim().toLowerCase();
  if (q) {
    const c = item.contact ?? {};
    const hay = [item.name, c.first_name, c.last_name, c.username, c.phone, ib.last?.text].join('\n').toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

/** activity is an item's sort time: its last line, else its last update. */
export function activity(item: Item): string {
  return item.inbox?.last?.at ?? item.updated_at ?? '';
}

/** before says whether a goes above b: newer activity first, then id. */
function before(a: Item, b: Item): boolean {
  const ta = Date.parse(activity(a)) || 0;
  const tb = Date.parse(activity(b)) || 0;
  return ta !== tb ? ta > tb : a.id < b.id;
}

export interface ListState {
  filter: Filter;
  byId: Map<string, Item>;
  order: string[];
  next: string;
  loading: boolean;
  /** stalled is set when a next page failed: no more automatic loads until a reload. */
  stalled: boolean;
  /** generation counts reloads, so a late page of an old filter is dropped. */
  generation: number;
}

export function emptyList(filter: Filter = defaultFilter): ListState {
  return { filter, byId: new Map(), order: [], next: '', loading: true, stalled: false, generation: 0 };
}

export type ListAction =
  | { type: 'filter'; filter: Filter }
  | { type: 'reload' }
  | { type: 'more' }
  | { type: 'page'; generation: number; items: Item[]; next: string; replace: boolean }
  | { type: 'failed'; generation: number; more?: boolean }
  | { type: 'item'; item: Item; me: string }
  | { type: 'unread'; id: string; unread: number };

/** reduce applies an action to the list. */
export function reduce(s: ListState, a: ListAction): ListState {
  switch (a.type) {
    case 'filter':
      return { ...emptyList(a.filter), generation: s.generation + 1 };
    case 'reload':
      return { ...s, loading: true, stalled: false, generation: s.generation + 1 };
    case 'more':
      return { ...s, loading: true };
    case 'failed':
      return a.generation === s.generation ? { ...s, loading: false, stalled: s.stalled || !!a.more } : s;
    case 'page': {
      if (a.generation !== s.generation) return s;
      const byId = a.replace ? new Map<string, Item>() : new Map(s.byId);
      const order = a.replace ? [] : [...s.order];
      for (const it of a.items) {
        if (!byId.has(it.id)) order.push(it.id);
        byId.set(it.id, it);
      }
      return { ...s, byId, order, next: a.next, loading: false };
    }
    case 'item':
      return upsert(s, a.item, a.me);
    case 'unread': {
      const it = s.byId.get(a.id);
      if (!it?.inbox || it.inbox.unread === a.unread) return s;
      const byId = new Map(s.byId);
      byId.set(a.id, { ...it, inbox: { ...it.inbox, unread: a.unread } });
      return { ...s, byId };
    }
  }
}

/**
 * upsert puts a changed conversation where it belongs: dropped when it no
 * longer fits the filter, else placed by its activity. An item older than
 * the last loaded one while more pages remain is left for those pages (it
 * would otherwise show up twice, or out of order).
 */
function upsert(s: ListState, item: Item, me: string): ListState {
  const had = s.byId.has(item.id);
  const old = s.byId.get(item.id);
  // A stale event (an older version of what is shown) changes nothing.
  if (old && old.version !== undefined && item.version !== undefined && item.version < old.version) return s;
  const fits = matches(item, s.filter, me);
  if (!fits && !had) return s;
  const byId = new Map(s.byId);
  let order = had ? s.order.filter((id) => id !== item.id) : [...s.order];
  if (!fits) {
    byId.delete(item.id);
    return { ...s, byId, order };
  }
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(byId.get(order[mid]) as Item, item)) lo = mid + 1;
    else hi = mid;
  }
  if (lo === order.length && s.next !== '') {
    byId.delete(item.id);
    return { ...s, byId, order };
  }
  order = [...order.slice(0, lo), item.id, ...order.slice(lo)];
  const { reason: _reason, ...clean } = item;
  byId.set(item.id, clean);
  return { ...s, byId, order };
}
