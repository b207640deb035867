// Pure helpers of the analytics page: funnel steps in flow order, counts on
// the canvas, the heatmap's cells, and how numbers are shown.
import type { Report } from './api';

/** FunnelStep is one node of the funnel chart. */
export interface FunnelStep {
  node: string;
  entered: number;
  percent: number | null; // of started
  dropOff: number;
}

/**
 * funnelSteps orders the funnel's nodes as a person walks the flow: from
 * start, each node's most taken exit first (breadth-first), then any node
 * not reached that way, by entered.
 */
export function funnelSteps(r: Report, start?: string): FunnelStep[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const queue = start && r.funnel[start] ? [start] : [];
  while (queue.length) {
    const n = queue.shift()!;
    if (seen.has(n)) continue;
    seen.add(n);
    order.push(n);
    const exits = Object.entries(r.funnel[n]?.exits ?? {}).sort((a, b) => b[1] - a[1]);
    for (const [next] of exits) if (r.funnel[next] && !seen.has(next)) queue.push(next);
  }
  const rest = Object.keys(r.funnel)
    .filter((n) => !seen.has(n))
    .sort((a, b) => r.funnel[b].entered - r.funnel[a].entered || a.localeCompare(b));
  return [...order, ...rest].map((node) => ({
    node,
    entered: r.funnel[node].entered,
    percent: r.started ? (r.funnel[node].entered / r.started) * 100 : null,
    dropOff: r.funnel[node].drop_off,
  }));
}

/** CanvasCounts are the figures drawn on the canvas. */
export interface CanvasCounts {
  /** nodes: entered and % of started, by node id */
  nodes: Record<string, { entered: number; percent: number | null }>;
  /** edges: runs that went from source to target, by "source→target" */
  edges: Record<string, number>;
}

export function canvasCounts(r: Report): CanvasCounts {
  const nodes: CanvasCounts['nodes'] = {};
  const edges: CanvasCounts['edges'] = {};
  for (const [id, f] of Object.entries(r.funnel)) {
    nodes[id] = { entered: f.entered, percent: r.started ? (f.entered / r.started) * 100 : null };
    for (const [to, n] of Object.entries(f.exits)) edges[edgeKey(id, to)] = n;
  }
  return { nodes, edges };
}

export const edgeKey = (from: string, to: string) => `${from}→${to}`;

/** heatCells are [hour, weekday, count] for the heatmap, Monday first. */
export function heatCells(peak: number[][]): [number, number, number][] {
  const out: [number, number, number][] = [];
  peak.forEach((hours, d) => hours.forEach((n, h) => out.push([h, d, n])));
  return out;
}

export function maxOf(cells: [number, number, number][]): number {
  return cells.reduce((m, c) => Math.max(m, c[2]), 0);
}

/** pct shows a 0..1 rate as a percentage, or n/a when there is none. */
export function pct(rate: number | null | undefined, na: string): string {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return na;
  return `${(rate * 100).toFixed(rate * 100 < 10 ? 1 : 0)}%`;
}

/** num shows a count or a measure, or n/a. */
export function num(n: number | null | undefined, na: string, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return na;
  return n.toLocaleString('ru-RU', { maximumFractionDigits: digits });
}

/** pValue shows a p-value; under 0.05 it is marked significant. */
export function pValue(p: number | null | undefined, na: string): { text: string; significant: boolean } {
  if (p === null || p === undefined) return { text: na, significant: false };
  return { text: p < 0.001 ? '< 0.001' : p.toFixed(3), significant: p < 0.05 };
}

/** defaultPeriod is the last 30 days up to today (local dates). */
export function defaultPeriod(today: Date): { from: string; to: string } {
  const to = new Date(today);
  const from = new Date(today);
  from.setDate(from.getDate() - 29);
  return { from: isoDay(from), to: isoDay(to) };
}

export function isoDay(d: Date): string {
  const m = String(d.getMonth() + 1).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, '0');
  return `${d.getFullYear()}-${m}-${day}`;
}
