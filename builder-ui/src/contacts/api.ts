// The contacts API (GET /api/bots/{bot}/contacts): pages of leads and the CSV export.
import type { SegmentFilter } from '../broadcasts/api';
import { getJSON, queryPath } from '../lib/pages';

export interface Contact {
  id: string;
  name: string;
  channel: string;
  chat: string;
  username?: string;
  phone?: string;
  email?: string;
  score: number;
  segment?: string;
  tags: string[];
  status?: string;
  source?: string;
  utm?: Record<string, string>;
  first_seen?: string;
  last_seen?: string;
  consent: { subscribed?: boolean; at?: string; source?: string };
  blocked?: boolean;
  flow?: string;
  node?: string;
  vars: Record<string, unknown>;
}

/** Filters are the table's filters, as the API names them. */
export interface Filters {
  q?: string;
  segment?: string;
  tag?: string;
  status?: string;
  source?: string;
  channel?: string;
  score_min?: string;
  score_max?: string;
  from?: string;
  to?: string;
  sort?: string;
}

/** contactsPath is the list's URL for filters (empty ones left out). */
export const contactsPath = (bot: string, f: Filters, extra: Record<string, string> = {}) =>
  queryPath(`/api/bots/${encodeURIComponent(bot)}/contacts`, { ...f }, extra);

export const csvPath = (bot: string, f: Filters) => contactsPath(bot, f, { format: 'csv' });

/** Page is one page of leads and the filter as a segment keeps it ("save as segment" posts it). */
export interface Page {
  contacts: Contact[];
  next: string;
  filter: SegmentFilter;
}

export function listContacts(bot: string, f: Filters, cursor = '', limit = 100): Promise<Page> {
  return getJSON<Page>(contactsPath(bot, f, cursor ? { limit: String(limit), cursor } : { limit: String(limit) }));
}

/** isSegment says whether the filters make a segment: some filter set, and no search (a search is not kept in a segment). */
export const isSegment = (f: Filters) => !f.q?.trim() && Object.entries(f).some(([k, v]) => k !== 'sort' && k !== 'q' && v);

/** varText shows a variable's value in a cell. */
export function varText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
