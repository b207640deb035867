// The contacts API (GET /api/bots/{bot}/contacts): pages of leads and the CSV export.
import { ApiError } from '../api';

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
  score_min?: string;
  score_max?: string;
  from?: string;
  to?: string;
  sort?: string;
}

/** contactsPath is the list's URL for filters (empty ones left out). */
export function contactsPath(bot: string, f: Filters, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== '') p.set(k, v);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  const qs = p.toString();
  return `/api/bots/${encodeURIComponent(bot)}/contacts${qs ? '?' + qs : ''}`;
}

export const csvPath = (bot: string, f: Filters) => contactsPath(bot, f, { format: 'csv' });

export async function listContacts(bot: string, f: Filters, cursor = '', limit = 100): Promise<{ contacts: Contact[]; next: string }> {
  const extra: Record<string, string> = { limit: String(limit) };
  if (cursor) extra.cursor = cursor;
  const resp = await fetch(contactsPath(bot, f, extra), { credentials: 'same-origin' });
  const data = (await resp.json().catch(() => ({}))) as { contacts: Contact[]; next: string; error?: string; details?: unknown };
  if (!resp.ok) throw new ApiError(resp.status, data.error ?? resp.statusText, data.details);
  return data;
}

/** varText shows a variable's value in a cell. */
export function varText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
