// The bots-and-channels part of the REST API: bots, their settings, their
// channels and what can be connected.
import { call } from '../api';

export interface Interval {
  start: string;
  end: string;
}
export type Day = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export type WorkingHours = Partial<Record<Day, Interval[]>>;

export interface BotSettings {
  time_zone?: string;
  quiet_hours?: Interval;
  working_hours?: WorkingHours;
  allowed_env?: string[];
}

export interface Bot {
  id: string;
  name: string;
  flow_id?: string;
  settings: BotSettings;
  config_as_code?: boolean;
  channels?: { id?: string; type: string }[];
  /** rev counts the bot's writes: a change sent with it is refused (409) once the bot moved on. */
  rev?: number;
}

export interface Health {
  last_error?: string;
  last_error_at?: string;
  pending: number;
  webhook?: string;
}

export interface Channel {
  id: string;
  type: string;
  title: string;
  token?: string;
  settings?: Record<string, string>;
  account?: string;
  link?: string;
  deep_link?: string;
  state: 'connecting' | 'connected' | 'degraded' | 'failed';
  since?: string;
  last_error?: string;
  next_retry?: string;
  mode?: string;
  last_update?: string;
  platform?: Health;
}

export interface ChannelType {
  name: string;
  title: string;
  needs_token: boolean;
  settings: string[];
}

export interface BotChange {
  /** rev, when set, is the revision the change was made on. */
  rev?: number;
  name?: string;
  flow_id?: string;
  settings?: BotSettings & { clear?: ('quiet_hours' | 'working_hours')[] };
}

const enc = encodeURIComponent;

export const listBots = () => call<{ bots: Bot[] }>('GET', '/api/bots').then((r) => r.bots ?? []);
export const createBot = (id: string, name: string) => call<Bot>('POST', '/api/bots', JSON.stringify({ id, name }));
export const updateBot = (id: string, change: BotChange) => call<Bot>('PUT', `/api/bots/${enc(id)}`, JSON.stringify(change));
export const deleteBot = (id: string) => call<void>('DELETE', `/api/bots/${enc(id)}`);

export const listChannels = (bot: string) =>
  call<{ channels: Channel[] }>('GET', `/api/bots/${enc(bot)}/channels`).then((r) => r.channels);
export const addChannel = (bot: string, type: string, token: string, settings?: Record<string, string>) =>
  call<Channel>('POST', `/api/bots/${enc(bot)}/channels`, JSON.stringify({ type, token, settings }));
export const connectChannel = (bot: string, body: { type: string; token: string; secret?: string; api_url?: string; settings: Record<string, string> }) =>
  call<Channel>('POST', `/api/bots/${enc(bot)}/channels`, JSON.stringify(body));
export const updateChannel = (bot: string, id: string, settings: Record<string, string>) =>
  call<Channel>('PUT', `/api/bots/${enc(bot)}/channels/${enc(id)}`, JSON.stringify({ settings }));
export const removeChannel = (bot: string, id: string) => call<void>('DELETE', `/api/bots/${enc(bot)}/channels/${enc(id)}`);
export const channelTypes = () => call<{ types: ChannelType[] }>('GET', '/api/channel-types').then((r) => r.types);
