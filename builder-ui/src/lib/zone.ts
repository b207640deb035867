// Days in a bot's time zone: the leads page sends days and the server reads
// them in the bot's zone; the segment editor sends instants, so it turns a
// day into the same instant here, and a saved instant back into its day.

const formats = new Map<string, Intl.DateTimeFormat>();

function parts(tz: string, ms: number): Record<string, number> {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formats.set(tz, f);
  }
  return Object.fromEntries(f.formatToParts(new Date(ms)).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
}

/** offset is how far tz's clock is ahead of UTC at the instant ms. */
function offset(tz: string, ms: number): number {
  const p = parts(tz, ms);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - (ms - (ms % 1000));
}

/** dayStart is the instant (ISO) the day (YYYY-MM-DD) starts in tz (UTC when unknown). */
export function dayStart(day: string, tz = 'UTC'): string {
  const local = Date.parse(`${day}T00:00:00Z`);
  let t = local - offset(tz, local);
  t = local - offset(tz, t); // the offset at the day's start, across a clock change
  return new Date(t).toISOString();
}

/** dayOf is the day (YYYY-MM-DD) an instant falls on in tz. */
export function dayOf(iso: string, tz = 'UTC'): string {
  const p = parts(tz, Date.parse(iso));
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** dayEnd is the last instant (ISO, to the nanosecond as the server writes it) of the day in tz: the bounds are inclusive. */
export function dayEnd(day: string, tz = 'UTC'): string {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 36 * 3600 * 1000).toISOString().slice(0, 10);
  return new Date(Date.parse(dayStart(next, tz)) - 1).toISOString().replace(/\.999Z$/, '.999999999Z');
}
