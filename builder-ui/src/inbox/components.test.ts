import { createElement, type ReactElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { I18nContext, dictionaries, translate, type I18n, type Lang } from '../i18n';
import { splitQueues } from '../Users';
import { Actions } from './Actions';
import { appended, loaded, openChat } from './chat';
import { ChatView } from './ChatView';
import { item, line } from './fixtures';
import { LeadCard, parseVar, showVar } from './LeadCard';
import type { Card, ConversationDetail } from './types';
import { displayName, initials, systemText } from './util';

function i18n(lang: Lang): I18n {
  return { lang, t: (k) => dictionaries[lang][k], tr: (k) => translate(lang, k), setLang: () => {} };
}
const render = (lang: Lang, el: ReactElement) => renderToStaticMarkup(createElement(I18nContext.Provider, { value: i18n(lang) }, el));
const me = 'u-me';
const now = Date.parse('2026-12-03T18:10:00Z');
const conv: ConversationDetail = { ...item(1), id: 'shop:web:1', name: 'Анна', status: 'handoff' };

function chatMarkup(lang: Lang) {
  let s = loaded(openChat(conv.id), conv, [
    line('1', 'in', 'Позвать оператора', '2026-12-03T18:01:00Z'),
    line('2', 'bot', 'Зову менеджера', '2026-12-03T18:01:01Z', { delivery: 'sent', buttons: [{ label: 'Отмена' }] }),
    line('3', 'system', 'Assigned to Olga', '2026-12-03T18:02:00Z', { event: 'assigned', data: { user: 'u-me', user_name: 'Ольга' } }),
    line('4', 'operator', 'Здравствуйте!', '2026-12-03T18:03:00Z', { delivery: 'failed', error: 'chat not found', author: { id: me, name: 'Ольга' } }),
    line('5', 'note', 'Клиент из VK', '2026-12-03T18:04:00Z', { author: { id: 'u-2', name: 'Пётр' } }),
  ]);
  s = appended(s, line('6', 'operator', 'Ещё раз', '2026-12-03T18:05:00Z', { delivery: 'pending', author: { id: me, name: 'Ольга' } }));
  return render(lang, createElement(ChatView, { chat: s, me, now, actions: null, composer: null, error: '', onBack: () => {}, onCard: () => {}, cardOpen: false }));
}

describe('ChatView', () => {
  it('draws customer, bot, operator, note and system lines apart, each with who wrote it', () => {
    const html = chatMarkup('ru');
    for (const dir of ['in', 'bot', 'operator', 'note']) expect(html).toContain(`class="ibx-msg ${dir}"`);
    expect(html).toContain('Клиент</div><div class="ibx-msg-text">Позвать оператора');
    expect(html).toContain('Бот</div><div class="ibx-msg-text">Зову менеджера');
    expect(html).toContain('Заметка · Пётр');
    expect(html).toContain('Чат назначен: Ольга');
    expect(html).toMatch(/class="ibx-msg operator"[^]*?вы<\/div>/);
  });
  it('shows each reply\'s delivery state and why one failed', () => {
    const html = chatMarkup('ru');
    expect(html).toContain('data-delivery="sent"');
    expect(html).toContain('⚠ не доставлено: chat not found');
    expect(html).toContain('… отправляется');
  });
  it('speaks English one click away', () => {
    const html = chatMarkup('en');
    expect(html).toContain('Customer</div>');
    expect(html).toContain('Assigned to Ольга');
    expect(html).toContain('⚠ not delivered: chat not found');
  });
});

describe('Actions', () => {
  const acts = (c: ConversationDetail) =>
    render(
      'ru',
      createElement(Actions, {
        conversation: c,
        me,
        isAdmin: false,
        operators: [],
        queues: [],
        nodes: [],
        busy: false,
        on: { take: () => {}, transfer: () => {}, unassign: () => {}, resolve: () => {}, handback: () => {} },
      }),
    );
  it('offers take on a waiting chat, not on one already mine or someone else\'s', () => {
    expect(acts(conv)).toContain('data-action="take"');
    expect(acts({ ...conv, inbox: { ...conv.inbox!, state: 'assigned', assignee: me } })).not.toContain('data-action="take"');
    expect(acts({ ...conv, inbox: { ...conv.inbox!, state: 'assigned', assignee: 'u-x' } })).not.toContain('data-action="take"');
  });
  it('resolve and hand back only while the chat is handed off; take on a bot-held chat', () => {
    const html = acts({ ...conv, inbox: { ...conv.inbox!, state: 'assigned', assignee: me } });
    expect(html).toContain('data-action="resolve"');
    expect(html).toContain('data-action="handback"');
    const bot = acts({ ...conv, status: 'waiting', inbox: { ...conv.inbox!, state: 'resolved' } });
    expect(bot).not.toContain('data-action="resolve"');
    expect(bot).not.toContain('data-action="handback"');
    expect(bot).toContain('data-action="take"');
  });
});

describe('LeadCard', () => {
  const card: Card = {
    id: conv.id,
    bot: 'shop',
    channel: 'telegram',
    chat: '12345',
    contact: { first_name: 'Анна', username: 'anna', phone: '+79990001122' },
    name: 'Анна',
    source: 'ads-vk',
    score: 70,
    segment: 'hot',
    tags: ['buyer'],
    vars: { budget: 150000 },
    var_types: { budget: 'number', phone: 'string' },
    note: 'Бюджет 150000, баллы 70',
    flow: { id: 'lead-qualification', version: 3, node: 'to_manager' },
    bot_transcript: [line('b1', 'bot', 'Ваш бюджет?', '2026-12-03T18:00:00Z'), line('b2', 'in', '150000', '2026-12-03T18:00:10Z')],
  };
  it('shows profile, source, score, segment, tags, every declared variable, the handoff note and the bot part', () => {
    const html = render('ru', createElement(LeadCard, { card, now, onTags: async () => true, onVar: async () => true, onClose: () => {} }));
    for (const s of ['@anna', '+79990001122', 'ads-vk', 'горячий', 'data-tag="buyer"', 'data-var="budget"', 'data-var="phone"', 'value="150000"', 'Бюджет 150000, баллы 70', 'Разговор с ботом (2)', '<b>Клиент:</b> 150000', 'Telegram']) {
      expect(html).toContain(s);
    }
  });
});

describe('helpers', () => {
  it('parseVar types what was typed by the variable\'s type', () => {
    expect(parseVar('number', '150 000')).toBe(150000);
    expect(parseVar('number', '1,5')).toBe(1.5);
    expect(parseVar('number', 'много')).toBe('много');
    expect(parseVar('bool', 'да')).toBe(true);
    expect(parseVar('list', 'a, b')).toEqual(['a', 'b']);
    expect(parseVar('object', '{"a":1}')).toEqual({ a: 1 });
    expect(parseVar('string', ' x ')).toBe(' x ');
    expect(parseVar('number', '  ')).toBeNull();
    expect(showVar({ a: 1 })).toBe('{"a":1}');
  });
  it('splitQueues reads a list typed with commas or spaces, once each', () => {
    expect(splitQueues('sales, support  sales,')).toEqual(['sales', 'support']);
    expect(splitQueues(' ')).toEqual([]);
  });
  it('displayName names a nameless web visitor by the end of their chat id', () => {
    expect(displayName({ id: 'demo:web:PtFCGBTQSOt_XlSPnYwoVA', name: 'PtFCGBTQSOt_XlSPnYwoVA', channel: 'web' }, 'Посетитель')).toBe('Посетитель #woVA');
    expect(displayName({ id: 'demo:web:abc', name: 'Анна', channel: 'web' }, 'Посетитель')).toBe('Анна');
    expect(displayName({ id: 'shop:telegram:42', name: '42', channel: 'telegram' }, 'Посетитель')).toBe('42');
  });
  it('initials take the first letters of two words, skipping @, + and #', () => {
    expect(initials('Иван Петров')).toBe('ИП');
    expect(initials('Visitor #538A')).toBe('V5');
    expect(initials('@sergey_m')).toBe('S');
    expect(initials('')).toBe('?');
  });
  it('systemText falls back to the server\'s text for an event it does not know', () => {
    const tr = (k: string) => translate('ru', k);
    expect(systemText(line('x', 'system', 'Something new', '2026-12-03T18:00:00Z', { event: 'merged' }), tr, (q) => q)).toBe('Something new');
    expect(systemText(line('x', 'system', '', '2026-12-03T18:00:00Z', { event: 'csat', data: { score: 5 } }), tr, (q) => q)).toBe('Оценка клиента: 5 из 5');
    expect(systemText(line('x', 'system', '', '2026-12-03T18:00:00Z', { event: 'handback', data: { user_name: 'Ольга' } }), tr, (q) => q)).toBe('Чат возвращён боту (Ольга)');
    expect(systemText(line('x', 'system', '', '2026-12-03T18:00:00Z', { event: 'resolved', data: {} }), tr, (q) => q)).toBe('Чат закрыт');
  });
});
