import { describe, expect, it } from 'vitest';
import { item } from './fixtures';
import { defaultFilter, emptyList, matches, query, reduce, type Filter, type ListState } from './list';

const me = 'u-me';
const all: Filter = { ...defaultFilter, view: 'all' };

function loaded(filter: Filter, items = [item(0), item(1), item(2)], next = ''): ListState {
  const s = reduce(emptyList(), { type: 'filter', filter });
  return reduce(s, { type: 'page', generation: s.generation, items, next, replace: true });
}

describe('query', () => {
  it('asks the server for what the tab, status, queue and search say', () => {
    expect(query(defaultFilter)).toEqual({ status: 'open', assignee: 'me', queue: undefined, q: undefined });
    expect(query({ view: 'unassigned', status: 'resolved', queue: 'sales', q: ' иван ' })).toEqual({
      status: 'unassigned',
      assignee: undefined,
      queue: 'sales',
      q: 'иван',
    });
  });
});

describe('matches', () => {
  it('keeps to the tab: mine is assigned to me, unassigned is waiting', () => {
    const mine = item(1, {}, { state: 'assigned', assignee: me });
    const theirs = item(2, {}, { state: 'assigned', assignee: 'u-other' });
    const waiting = item(3);
    expect([mine, theirs, waiting].map((i) => matches(i, defaultFilter, me))).toEqual([true, false, false]);
    expect([mine, theirs, waiting].map((i) => matches(i, { ...all, view: 'unassigned' }, me))).toEqual([false, false, true]);
    expect([mine, theirs, waiting].map((i) => matches(i, all, me))).toEqual([true, true, true]);
  });
  it('open hides resolved chats, resolved shows only them', () => {
    const done = item(1, {}, { state: 'resolved' });
    expect(matches(done, all, me)).toBe(false);
    expect(matches(done, { ...all, status: 'resolved' }, me)).toBe(true);
    expect(matches(item(2), { ...all, status: 'resolved' }, me)).toBe(false);
    expect(matches(done, { ...all, status: 'all' }, me)).toBe(true);
  });
  it('searches name, phone and the last message, any case', () => {
    const it = item(0, { name: 'Иван Петров', contact: { first_name: 'Иван', phone: '+79991234567' } }, { last: { direction: 'in', text: 'Нужна ДОСТАВКА', at: '2026-12-03T18:00:00Z' } });
    for (const q of ['петров', '1234', 'доставка']) expect(matches(it, { ...all, q }, me)).toBe(true);
    expect(matches(it, { ...all, q: 'ольга' }, me)).toBe(false);
    expect(matches(it, { ...all, queue: 'support' }, me)).toBe(it.inbox?.queue === 'support');
  });
  it('never lists a chat that was never handed off', () => {
    expect(matches({ ...item(0), inbox: null }, all, me)).toBe(false);
  });
});

describe('reduce', () => {
  it('pages append in the server order; a late page of an old filter is dropped', () => {
    let s = loaded(all, [item(0), item(1)], 'c1');
    const gen = s.generation;
    s = reduce(s, { type: 'page', generation: gen, items: [item(2), item(1)], next: '', replace: false });
    expect(s.order).toEqual([item(0).id, item(1).id, item(2).id]);
    const moved = reduce(s, { type: 'filter', filter: defaultFilter });
    expect(reduce(moved, { type: 'page', generation: gen, items: [item(5)], next: '', replace: false }).order).toEqual([]);
  });

  it('a new message moves a chat to the top; a chat new to the filter comes in at its place', () => {
    let s = loaded(all);
    const newer = item(2, { version: 2 }, { last: { direction: 'in', text: 'ещё вопрос', at: '2026-12-03T18:05:00Z' }, unread: 9 });
    s = reduce(s, { type: 'item', item: { ...newer, reason: 'message' }, me });
    expect(s.order).toEqual([item(2).id, item(0).id, item(1).id]);
    expect(s.byId.get(item(2).id)?.inbox?.unread).toBe(9);
    expect(s.byId.get(item(2).id)).not.toHaveProperty('reason');
    s = reduce(s, { type: 'item', item: { ...item(7), id: 'shop:web:between', inbox: { ...item(7).inbox!, last: { direction: 'in', text: 'x', at: '2026-12-03T17:59:30Z' } } }, me });
    expect(s.order).toEqual([item(2).id, item(0).id, 'shop:web:between', item(1).id]);
  });

  it('a chat taken by someone else leaves "unassigned"; a stale event changes nothing', () => {
    let s = loaded({ ...all, view: 'unassigned' });
    const taken = item(1, { version: 3 }, { state: 'assigned', assignee: 'u-other' });
    s = reduce(s, { type: 'item', item: taken, me });
    expect(s.order).toEqual([item(0).id, item(2).id]);
    expect(s.byId.has(item(1).id)).toBe(false);
    const s2 = reduce(loaded(all, [item(1, { version: 5 })]), { type: 'item', item: item(1, { version: 4 }, { unread: 0 }), me });
    expect(s2.byId.get(item(1).id)?.version).toBe(5);
  });

  it('a chat older than every loaded one waits for its page when more pages remain', () => {
    const s = loaded(all, [item(0), item(1)], 'more');
    const old = reduce(s, { type: 'item', item: item(50), me });
    expect(old.order).toHaveLength(2);
    const end = loaded(all, [item(0), item(1)], '');
    expect(reduce(end, { type: 'item', item: item(50), me }).order).toEqual([item(0).id, item(1).id, item(50).id]);
  });

  it('a failed next page stops further loads until a reload', () => {
    let s = loaded(all, [item(0)], 'more');
    s = reduce(s, { type: 'more' });
    s = reduce(s, { type: 'failed', generation: s.generation, more: true });
    expect([s.loading, s.stalled]).toEqual([false, true]);
    expect(reduce(s, { type: 'reload' }).stalled).toBe(false);
  });

  it('reading a chat clears its badge', () => {
    const s = reduce(loaded(all), { type: 'unread', id: item(1).id, unread: 0 });
    expect(s.byId.get(item(1).id)?.inbox?.unread).toBe(0);
  });
});
