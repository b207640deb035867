import { describe, expect, it } from 'vitest';
import { insertCanned, matchCanned, renderPreview, slashToken } from './canned';

describe('slashToken', () => {
  it('finds a /word at the start of the text or after a space', () => {
    expect(slashToken('/pri', 4)).toEqual({ start: 0, end: 4, query: 'pri' });
    expect(slashToken('Hello /цен', 10)).toEqual({ start: 6, end: 10, query: 'цен' });
    expect(slashToken('/', 1)).toEqual({ start: 0, end: 1, query: '' });
  });
  it('ignores a slash inside a word or an address, and a finished word', () => {
    expect(slashToken('see https://x.ru/price', 22)).toBeNull();
    expect(slashToken('a/b', 3)).toBeNull();
    expect(slashToken('/price ', 7)).toBeNull();
  });
});

const list = [
  { shortcut: 'price', title: 'Цены', text: 'Тарифы: Старт — 990 ₽' },
  { shortcut: 'hello', title: 'Приветствие', text: 'Здравствуйте, {{ contact.first_name }}!' },
  { shortcut: 'delivery', title: 'Доставка', text: 'Доставим за 2 дня, цена включена' },
];

describe('matchCanned', () => {
  it('puts shortcuts that start with the query first, then any that mention it', () => {
    expect(matchCanned(list, 'pr').map((c) => c.shortcut)).toEqual(['price']);
    expect(matchCanned(list, 'цен').map((c) => c.shortcut)).toEqual(['delivery', 'price']);
    expect(matchCanned(list, '').map((c) => c.shortcut)).toEqual(['delivery', 'hello', 'price']);
  });
});

describe('insertCanned', () => {
  it('replaces the /word and puts the caret after the reply', () => {
    const tok = slashToken('Ok. /pri', 8)!;
    expect(insertCanned('Ok. /pri', tok, 'Тарифы')).toEqual({ text: 'Ok. Тарифы', caret: 10 });
  });
});

describe('renderPreview', () => {
  const ctx = {
    contact: { first_name: 'Анна' },
    vars: { budget: 150000, plan: { name: 'Бизнес' } },
    score: 70,
    segment: 'hot',
    tags: ['buyer', 'hot'],
    operator: { name: 'Ольга' },
  };
  it('fills names, variables, score, tags and the operator as flow texts do', () => {
    expect(renderPreview('{{contact.first_name}}, бюджет {{ budget }} ({{ segment }}, {{ score }}), {{ plan.name }}; {{ tags }}. {{ operator.name }}', ctx)).toBe(
      'Анна, бюджет 150000 (hot, 70), Бизнес; buyer, hot. Ольга',
    );
  });
  it('leaves an expression it cannot read as written and a missing value empty', () => {
    expect(renderPreview('{{ budget * 2 }} / {{ phone }}.', ctx)).toBe('{{ budget * 2 }} / .');
  });
});
