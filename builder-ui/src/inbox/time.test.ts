import { describe, expect, it } from 'vitest';
import { waited } from './time';

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
