import { describe, expect, it } from 'vitest';
import { contactsPath, csvPath, isSegment, varText } from './api';

describe('contacts API paths', () => {
  it('leaves empty filters out and keeps the rest', () => {
    expect(contactsPath('shop', { q: '', segment: 'hot', score_min: '5', sort: '-score' })).toBe('/api/bots/shop/contacts?segment=hot&score_min=5&sort=-score');
    expect(contactsPath('a b', {})).toBe('/api/bots/a%20b/contacts');
  });
  it('exports the same filters as CSV', () => {
    expect(csvPath('shop', { tag: 'vip' })).toBe('/api/bots/shop/contacts?tag=vip&format=csv');
  });
  it('shows variables of any type', () => {
    expect(varText(150000)).toBe('150000');
    expect(varText(null)).toBe('');
    expect(varText({ a: 1 })).toBe('{"a":1}');
    expect(varText('+79991234567')).toBe('+79991234567');
  });
  it('saves as a segment only filters, not a search', () => {
    expect(isSegment({ sort: '-score' })).toBe(false);
    expect(isSegment({ segment: 'hot', sort: '-score' })).toBe(true);
    expect(isSegment({ segment: 'hot', q: 'Анна' })).toBe(false);
    expect(isSegment({ tag: '', from: '2026-12-01' })).toBe(true);
  });
});
