// Working hours as the page edits them: one row per day, open or closed,
// with one interval; and the checks the server makes, so a mistake shows
// at the field before anything is sent.
import type { Day, Interval, WorkingHours } from './api';

export const days: Day[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export interface DayRow {
  day: Day;
  open: boolean;
  start: string;
  end: string;
}

/** rowsOf turns stored working hours into one row per day (the first interval of each). */
export function rowsOf(w: WorkingHours | undefined): DayRow[] {
  return days.map((day) => {
    const iv = w?.[day]?.[0];
    return iv ? { day, open: true, start: iv.start, end: iv.end } : { day, open: false, start: '09:00', end: '18:00' };
  });
}

/** hoursOf turns rows back into working hours: closed days are left out. */
export function hoursOf(rows: DayRow[]): WorkingHours {
  const out: WorkingHours = {};
  for (const r of rows) if (r.open) out[r.day] = [{ start: r.start, end: r.end }];
  return out;
}

const clock = /^([01]\d|2[0-4]):([0-5]\d)$/;

/** validTime says whether s is a time of day like 09:00 (24:00 only as an end). */
export function validTime(s: string, end: boolean): boolean {
  const m = clock.exec(s);
  if (!m) return false;
  if (m[1] === '24') return end && m[2] === '00';
  return true;
}

/** badInterval names what is wrong with an interval, or '' when nothing is. */
export function badInterval(iv: Interval): '' | 'start' | 'end' | 'empty' {
  if (!validTime(iv.start, false)) return 'start';
  if (!validTime(iv.end, true)) return 'end';
  if (iv.start === iv.end) return 'empty';
  return '';
}

/** weekdays fills Monday to Friday with one interval and closes the weekend. */
export function weekdays(start = '09:00', end = '18:00'): DayRow[] {
  return days.map((day) => ({ day, open: day !== 'sat' && day !== 'sun', start, end }));
}
