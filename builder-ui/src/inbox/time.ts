// Waiting times and message times in the inbox.

/** Units are the short words for minutes, hours and days in the page's language. */
export interface Units {
  now: string;
  min: string;
  h: string;
  d: string;
}

/**
 * waited says how long since `since`: "сейчас" under a minute, then "12 мин",
 * "2 ч 5 мин" (minutes left out from 10 hours on), "3 дн".
 */
export function waited(since: string | number | Date | undefined, now: number, u: Units): string {
  if (since === undefined || since === '') return '';
  const t = new Date(since).getTime();
  if (!Number.isFinite(t)) return '';
  const mins = Math.floor(Math.max(0, now - t) / 60000);
  if (mins < 1) return u.now;
  if (mins < 60) return `${mins} ${u.min}`;
  const h = Math.floor(mins / 60);
  if (h < 24) return h >= 10 || mins % 60 === 0 ? `${h} ${u.h}` : `${h} ${u.h} ${mins % 60} ${u.min}`;
  return `${Math.floor(h / 24)} ${u.d}`;
}

// Formatters are made once per language: making one costs more than
// formatting with it, and the list formats a time per row it draws.
const formats = new Map<string, { time: Intl.DateTimeFormat; day: Intl.DateTimeFormat }>();
function formatsFor(lang: string) {
  let f = formats.get(lang);
  if (!f) {
    f = {
      time: new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
      day: new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'short' }),
    };
    formats.set(lang, f);
  }
  return f;
}

/** clock is HH:MM today, else the day and month, in the browser's time zone. */
export function clock(at: string | undefined, now: number, lang: string): string {
  if (!at) return '';
  const d = new Date(at);
  if (!Number.isFinite(d.getTime())) return '';
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const f = formatsFor(lang);
  return sameDay ? f.time.format(d) : f.day.format(d);
}
