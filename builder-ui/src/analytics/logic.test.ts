import { describe, expect, it } from 'vitest';
import type { Report } from './api';
import { csvPath, queryString } from './api';
import { canvasCounts, defaultPeriod, edgeKey, funnelSteps, heatCells, maxOf, num, pct, pValue } from './logic';

const report = (over: Partial<Report>): Report =>
  ({
    from: '2026-12-01',
    to: '2026-12-03',
    started: 4,
    funnel: {},
    peak_hours: Array.from({ length: 7 }, () => Array(24).fill(0)),
    ...over,
  }) as Report;

describe('funnelSteps', () => {
  const r = report({
    funnel: {
      welcome: { entered: 4, exits: { ask: 4 }, drop_off: 0 },
      ask: { entered: 4, exits: { budget: 3 }, drop_off: 1 },
      budget: { entered: 3, exits: { phone: 2, bye: 1 }, drop_off: 0 },
      bye: { entered: 1, exits: {}, drop_off: 1 },
      phone: { entered: 2, exits: {}, drop_off: 2 },
      orphan: { entered: 1, exits: {}, drop_off: 1 },
    },
  });
  it('walks the flow from start, the most taken exit first, then the rest by entered', () => {
    expect(funnelSteps(r, 'welcome').map((s) => s.node)).toEqual(['welcome', 'ask', 'budget', 'phone', 'bye', 'orphan']);
  });
  it('gives the share of started runs and the drop-off', () => {
    const s = funnelSteps(r, 'welcome')[2];
    expect(s).toEqual({ node: 'budget', entered: 3, percent: 75, dropOff: 0 });
  });
  it('has no percentages when nothing started', () => {
    expect(funnelSteps({ ...r, started: 0 }, 'welcome')[0].percent).toBeNull();
  });
});

describe('canvasCounts', () => {
  it('puts entered and share on nodes and exits on edges', () => {
    const c = canvasCounts(report({ funnel: { a: { entered: 4, exits: { b: 3 }, drop_off: 1 }, b: { entered: 3, exits: {}, drop_off: 3 } } }));
    expect(c.nodes.a).toEqual({ entered: 4, percent: 100 });
    expect(c.nodes.b.percent).toBe(75);
    expect(c.edges[edgeKey('a', 'b')]).toBe(3);
  });
});

describe('heatmap', () => {
  it('makes an [hour, weekday, count] cell per hour of the week', () => {
    const peak = Array.from({ length: 7 }, () => Array(24).fill(0));
    peak[0][9] = 5;
    peak[6][23] = 2;
    const cells = heatCells(peak);
    expect(cells).toHaveLength(168);
    expect(cells).toContainEqual([9, 0, 5]);
    expect(cells).toContainEqual([23, 6, 2]);
    expect(maxOf(cells)).toBe(5);
  });
});

describe('formatting', () => {
  it('says n/a where the platform reports nothing', () => {
    expect(pct(null, 'н/д')).toBe('н/д');
    expect(num(undefined, 'н/д')).toBe('н/д');
    expect(pct(0.5, 'н/д')).toBe('50%');
    expect(pct(0.053, 'н/д')).toBe('5.3%');
  });
  it('marks significant p-values', () => {
    expect(pValue(0.01, '-')).toEqual({ text: '0.010', significant: true });
    expect(pValue(0.2, '-')).toEqual({ text: '0.200', significant: false });
    expect(pValue(0.00001, '-').text).toBe('< 0.001');
    expect(pValue(null, '-')).toEqual({ text: '-', significant: false });
  });
  it('covers the last 30 days by default', () => {
    expect(defaultPeriod(new Date(2026, 11, 3))).toEqual({ from: '2026-11-04', to: '2026-12-03' });
  });
});

describe('API paths', () => {
  it('passes the filters and asks tables as CSV', () => {
    const q = { from: '2026-12-01', to: '2026-12-03', flow: 'lead', source: '' };
    expect(queryString(q)).toBe('from=2026-12-01&to=2026-12-03&flow=lead&source=');
    expect(csvPath('shop', q, 'funnel')).toBe('/api/bots/shop/analytics?from=2026-12-01&to=2026-12-03&flow=lead&source=&format=csv&table=funnel');
    expect(csvPath('shop', { from: 'a', to: 'b' }, 'by_source')).toContain('by=source');
  });
});
