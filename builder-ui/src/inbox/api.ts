// The inbox's calls to the API (see types.ts for the shapes).
import { call } from '../api';
import type { Canned, Card, ConversationDetail, Counts, Item, Message, Operator, Queue } from './types';

const e = encodeURIComponent;
/** conv is a conversation's path: colons stay, the rest is escaped. */
const conv = (id: string) => `/api/conversations/${id.split(':').map(e).join(':')}`;

/** ListQuery is GET /api/inbox's query; empty fields are left out. */
export interface ListQuery {
  status?: string;
  assignee?: string;
  queue?: string;
  bot?: string;
  q?: string;
  cursor?: string;
  limit?: number;
}

export function listQuery(q: ListQuery): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const list = (q: ListQuery) => call<{ conversations: Item[] | null; next: string }>('GET', `/api/inbox${listQuery(q)}`);
export const counts = () => call<Counts>('GET', '/api/inbox/counts');
export const operators = () =>
  call<{ operators: Operator[] | null; queues: Queue[] | null }>('GET', '/api/inbox/operators').then((r) => ({
    operators: r.operators ?? [],
    queues: r.queues ?? [],
  }));

/** transcript loads a conversation and its transcript, following pages up to `max` lines. */
export async function transcript(id: string, max = 2000): Promise<{ conversation: ConversationDetail; messages: Message[] }> {
  let cursor = '';
  const messages: Message[] = [];
  for (;;) {
    const r = await call<{ conversation: ConversationDetail; messages: Message[] | null; next: string }>(
      'GET',
      `${conv(id)}?limit=200${cursor ? `&cursor=${e(cursor)}` : ''}`,
    );
    messages.push(...(r.messages ?? []));
    if (!r.next || messages.length >= max) return { conversation: r.conversation, messages };
    cursor = r.next;
  }
}

export const card = (id: string) => call<Card>('GET', `${conv(id)}/card`);
export const patch = (id: string, change: { tags?: string[]; vars?: Record<string, unknown> }) =>
  call<{ conversation: ConversationDetail }>('PATCH', conv(id), JSON.stringify(change));
export const send = (id: string, text: string) => call<{ message: Message }>('POST', `${conv(id)}/messages`, JSON.stringify({ text }));
export const note = (id: string, text: string) => call<{ message: Message }>('POST', `${conv(id)}/notes`, JSON.stringify({ text }));
export const assign = (id: string, body: { to?: string; queue?: string; from?: string }) =>
  call<{ conversation: Item }>('POST', `${conv(id)}/assign`, JSON.stringify(body));
export const read = (id: string) => call<{ ok: boolean }>('POST', `${conv(id)}/read`, '{}');
export const resolve = (id: string, csat: boolean) => call<{ conversation: Item }>('POST', `${conv(id)}/resolve`, JSON.stringify({ csat }));
export const handback = (id: string, goto: string) =>
  call<{ ok: boolean }>('POST', `${conv(id)}/handback`, JSON.stringify(goto ? { goto } : {}));
export const renderCanned = (id: string, canned: string) => call<{ text: string }>('POST', `${conv(id)}/canned/${e(canned)}`, '{}');

export const listCanned = (bot: string) =>
  call<{ canned: Canned[] | null }>('GET', `/api/bots/${e(bot)}/canned`).then((r) => r.canned ?? []);
export const createCanned = (bot: string, c: { shortcut: string; title?: string; text: string }) =>
  call<Canned>('POST', `/api/bots/${e(bot)}/canned`, JSON.stringify(c));
export const updateCanned = (bot: string, id: string, c: { shortcut: string; title?: string; text: string }) =>
  call<Canned>('PUT', `/api/bots/${e(bot)}/canned/${e(id)}`, JSON.stringify(c));
export const deleteCanned = (bot: string, id: string) => call<{ ok: boolean }>('DELETE', `/api/bots/${e(bot)}/canned/${e(id)}`);
