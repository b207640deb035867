import { describe, expect, it } from 'vitest';
import { translate } from '../i18n';
import { channels, channelWord, leadSegments, segmentWord, statuses, statusWord } from './labels';

describe('the words of a lead’s fixed values', () => {
  const ru = (k: string) => translate('ru', k);
  const en = (k: string) => translate('en', k);
  it('are Russian in the Russian interface, for every value the filters offer', () => {
    for (const s of leadSegments) expect(segmentWord(ru, s), s).toMatch(/^[а-яё ]+$/);
    for (const s of statuses) expect(statusWord(ru, s), s).toMatch(/^[а-яё ]+$/);
    expect(channels.map((c) => channelWord(ru, c))).toEqual(['Telegram', 'Веб-чат', 'WhatsApp', 'Viber', 'ВКонтакте']);
  });
  it('are English one click away', () => {
    expect(leadSegments.map((s) => segmentWord(en, s))).toEqual(['hot', 'warm', 'cold']);
    expect(statusWord(en, 'handoff')).toBe('with an operator');
    expect(channelWord(en, 'web')).toBe('Web chat');
  });
  it('show an unknown value as it is', () => {
    expect(segmentWord(ru, 'vip')).toBe('vip');
    expect(channelWord(ru, 'max')).toBe('max');
  });
});
