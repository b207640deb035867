// Small hooks of the inbox page.
import { useEffect, useRef, useState } from 'react';

/** useNow is the time, refreshed every `ms` (waiting times count up without events). */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const h = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(h);
  }, [ms]);
  return now;
}

/** useDebounced is value once it has not changed for ms (shared with the other pages). */
export { useDebounced } from '../lib/pages';

/** useLatest keeps a ref to the latest value, for callbacks that outlive a render (the event stream's). */
export function useLatest<T>(value: T) {
  const r = useRef(value);
  r.current = value;
  return r;
}

/** useStored is a state remembered in localStorage under key. */
export function useStored(key: string, initial: boolean): [boolean, (v: boolean) => void] {
  const [v, setV] = useState(() => {
    try {
      const s = localStorage.getItem(key);
      return s === null ? initial : s === '1';
    } catch {
      return initial;
    }
  });
  return [
    v,
    (next: boolean) => {
      setV(next);
      try {
        localStorage.setItem(key, next ? '1' : '0');
      } catch {
        /* storage unavailable */
      }
    },
  ];
}

/** useNarrow says whether the screen is phone-sized (one pane at a time). */
export function useNarrow(px = 760): boolean {
  const q = `(max-width: ${px}px)`;
  const [narrow, setNarrow] = useState(() => typeof window !== 'undefined' && !!window.matchMedia?.(q).matches);
  useEffect(() => {
    const m = window.matchMedia?.(q);
    if (!m) return;
    const on = () => setNarrow(m.matches);
    m.addEventListener('change', on);
    return () => m.removeEventListener('change', on);
  }, [q]);
  return narrow;
}
