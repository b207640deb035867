// The broadcasts API: segments with live counts, broadcasts and their actions.
import * as app from '../api';

export type Status = 'draft' | 'scheduled' | 'running' | 'paused' | 'done' | 'cancelled';
export type Action = 'start' | 'pause' | 'resume' | 'cancel';

export interface SegmentFilter {
  segments?: string[];
  tags?: string[];
  score_min?: number;
  score_max?: number;
  channels?: string[];
  expr?: string;
  source?: string;
  first_seen_from?: string;
  first_seen_to?: string;
  last_seen_from?: string;
  last_seen_to?: string;
  goals?: string[];
  statuses?: string[];
}

export interface Segment {
  id: string;
  bot: string;
  name: string;
  filter: SegmentFilter;
}

export interface Count {
  members: number;
  reachable: number;
  contacts: number;
}

export interface Button {
  label: string;
  node: string;
}

export interface Variant {
  name: string;
  weight: number;
  text: string;
  buttons?: Button[];
}

/** Template is an approved WhatsApp template, for recipients outside the 24-hour window. */
export interface Template {
  name: string;
  language: string;
  params?: string[];
}

export interface Progress {
  total: number;
  sent: number;
  failed: number;
  skipped?: Record<string, number>;
  unconfirmed?: number;
  variants?: Record<string, number>;
}

export interface Broadcast {
  id: string;
  bot: string;
  name: string;
  status: Status;
  mode?: 'message' | 'flow';
  variants?: Variant[];
  no_unsubscribe?: boolean;
  node?: string;
  segment?: string;
  start_at?: string;
  window?: { start: string; end: string };
  template?: Template;
  wait_until?: string;
  progress: Progress;
  error?: string;
  created_at?: string;
}

export interface VariantResult {
  name: string;
  sent: number;
  presses: number;
  goals: number;
  unsubscribes: number;
}

/** Draft is what the compose form sends (POST /api/bots/{bot}/broadcasts). */
export interface Draft {
  name: string;
  mode: 'message' | 'flow';
  variants: Variant[];
  no_unsubscribe: boolean;
  node?: string;
  segment?: string;
  start_at?: string;
  window?: { start: string; end: string };
  template?: Template;
  start?: boolean;
}

/** Problem is one thing the server refused, by field. */
export interface Problem {
  field: string;
  message: string;
}

/** call sends body as JSON with the session's CSRF token (the app's client). */
const call = <T,>(method: string, path: string, body?: unknown) => app.call<T>(method, path, body === undefined ? undefined : JSON.stringify(body));

const bot = (b: string) => `/api/bots/${encodeURIComponent(b)}`;

export const listSegments = (b: string) => call<{ segments: Segment[] }>('GET', `${bot(b)}/segments`).then((r) => r.segments);
export const createSegment = (b: string, name: string, filter: SegmentFilter) =>
  call<Segment>('POST', `${bot(b)}/segments`, { name, filter });
export const saveSegment = (b: string, id: string, name: string, filter: SegmentFilter) =>
  call<Segment>('PUT', `${bot(b)}/segments/${id}`, { name, filter });
export const deleteSegment = (b: string, id: string) => call<void>('DELETE', `${bot(b)}/segments/${id}`);
export const countFilter = (b: string, filter: SegmentFilter) => call<Count>('POST', `${bot(b)}/segments/count`, filter);

export const listBroadcasts = (b: string) => call<{ broadcasts: Broadcast[] }>('GET', `${bot(b)}/broadcasts`).then((r) => r.broadcasts);
export const getBroadcast = (b: string, id: string) =>
  call<{ broadcast: Broadcast; results?: VariantResult[] }>('GET', `${bot(b)}/broadcasts/${id}`);
export const createBroadcast = (b: string, d: Draft) => call<Broadcast>('POST', `${bot(b)}/broadcasts`, d);
export const act = (id: string, a: Action) => call<Broadcast>('POST', `/api/broadcasts/${id}/${a}`);
export const testSend = (id: string, chat: string, variant: number) =>
  call<{ sent: boolean }>('POST', `/api/broadcasts/${id}/test`, { chat, variant });

/** problemsOf reads the per-field problems of a 422, if that is what e is. */
export function problemsOf(e: unknown): Problem[] {
  if (e instanceof app.ApiError && e.status === 422 && Array.isArray(e.details)) return e.details as Problem[];
  return [];
}
