// What the bot-scoped pages (analytics, broadcasts, leads) share: the bot
// list, the bot chosen by the URL, a bot picker, a debounced value, JSON
// reads that fail with the server's message, and a CSV download link.
import { useEffect, useState, type ReactNode } from 'react';
import { useNavigate, useParams } from 'react-router';
import * as app from '../api';
import { useI18n } from '../i18n';

/** useBots lists the bots once (none while loading or on an error). */
export function useBots(): app.BotInfo[] {
  const [bots, setBots] = useState<app.BotInfo[]>([]);
  useEffect(() => {
    app.listBots().then(setBots, () => setBots([]));
  }, []);
  return bots;
}

/** usePageBot is the bot the URL names (#/<page>/<bot>), else the first one, and the bots. */
export function usePageBot(): { bot: string; bots: app.BotInfo[] } {
  const params = useParams();
  const bots = useBots();
  return { bot: params.bot ?? bots[0]?.id ?? '', bots };
}

/** useDebounced is value once it has not changed for ms. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

/** BotPicker switches the page to another bot (#/<page>/<bot>). */
export function BotPicker({ page, bot, bots, data, label }: { page: string; bot: string; bots: app.BotInfo[]; data: Record<string, string>; label?: boolean }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const select = (
    <select value={bot} onChange={(e) => navigate(`/${page}/${e.target.value}`)} aria-label={t('anBot')} {...data}>
      {bots.map((b) => (
        <option key={b.id} value={b.id}>
          {b.name || b.id}
        </option>
      ))}
    </select>
  );
  return label ? (
    <label>
      {t('anBot')} {select}
    </label>
  ) : (
    select
  );
}

/** getJSON reads path with the session cookie; a refusal is an ApiError with the server's message. */
export async function getJSON<T>(path: string): Promise<T> {
  const resp = await fetch(path, { credentials: 'same-origin' });
  const data = (await resp.json().catch(() => ({}))) as T & { error?: string; details?: unknown };
  if (!resp.ok) throw new app.ApiError(resp.status, data.error ?? resp.statusText, data.details);
  return data;
}

/** queryPath is path with the set values of params as its query. */
export function queryPath(path: string, ...params: Record<string, string | undefined>[]): string {
  const p = new URLSearchParams();
  for (const ps of params) for (const [k, v] of Object.entries(ps)) if (v !== undefined && v !== '') p.set(k, v);
  const qs = p.toString();
  return qs ? `${path}?${qs}` : path;
}

/** CsvLink downloads a CSV the server streams (the session cookie goes along). */
export function CsvLink({ href, className, data, children }: { href?: string; className: string; data: Record<string, string>; children: ReactNode }) {
  return (
    <a className={className} href={href} download {...data}>
      {children}
    </a>
  );
}

/** message is an error's text for the page. */
export const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
