// The inbox's live connection: GET /api/inbox/events as Server-Sent Events.
// EventSource reconnects by itself after a dropped connection; after a
// refused one (401, 5xx, a proxy's error page) it gives up, so this wrapper
// opens a new one with a growing pause. Every (re)open is reported, so the
// page can reload what it may have missed while it was away.

/** SourceLike is the part of EventSource used here (tests pass a fake). */
export interface SourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, fn: (ev: MessageEvent) => void): void;
  close(): void;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface LiveOptions {
  url: string;
  /** types are the event names to listen to (the `event:` field). */
  types: readonly string[];
  onEvent: (type: string, data: unknown, id: string) => void;
  /** onOpen runs on every open; `again` is false the first time. */
  onOpen?: (again: boolean) => void;
  /** onDown runs when the connection is lost (once per loss). */
  onDown?: () => void;
  open?: (url: string) => SourceLike;
  timers?: Timers;
  /** backoff gives the pause before the nth retry of a refused connection (n from 0). */
  backoff?: (n: number) => number;
}

const CLOSED = 2;

/** defaultBackoff is 1 s doubling to 15 s. */
export const defaultBackoff = (n: number) => Math.min(15000, 1000 * 2 ** n);

/** live opens the stream and keeps it open until the returned function is called. */
export function live(o: LiveOptions): () => void {
  const open = o.open ?? ((u: string) => new EventSource(u, { withCredentials: true }) as unknown as SourceLike);
  const timers = o.timers ?? { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
  const backoff = o.backoff ?? defaultBackoff;
  let src: SourceLike | null = null;
  let retry: unknown = null;
  let failures = 0;
  let opened = false;
  let up = false;
  let stopped = false;

  const connect = () => {
    retry = null;
    if (stopped) return;
    const s = open(o.url);
    src = s;
    s.onopen = () => {
      failures = 0;
      up = true;
      o.onOpen?.(opened);
      opened = true;
    };
    s.onerror = () => {
      if (stopped || src !== s) return;
      if (up) {
        up = false;
        o.onDown?.();
      }
      if (s.readyState === CLOSED) {
        s.close();
        src = null;
        retry = timers.set(connect, backoff(failures++));
      }
    };
    for (const type of o.types) {
      s.addEventListener(type, (ev: MessageEvent) => {
        let data: unknown = ev.data;
        try {
          data = JSON.parse(String(ev.data));
        } catch {
          /* not JSON: hand over the text */
        }
        o.onEvent(type, data, ev.lastEventId ?? '');
      });
    }
  };
  connect();
  return () => {
    stopped = true;
    if (retry !== null) timers.clear(retry);
    src?.close();
    src = null;
  };
}
