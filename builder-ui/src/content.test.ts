import { describe, expect, it } from 'vitest';
import { blockSummary, detailLine, durationWords, exitLabel, mainText } from './content';
import { translate } from './i18n';

const ru = (k: string) => translate('ru', k);
const vars = [{ name: 'бюджет', type: 'number' }];

describe('blocks in words', () => {
  it('names exits in Russian, conditions in words', () => {
    expect(exitLabel({ handle: 'next', kind: 'field', label: 'next' }, vars, ru)).toBe('Дальше');
    expect(exitLabel({ handle: 'else', kind: 'field', label: 'else' }, vars, ru)).toBe('Иначе');
    expect(exitLabel({ handle: 'on_fail', kind: 'field', label: 'on_fail' }, vars, ru)).toBe('Не справился');
    expect(exitLabel({ handle: 'timeout.next', kind: 'timeout', label: '2h' }, vars, ru)).toBe('Нет ответа 2 ч');
    expect(exitLabel({ handle: 'branches[0].next', kind: 'branch', label: 'бюджет >= 100000 && "vip" in tags' }, vars, ru)).toBe(
      'бюджет не меньше 100000 и есть тег «vip»',
    );
    expect(exitLabel({ handle: 'branches[0].next', kind: 'branch', label: 'segment == "hot"' }, vars, ru)).toBe('сегмент равно горячий');
    expect(exitLabel({ handle: 'branches[0].next', kind: 'branch', label: 'contact.channel == "whatsapp"' }, vars, ru)).toBe('канал равно WhatsApp');
    expect(exitLabel({ handle: 'branches[0].next', kind: 'branch', label: 'contact.channel == "vk"' }, vars, ru)).toBe('канал равно ВКонтакте');
  });
  it('says what a block does', () => {
    expect(mainText({ type: 'delay', for: '1h30m' }, ru)).toBe('ждать 1 ч 30 мин');
    expect(mainText({ type: 'score', add: 10 }, ru)).toBe('+10 баллов');
    expect(detailLine({ type: 'question', text: 'Бюджет?', expect: 'number', save: 'бюджет' }, ru)).toBe('ответ: число → бюджет');
    expect(durationWords('soon', ru)).toBe('soon');
  });
  it('names a block in pickers by its type and first words', () => {
    expect(blockSummary({ type: 'question', text: 'Какой у вас бюджет на продвижение в месяц, в рублях?' }, 'ask_budget', ru)).toBe(
      'Вопрос: Какой у вас бюджет на продвижение в…',
    );
    expect(blockSummary({ type: 'condition' }, 'check', ru)).toBe('Условие (check)');
  });
});
