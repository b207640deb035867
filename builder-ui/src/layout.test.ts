import { describe, expect, it } from 'vitest';
import { openingViewport, readableZoom } from './layout';

describe('where a flow opens', () => {
  it('shows a small flow whole, at most at zoom 1', () => {
    const v = openingViewport([{ pos: { x: 0, y: 0 }, height: 100 }, { pos: { x: 0, y: 200 }, height: 100 }], { x: 0, y: 0 }, 1000, 800);
    expect(v.zoom).toBe(1);
  });
  it('never opens a big flow below the readable zoom, and starts at the start block', () => {
    const blocks = Array.from({ length: 500 }, (_, i) => ({ pos: { x: (i % 20) * 280, y: Math.floor(i / 20) * 200 }, height: 120 }));
    const start = { x: 2800, y: 1000 };
    const v = openingViewport(blocks, start, 1000, 800);
    expect(v.zoom).toBe(readableZoom);
    expect(v.zoom * 13).toBeGreaterThanOrEqual(12);
    // The start block is at the top centre of the view.
    expect(start.x * v.zoom + v.x).toBeLessThan(500);
    expect(start.x * v.zoom + v.x).toBeGreaterThan(200);
    expect(start.y * v.zoom + v.y).toBe(40);
  });
});
