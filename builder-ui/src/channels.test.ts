import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ChannelInfo } from './api';
import { ChannelBadges } from './Channels';
import { allConnected, channelView } from './channels';
import { I18nContext, dictionaries, translate, type I18n, type Lang } from './i18n';

const now = new Date('2026-12-03T15:03:00Z');
const telegram: ChannelInfo = {
  id: 'telegram',
  type: 'telegram',
  state: 'degraded',
  since: '2026-12-03T15:02:46Z',
  last_error: 'telegram: getMe: Bot API error 502: Bad Gateway',
  next_retry: '2026-12-03T15:03:04Z',
  mode: 'polling',
};
const web: ChannelInfo = { id: 'web', type: 'web', state: 'connected', since: '2026-12-03T15:02:40Z', mode: 'socket' };

function i18n(lang: Lang): I18n {
  return { lang, t: (k) => dictionaries[lang][k], tr: (k) => translate(lang, k), setLang: () => {} };
}

function render(lang: Lang, channels: ChannelInfo[] | null): string {
  return renderToStaticMarkup(
    createElement(I18nContext.Provider, { value: i18n(lang) }, createElement(ChannelBadges, { channels, now })),
  );
}

describe('channel states', () => {
  it('says a degraded Telegram channel in Russian with the error, the next attempt and what happens', () => {
    const v = channelView(telegram, 'ru', now);
    expect(v.name).toBe('Telegram');
    expect(v.state).toBe('нет связи');
    expect(v.tone).toBe('warn');
    expect(v.title).toContain('Bad Gateway');
    expect(v.title).toContain('следующая попытка через 4 с');
    expect(v.title).toContain('переподключится');
  });
  it('says it in English too', () => {
    const v = channelView(telegram, 'en', now);
    expect(v.state).toBe('no connection');
    expect(v.title).toContain('next attempt in 4 s');
  });
  it('tells a failed channel apart and says to fix the token', () => {
    const v = channelView({ ...telegram, state: 'failed', next_retry: undefined, last_error: 'the Bot API rejected the token' }, 'ru', now);
    expect([v.state, v.tone]).toEqual(['не работает', 'bad']);
    expect(v.title).toContain('токен');
    expect(v.title).not.toContain('попытка');
  });
  it('names the web chat and a connected bot account', () => {
    expect(channelView(web, 'ru', now)).toMatchObject({ name: 'Веб-чат', state: 'работает', tone: 'ok' });
    expect(channelView({ ...telegram, state: 'connected', last_error: undefined, account: 'shop_bot' }, 'en', now).title).toContain(
      '@shop_bot',
    );
    expect(channelView({ ...telegram, state: 'connecting' }, 'ru', now)).toMatchObject({ state: 'подключается', tone: 'wait' });
  });
  it('has words for every state in both languages', () => {
    for (const lang of ['ru', 'en'] as const) {
      for (const s of ['connecting', 'connected', 'degraded', 'failed']) {
        expect((dictionaries[lang] as Record<string, string>)['channelState_' + s], `${lang} ${s}`).toBeTruthy();
      }
    }
  });
  it('polls calmly only when every channel is connected', () => {
    expect(allConnected([web])).toBe(true);
    expect(allConnected([web, telegram])).toBe(false);
  });
});

describe('ChannelBadges', () => {
  it('shows a badge per channel with its state', () => {
    const html = render('ru', [telegram, web]);
    expect(html).toContain('data-testid="channels"');
    expect(html).toContain('data-channel="telegram" data-state="degraded"');
    expect(html).toContain('Telegram: нет связи');
    expect(html).toContain('Веб-чат: работает');
    expect(html).toContain('class="channel warn"');
  });
  it('speaks English when the builder does', () => {
    expect(render('en', [telegram, web])).toContain('Web chat: connected');
  });
  it('shows nothing before the first answer or for a bot without channels', () => {
    expect(render('ru', null)).toBe('');
    expect(render('ru', [])).toBe('');
  });
});
