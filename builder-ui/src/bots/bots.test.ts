import { describe, expect, it } from 'vitest';
import { badInterval, hoursOf, rowsOf, validTime, weekdays } from './week';
import { deepLink, embedSnippet, hostedLink, payloadRule, previewURL } from './share';
import { en, ru } from './strings';
import { conflictKey, signsOperators, switches, withOperatorNames } from './channelSettings';

describe('channel settings', () => {
  it("signs operators' messages unless the setting says off", () => {
    expect(signsOperators(undefined)).toBe(true);
    expect(signsOperators({})).toBe(true);
    expect(signsOperators({ operator_names: 'on' })).toBe(true);
    expect(signsOperators({ operator_names: 'off' })).toBe(false);
  });
  it('keeps the other settings when the switch changes (the API replaces them whole)', () => {
    expect(withOperatorNames({ title: 'Кофейня' }, false)).toEqual({ title: 'Кофейня', operator_names: 'off' });
    expect(withOperatorNames(undefined, true)).toEqual({ operator_names: 'on' });
    expect(switches.has('operator_names')).toBe(true);
  });
  it('words each conflict of the bots API', () => {
    expect(conflictKey('bot shop exists')).toBe('botTaken');
    expect(conflictKey('the bot was changed by someone else: reload it and make your change again')).toBe('botChangedElsewhere');
    expect(conflictKey('changed by someone else, reload and retry')).toBe('botChangedElsewhere');
    expect(conflictKey('bot shop has a Telegram channel already: remove it first')).toBe('alreadyConnected');
  });
});

describe('working hours', () => {
  it('round-trips stored hours through the rows, closed days left out', () => {
    const stored = { mon: [{ start: '09:00', end: '18:00' }], fri: [{ start: '22:00', end: '02:00' }] };
    const rows = rowsOf(stored);
    expect(rows).toHaveLength(7);
    expect(rows.filter((r) => r.open).map((r) => r.day)).toEqual(['mon', 'fri']);
    expect(hoursOf(rows)).toEqual(stored);
  });
  it('checks times as the server does', () => {
    expect(validTime('09:00', false)).toBe(true);
    expect(validTime('9:00', false)).toBe(false);
    expect(validTime('24:00', false)).toBe(false);
    expect(validTime('24:00', true)).toBe(true);
    expect(validTime('12:60', true)).toBe(false);
    expect(badInterval({ start: '10:00', end: '10:00' })).toBe('empty');
    expect(badInterval({ start: '22:00', end: '02:00' })).toBe('');
    expect(badInterval({ start: '25:00', end: '02:00' })).toBe('start');
  });
  it('fills the working week', () => {
    expect(Object.keys(hoursOf(weekdays()))).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
  });
});

describe('share', () => {
  it('builds an embed snippet with the look, escaped', () => {
    const s = embedSnippet('https://bots.example.com', 'shop', { title: 'Кофе "у нас"', color: '#ff0000', position: 'left' }, 'site');
    expect(s).toBe(
      '<script src="https://bots.example.com/widget/voronka-widget.js" data-bot="shop" data-title="Кофе &quot;у нас&quot;" data-accent="#ff0000" data-position="left" data-source="site" async></script>',
    );
    expect(embedSnippet('http://x', 'b', {})).toBe('<script src="http://x/widget/voronka-widget.js" data-bot="b" async></script>');
  });
  it('builds links that carry a source', () => {
    expect(hostedLink('https://b.example', 'shop', 'insta bio')).toBe('https://b.example/c/shop?source=insta%20bio');
    expect(deepLink('https://t.me/shop_bot?start={payload}', 'ad_1')).toBe('https://t.me/shop_bot?start=ad_1');
    expect(payloadRule.test('ad_1-x')).toBe(true);
    expect(payloadRule.test('ad 1')).toBe(false);
    expect(previewURL('shop', { title: 'Hi', greeting: '' })).toBe('/c/shop?preview=1&title=Hi');
  });
});

describe('strings', () => {
  it('has every key in both languages', () => {
    for (const k of Object.keys(ru)) expect((en as Record<string, string>)[k], k).toBeTruthy();
  });
});
