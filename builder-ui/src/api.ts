// The builder's client of the Voronka REST API: cookie session plus the
// CSRF token the session answers, echoed on every state-changing request.
import type { FlowDoc, Problem, Spec } from './model';

export interface User {
  id: string;
  login: string;
  name?: string;
  role: 'admin' | 'marketer' | 'operator';
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

let csrf = '';

export async function call<T>(method: string, path: string, body?: string, contentType = 'application/json'): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = contentType;
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const resp = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  const text = await resp.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!resp.ok) {
    const e = (data ?? {}) as { error?: string; details?: unknown };
    throw new ApiError(resp.status, e.error ?? resp.statusText, e.details);
  }
  return data as T;
}

interface SessionAnswer {
  user: User;
  csrf: string;
}

export async function session(): Promise<User | null> {
  try {
    const s = await call<SessionAnswer>('GET', '/api/session');
    csrf = s.csrf;
    return s.user;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function login(loginName: string, password: string): Promise<User> {
  const s = await call<SessionAnswer>('POST', '/api/login', JSON.stringify({ login: loginName, password }));
  csrf = s.csrf;
  return s.user;
}

export async function logout(): Promise<void> {
  await call('POST', '/api/logout');
  csrf = '';
}

export const getSpec = () => call<Spec>('GET', '/api/spec');

export interface BotInfo {
  id: string;
  name: string;
  flow_id?: string;
  settings?: { time_zone?: string };
}
export const listBots = () => call<{ bots: BotInfo[] }>('GET', '/api/bots').then((r) => r.bots);

/** ChannelInfo is one channel of a bot and its state (GET /api/bots/{bot}/channels). */
export interface ChannelInfo {
  id: string;
  type: string;
  state: 'connecting' | 'connected' | 'degraded' | 'failed';
  since: string;
  last_error?: string;
  next_retry?: string;
  account?: string;
  mode?: string;
}
export const listChannels = (bot: string) =>
  call<{ channels: ChannelInfo[] }>('GET', `/api/bots/${enc(bot)}/channels`).then((r) => r.channels);

export interface FlowInfo {
  id: string;
  name?: string;
  running: boolean;
  draft: boolean;
  latest_version?: number;
  /** errors and warnings of the draft when it was saved */
  errors?: number;
  warnings?: number;
}
export const listFlows = (bot: string) =>
  call<{ flows: FlowInfo[] }>('GET', `/api/bots/${enc(bot)}/flows`).then((r) => r.flows);

function enc(s: string): string {
  return encodeURIComponent(s);
}

export interface Draft {
  json: FlowDoc | null;
  doc: string;
  problems: Problem[];
}
export const getDraft = (bot: string, flow: string) => call<Draft>('GET', `/api/bots/${enc(bot)}/flows/${enc(flow)}/draft`);

export const deleteDraft = (bot: string, flow: string) =>
  call<{ ok: boolean }>('DELETE', `/api/bots/${enc(bot)}/flows/${enc(flow)}/draft`);

export const putDraft = (bot: string, flow: string, doc: FlowDoc) =>
  call<{ ok: boolean; problems: Problem[] }>('PUT', `/api/bots/${enc(bot)}/flows/${enc(flow)}/draft`, JSON.stringify(doc));

/** validate checks a document; with bot, buttons are held to that bot's channels. */
export const validate = (doc: FlowDoc, bot?: string) =>
  call<{ ok: boolean; problems: Problem[] }>('POST', bot ? `/api/validate?bot=${enc(bot)}` : '/api/validate', JSON.stringify(doc));

export const publish = (bot: string, flow: string) =>
  call<{ version: number }>('POST', `/api/bots/${enc(bot)}/flows/${enc(flow)}/publish`, JSON.stringify({}));

/** publishDoc publishes a given document, e.g. an old version (rollback). */
export const publishDoc = (bot: string, flow: string, yaml: string) =>
  call<{ version: number }>('POST', `/api/bots/${enc(bot)}/flows/${enc(flow)}/publish`, yaml, 'application/yaml');

export interface VersionInfo {
  version: number;
  note?: string;
  published_at: string;
  published_by?: string;
}
export const listVersions = (bot: string, flow: string) =>
  call<{ versions: VersionInfo[] | null }>('GET', `/api/bots/${enc(bot)}/flows/${enc(flow)}/versions`).then(
    (r) => r.versions ?? [],
  );

export const getVersion = (bot: string, flow: string, v: number) =>
  call<{ json: FlowDoc | null; doc: string }>('GET', `/api/bots/${enc(bot)}/flows/${enc(flow)}/versions/${v}`);

export async function exportYaml(bot: string, flow: string): Promise<string> {
  const resp = await fetch(`/api/bots/${enc(bot)}/flows/${enc(flow)}/export?format=yaml`, { credentials: 'same-origin' });
  if (!resp.ok) throw new ApiError(resp.status, await resp.text());
  return resp.text();
}

export const importYaml = (bot: string, yaml: string) =>
  call<{ id: string; json: FlowDoc | null; problems: Problem[]; yaml: string }>(
    'POST',
    `/api/import?bot=${enc(bot)}`,
    yaml,
    'application/yaml',
  );

export interface Conversation {
  id: string;
  node?: string;
  status?: string;
  score?: number;
  segment?: string;
  tags?: string[];
  vars?: Record<string, unknown>;
}
export const getConversation = (id: string) =>
  // Colons stay as they are: the server does not unescape path parameters.
  call<{ conversation: Conversation }>('GET', `/api/conversations/${id.split(':').map(enc).join(':')}?limit=1`).then(
    (r) => r.conversation,
  );

/** previewBot asks for the signed bot id that runs the draft of a flow. */
export const previewBot = (bot: string, flow: string) =>
  call<{ bot: string }>('GET', `/api/bots/${enc(bot)}/flows/${enc(flow)}/preview`).then((r) => r.bot);

export type Role = User['role'];
export const roles: readonly Role[] = ['admin', 'marketer', 'operator'];

export interface UserInfo extends User {
  created_at?: string;
  /** queues are the operator teams the user takes chats from. */
  queues?: string[];
  /** capacity is how many chats the user holds at once (10 when unset). */
  capacity?: number;
}
export const listUsers = () => call<{ users: UserInfo[] }>('GET', '/api/users').then((r) => r.users);

export const createUser = (u: { login: string; name?: string; role: Role; password: string; queues?: string[]; capacity?: number }) =>
  call<UserInfo>('POST', '/api/users', JSON.stringify(u));

/** updateUser changes the given fields; a new role or password signs the user out elsewhere. */
export const updateUser = (
  id: string,
  change: { name?: string; role?: Role; password?: string; queues?: string[]; capacity?: number },
) =>
  call<UserInfo>('PUT', `/api/users/${enc(id)}`, JSON.stringify(change));

export const deleteUser = (id: string) => call<{ ok: boolean }>('DELETE', `/api/users/${enc(id)}`);
