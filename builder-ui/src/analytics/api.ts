// The analytics API (GET /api/bots/{bot}/analytics): the report and its CSV tables.
import { getJSON } from '../lib/pages';

export interface Goal {
  count: number;
  rate: number | null;
  value: number;
}
export interface FunnelNode {
  entered: number;
  exits: Record<string, number>;
  drop_off: number;
}
export interface Variant {
  entered: number;
  goals: Record<string, number>;
}
export interface SplitReport {
  variants: Record<string, Variant>;
  p_values: Record<string, number | null>;
}
export interface Delivery {
  sent: number;
  delivered: number | null;
  read: number | null;
  failed: number;
  delivered_rate: number | null;
  read_rate: number | null;
}
export interface Report {
  from: string;
  to: string;
  started: number;
  dialogs: number;
  active_now: number;
  messages: { in: number; bot: number; operator: number };
  auto_ratio: number | null;
  goals: Record<string, Goal>;
  funnel: Record<string, FunnelNode>;
  variants: Record<string, SplitReport>;
  response_time: {
    bot_p50_ms: number | null;
    bot_p90_ms: number | null;
    bot_replies: number;
    operator_first_p50_s: number | null;
    operator_first_p90_s: number | null;
    operator_first_responses: number;
    resolution_p50_s: number | null;
    resolution_p90_s: number | null;
    resolved: number;
  };
  csat: { score: number | null; responses: number; surveys: number };
  delivery: Record<string, Delivery>;
  sessions: { count: number; median_s: number | null; mean_s: number | null };
  peak_hours: number[][];
  unsubscribes: number;
  unsubscribe_rate: number | null;
  handoffs: number;
  by_source?: Record<string, Report>;
}

/** Query is what a report covers. */
export interface Query {
  from: string;
  to: string;
  flow?: string;
  source?: string;
}

export type Table = 'summary' | 'goals' | 'funnel' | 'variants' | 'delivery' | 'peak_hours' | 'by_source';

/** queryString is the API's query for q (and a CSV table). */
export function queryString(q: Query, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  p.set('from', q.from);
  p.set('to', q.to);
  if (q.flow) p.set('flow', q.flow);
  if (q.source !== undefined) p.set('source', q.source);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

export function reportPath(bot: string, q: Query, extra?: Record<string, string>): string {
  return `/api/bots/${encodeURIComponent(bot)}/analytics?${queryString(q, extra)}`;
}

/** csvPath downloads one table of the report as CSV. */
export function csvPath(bot: string, q: Query, table: Table): string {
  return reportPath(bot, q, table === 'by_source' ? { format: 'csv', table, by: 'source' } : { format: 'csv', table });
}

export const getReport = (bot: string, q: Query) => getJSON<Report>(reportPath(bot, q, { by: 'source' }));
