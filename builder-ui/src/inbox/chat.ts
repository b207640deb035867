// The open conversation: its transcript as loaded, then kept current by the
// live events (a new line, a delivery state). Pure functions.
import type { ConversationDetail, DeliveryEvent, Item, Message } from './types';

export interface ChatState {
  id: string;
  conversation: ConversationDetail | null;
  messages: Message[];
  /** seen holds the ids of the lines shown, so an event that repeats a line adds nothing. */
  seen: Set<string>;
  /** early holds delivery states that came before their line did. */
  early: Map<string, DeliveryEvent>;
}

export function openChat(id: string): ChatState {
  return { id, conversation: null, messages: [], seen: new Set(), early: new Map() };
}

/**
 * loaded takes the transcript as fetched, keeping lines that arrived live
 * while it loaded (they are newer than the fetch, or in it: dropped then).
 */
export function loaded(s: ChatState, conversation: ConversationDetail, messages: Message[]): ChatState {
  const seen = new Set(messages.map((m) => m.id));
  const live = s.messages.filter((m) => !seen.has(m.id));
  let out: ChatState = { ...s, conversation, messages: [], seen: new Set(), early: s.early };
  for (const m of [...messages, ...live]) out = appended(out, m);
  return out;
}

/** appended adds a line in time order (once). */
export function appended(s: ChatState, m: Message): ChatState {
  if (s.seen.has(m.id)) {
    // The same line again (the POST's answer and its event): keep the newer delivery state.
    const i = s.messages.findIndex((x) => x.id === m.id);
    if (i < 0 || !m.delivery || s.messages[i].delivery === m.delivery || rank(s.messages[i].delivery) > rank(m.delivery)) return s;
    const messages = [...s.messages];
    messages[i] = { ...messages[i], delivery: m.delivery, error: m.error };
    return { ...s, messages };
  }
  let msg = m;
  const early = s.early.get(m.id);
  if (early && rank(early.delivery) > rank(m.delivery)) msg = { ...m, delivery: early.delivery, error: early.error };
  const seen = new Set(s.seen);
  seen.add(m.id);
  const messages = [...s.messages];
  let i = messages.length;
  while (i > 0 && messages[i - 1].at > msg.at) i--;
  messages.splice(i, 0, msg);
  return { ...s, messages, seen };
}

/** delivered sets a line's delivery state; one that comes before its line is kept for it. */
export function delivered(s: ChatState, d: DeliveryEvent): ChatState {
  const i = s.messages.findIndex((m) => m.id === d.message_id);
  if (i < 0) {
    const early = new Map(s.early);
    early.set(d.message_id, d);
    return { ...s, early };
  }
  if (rank(s.messages[i].delivery) > rank(d.delivery)) return s;
  const messages = [...s.messages];
  messages[i] = { ...messages[i], delivery: d.delivery, error: d.error };
  return { ...s, messages };
}

/** rank orders delivery states: a final one never goes back to pending. */
function rank(d: string | undefined): number {
  return d === 'pending' ? 1 : d ? 2 : 0;
}

/** withItem updates the conversation's list fields (inbox state, tags) from a live event. */
export function withItem(s: ChatState, item: Item): ChatState {
  if (!s.conversation || item.id !== s.id) return s;
  if (s.conversation.version !== undefined && item.version !== undefined && item.version < s.conversation.version) return s;
  const { reason: _reason, ...rest } = item;
  return { ...s, conversation: { ...s.conversation, ...rest } };
}
