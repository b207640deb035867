// How a bot's channel and its state are said in the builder.
import type { ChannelInfo } from './api';
import { translate, type Lang } from './i18n';

export type Tone = 'ok' | 'wait' | 'warn' | 'bad';

export interface ChannelView {
  /** name is the channel's name: Telegram, Веб-чат… */
  name: string;
  /** state is the state in words: работает, нет связи… */
  state: string;
  tone: Tone;
  /** title is the details for the tooltip: since when, the error, the next attempt, what to do. */
  title: string;
}

const tones: Record<ChannelInfo['state'], Tone> = { connected: 'ok', connecting: 'wait', degraded: 'warn', failed: 'bad' };

/** wait says a duration the way the builder does elsewhere: "4 с", "2 мин". */
function wait(lang: Lang, ms: number): string {
  const secs = Math.max(1, Math.ceil(ms / 1000));
  return secs >= 60 ? `${Math.ceil(secs / 60)} ${translate(lang, 'minutesShort')}` : `${secs} ${translate(lang, 'secondsShort')}`;
}

function clock(lang: Lang, iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang === 'ru' ? 'ru-RU' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}

/** channelView says one channel's state in lang, as of now. */
export function channelView(ch: ChannelInfo, lang: Lang, now: Date): ChannelView {
  const name = translate(lang, 'channel_' + ch.type).replace(/^channel_/, '') || ch.type;
  const state = translate(lang, 'channelState_' + ch.state).replace(/^channelState_/, '');
  const lines: string[] = [`${name}: ${state} (${translate(lang, 'channelSince').replace('{t}', clock(lang, ch.since))})`];
  if (ch.account) lines.push(translate(lang, 'channelAccount').replace('{t}', ch.account));
  if (ch.last_error) lines.push(ch.last_error);
  if (ch.state === 'degraded') {
    if (ch.next_retry) {
      const ms = new Date(ch.next_retry).getTime() - now.getTime();
      lines.push(ms > 500 ? translate(lang, 'channelRetry').replace('{t}', wait(lang, ms)) : translate(lang, 'channelRetryNow'));
    }
    lines.push(translate(lang, 'channelDegradedHint'));
  }
  if (ch.state === 'failed') lines.push(translate(lang, 'channelFailedHint'));
  return { name, state, tone: tones[ch.state] ?? 'warn', title: lines.join('\n') };
}

/** allConnected tells whether nothing needs a closer look (and polling can slow down). */
export function allConnected(chs: readonly ChannelInfo[]): boolean {
  return chs.every((c) => c.state === 'connected');
}
