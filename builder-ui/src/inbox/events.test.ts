import { describe, expect, it } from 'vitest';
import { live, type SourceLike } from './events';

class FakeSource implements SourceLike {
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closed = false;
  listeners = new Map<string, ((ev: MessageEvent) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, fn: (ev: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  emit(type: string, data: string, id = '') {
    for (const fn of this.listeners.get(type) ?? []) fn({ data, lastEventId: id } as MessageEvent);
  }
  /** drop is a lost connection EventSource retries by itself. */
  drop() {
    this.readyState = 0;
    this.onerror?.(new Event('error'));
  }
  /** refuse is an answer EventSource gives up on (401, 502). */
  refuse() {
    this.readyState = 2;
    this.onerror?.(new Event('error'));
  }
}

function harness() {
  const sources: FakeSource[] = [];
  const pending: { fn: () => void; ms: number }[] = [];
  const log: string[] = [];
  const stop = live({
    url: '/api/inbox/events',
    types: ['conversation', 'message'],
    onEvent: (type, data, id) => log.push(`${type}#${id}:${JSON.stringify(data)}`),
    onOpen: (again) => log.push(again ? 'reopen' : 'open'),
    onDown: () => log.push('down'),
    open: (url) => {
      const s = new FakeSource(url);
      sources.push(s);
      return s;
    },
    timers: { set: (fn, ms) => pending.push({ fn, ms }), clear: () => pending.splice(0) },
  });
  return { sources, pending, log, stop };
}

describe('live', () => {
  it('hands over named events with their data parsed', () => {
    const h = harness();
    h.sources[0].open();
    h.sources[0].emit('message', '{"text":"hi"}', '7');
    h.sources[0].emit('conversation', 'not json', '8');
    h.sources[0].emit('typing', '{}');
    expect(h.log).toEqual(['open', 'message#7:{"text":"hi"}', 'conversation#8:"not json"']);
  });

  it('lets EventSource retry a dropped connection and reports the reopen', () => {
    const h = harness();
    h.sources[0].open();
    h.sources[0].drop();
    expect(h.pending).toHaveLength(0);
    h.sources[0].open();
    expect(h.sources).toHaveLength(1);
    expect(h.log).toEqual(['open', 'down', 'reopen']);
  });

  it('opens a new stream after a refused one, waiting longer each time, and resets once open', () => {
    const h = harness();
    h.sources[0].open();
    h.sources[0].refuse();
    expect(h.sources[0].closed).toBe(true);
    expect(h.pending.map((p) => p.ms)).toEqual([1000]);
    h.pending.shift()!.fn();
    h.sources[1].refuse();
    h.pending.shift()!.fn();
    h.sources[2].refuse();
    expect(h.pending.map((p) => p.ms)).toEqual([4000]);
    h.pending.shift()!.fn();
    h.sources[3].open();
    h.sources[3].refuse();
    expect(h.pending.map((p) => p.ms)).toEqual([1000]);
    expect(h.log).toEqual(['open', 'down', 'reopen', 'down']);
  });

  it('stops for good: no retry, the stream closed', () => {
    const h = harness();
    h.sources[0].refuse();
    expect(h.pending).toHaveLength(1);
    h.stop();
    expect(h.pending).toHaveLength(0);
    expect(h.sources[0].closed).toBe(true);
  });
});
