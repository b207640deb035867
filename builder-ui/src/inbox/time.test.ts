import { describe, expect, it } from 'vitest';
import { clock, waited } from './time';

const u = { now: 'сейчас', min: 'мин', h: 'ч', d: 'дн' };
const now = Date.parse('2026-12-03T18:00:00Z');
const ago = (ms: number) => new Date(now - ms).toISOString();

describe('waited', () => {
  it.each([
    [30_000, 'сейчас'],
    [12 * 60_000, '12 мин'],
    [125 * 60_000, '2 ч 5 мин'],
    [120 * 60_000, '2 ч'],
    [11 * 3600_000 + 5 * 60_000, '11 ч'],
    [3 * 86400_000 + 3600_000, '3 дн'],
  ])('%d ms → %s', (ms, want) => {
    expect(waited(ago(ms), now, u)).toBe(want);
  });
  it('says nothing for a missing or broken time and never goes negative', () => {
    expect(waited(undefined, now, u)).toBe('');
    expect(waited('soon', now, u)).toBe('');
    expect(waited(new Date(now + 60_000).toISOString(), now, u)).toBe('сейчас');
  });
});

describe('clock', () => {
  it('is the time today and the date before, in the given language', () => {
    const t = new Date(2026, 11, 3, 9, 5).getTime();
    expect(clock(new Date(2026, 11, 3, 8, 7).toISOString(), t, 'ru')).toBe('08:07');
    expect(clock(new Date(2026, 10, 30, 8, 7).toISOString(), t, 'ru')).toBe('30 нояб.');
    expect(clock(new Date(2026, 10, 30, 8, 7).toISOString(), t, 'en')).toBe('Nov 30');
    expect(clock(undefined, t, 'ru')).toBe('');
  });
});
