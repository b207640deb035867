import { describe, expect, it } from 'vitest';
import { dayEnd, dayOf, dayStart } from './zone';

describe('days in the bot’s time zone', () => {
  it('start when the bot’s clock says midnight, as the server reads the leads page’s days', () => {
    expect(dayStart('2026-12-10', 'Europe/Moscow')).toBe('2026-12-09T21:00:00.000Z');
    expect(dayStart('2026-12-10')).toBe('2026-12-10T00:00:00.000Z');
    expect(dayStart('2026-03-08', 'America/New_York')).toBe('2026-03-08T05:00:00.000Z'); // the night the clocks go forward
    expect(dayStart('2026-03-09', 'America/New_York')).toBe('2026-03-09T04:00:00.000Z');
  });
  it('read a saved instant back as its day', () => {
    expect(dayOf('2026-12-09T21:00:00.000Z', 'Europe/Moscow')).toBe('2026-12-10');
    expect(dayOf('2026-12-09T21:00:00.000Z')).toBe('2026-12-09');
  });
  it('end at the last instant before the next midnight, as the server bounds a day', () => {
    expect(dayEnd('2026-12-10', 'Europe/Moscow')).toBe('2026-12-10T20:59:59.999999999Z');
    expect(dayOf(dayEnd('2026-12-31', 'Europe/Moscow'), 'Europe/Moscow')).toBe('2026-12-31');
  });
});
