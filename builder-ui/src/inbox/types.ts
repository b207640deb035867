// The inbox API's shapes (/work/notes/inbox-api.md, version 1; README's HTTP table).

export type InboxState = 'unassigned' | 'assigned' | 'resolved';

/** Inbox is the inbox part of a conversation that has been handed off. */
export interface Inbox {
  state: InboxState;
  queue: string;
  assignee: string;
  assignee_name: string;
  unread: number;
  handoff_at?: string;
  waiting_since?: string;
  assigned_at?: string;
  first_reply_at?: string;
  resolved_at?: string;
  note?: string;
  handoff_node?: string;
  last?: { direction: Direction; text: string; at: string };
  csat?: number;
}

export interface Contact {
  first_name?: string;
  last_name?: string;
  username?: string;
  phone?: string;
  language?: string;
}

/** Item is a list entry, and the payload of the `conversation` event. */
export interface Item {
  id: string;
  bot: string;
  channel: string;
  status?: 'handoff' | 'bot' | 'waiting' | 'ended' | string;
  contact?: Contact;
  name: string;
  inbox?: Inbox | null;
  score?: number;
  segment?: string;
  tags?: string[];
  updated_at?: string;
  last_inbound_at?: string;
  version?: number;
  reason?: string;
}

export interface ConversationDetail extends Item {
  vars?: Record<string, unknown>;
  node?: string;
  flow_id?: string;
  flow_version?: number;
  /** blocked is set once the customer blocked the bot (replies fail). */
  blocked?: boolean;
}

export type Direction = 'in' | 'bot' | 'operator' | 'note' | 'system';
export type Delivery = 'pending' | 'sent' | 'failed' | 'blocked';

export interface Message {
  id: string;
  direction: Direction;
  text?: string;
  buttons?: { label: string; payload?: string }[];
  author?: { id: string; name: string };
  at: string;
  delivery?: Delivery;
  error?: string;
  event?: string;
  data?: Record<string, unknown>;
}

/** CardNode is a node the chat can be handed back to. */
export interface CardNode {
  id: string;
  type: string;
  resume?: boolean;
  text?: string;
  [field: string]: unknown;
}

export interface Card {
  id: string;
  bot: string;
  channel: string;
  chat: string;
  contact?: Contact;
  name: string;
  source?: string;
  score?: number;
  segment?: string;
  tags?: string[];
  vars?: Record<string, unknown>;
  var_types?: Record<string, string>;
  note?: string;
  flow?: { id: string; version: number; node?: string; start?: string };
  nodes?: CardNode[];
  inbox?: Inbox | null;
  bot_transcript?: Message[];
}

export interface Counts {
  mine: number;
  unassigned: number;
  all: number;
  unread_mine: number;
}

export interface Operator {
  id: string;
  login: string;
  name?: string;
  role: string;
  queues?: string[];
  capacity?: number;
  open?: number;
  online?: boolean;
}

export interface Queue {
  name: string;
  unassigned?: number;
  open?: number;
}

export interface Canned {
  id: string;
  bot: string;
  shortcut: string;
  title?: string;
  text: string;
  updated_at?: string;
  updated_by?: string;
}

/** Hello is the first event of the stream. */
export interface Hello {
  user: { id: string; name: string; role: string };
  online: boolean;
  counts: Counts;
}

export interface MessageEvent {
  conversation_id: string;
  message: Message;
}

export interface DeliveryEvent {
  conversation_id: string;
  message_id: string;
  delivery: Delivery;
  error?: string;
}

export interface NotifyEvent {
  conversation_id: string;
  kind: 'assigned_to_me' | 'waiting_in_my_queue';
  item: Item;
}
