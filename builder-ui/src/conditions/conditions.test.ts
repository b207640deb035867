import { describe, expect, it } from 'vitest';
import { compile, describe as words, opsFor, parse, subjectKinds, valueKind, type Rows, type VarInfo } from './conditions';
import * as strings from './strings';

const vars: VarInfo[] = [
  { name: 'бюджет', type: 'number' },
  { name: 'city', type: 'string' },
  { name: 'vip', type: 'bool' },
  { name: 'when_at', type: 'date' },
];

describe('rows compile to expr-lang and parse back', () => {
  const cases: [string, Rows, string][] = [
    ['number', { join: 'and', rows: [{ kind: 'var', name: 'бюджет', op: 'ge', value: '100 000' }] }, 'бюджет >= 100000'],
    ['score and tag', { join: 'and', rows: [{ kind: 'score', op: 'gt', value: '30' }, { kind: 'tag', op: 'has', value: 'buyer' }] }, 'score > 30 && "buyer" in tags'],
    ['or of text', { join: 'or', rows: [{ kind: 'var', name: 'city', op: 'eq', value: 'Москва' }, { kind: 'var', name: 'city', op: 'contains', value: 'Петер' }] }, 'city == "Москва" || city contains "Петер"'],
    ['empty and bool', { join: 'and', rows: [{ kind: 'var', name: 'city', op: 'empty', value: '' }, { kind: 'var', name: 'vip', op: 'isTrue', value: '' }] }, 'city == "" && vip == true'],
    ['segment, channel, no tag', { join: 'and', rows: [{ kind: 'segment', op: 'eq', value: 'hot' }, { kind: 'channel', op: 'ne', value: 'web' }, { kind: 'tag', op: 'hasNot', value: 'spam' }] }, 'segment == "hot" && contact.channel != "web" && "spam" not in tags'],
    ['source', { join: 'and', rows: [{ kind: 'source', op: 'starts', value: 'promo' }] }, 'contact.source startsWith "promo"'],
    ['a quote in a value', { join: 'and', rows: [{ kind: 'var', name: 'city', op: 'eq', value: 'say "hi"' }] }, 'city == "say \\"hi\\""'],
  ];
  for (const [name, rows, expr] of cases) {
    it(name, () => {
      expect(compile(rows, vars)).toBe(expr);
      const back = parse(expr, vars);
      expect(back).not.toBeNull();
      expect(compile(back as Rows, vars)).toBe(expr);
    });
  }

  it('reads expressions written by hand that fit the rows', () => {
    expect(parse("score>=10 and 'vip' in tags", vars)).toEqual({
      join: 'and',
      rows: [
        { kind: 'score', op: 'ge', value: '10' },
        { kind: 'tag', op: 'has', value: 'vip' },
      ],
    });
    expect(parse('!("x" in tags)', vars)?.rows[0]).toEqual({ kind: 'tag', op: 'hasNot', value: 'x' });
    expect(parse('vip != true', vars)?.rows[0]).toEqual({ kind: 'var', name: 'vip', op: 'isFalse', value: '' });
    expect(parse('', vars)).toEqual({ join: 'and', rows: [] });
  });

  it('leaves anything else an expression', () => {
    for (const e of [
      'score > 10 && vip == true || city == "x"', // mixed И and ИЛИ
      '(score > 10)',
      'len(city) > 3',
      'бюджет * 2 > 10',
      'бюджет == "много"', // a text against a number
      'city > 3',
      'unknown == 1', // not declared
      'when_at == "2024-01-01"', // a date: no rows for it
      'score > 10 &&',
      '"a" in tags && "b',
    ]) {
      expect(parse(e, vars), e).toBeNull();
    }
  });

  it('counts a number that is not one as 0, so the expression stays valid', () => {
    expect(compile({ join: 'and', rows: [{ kind: 'score', op: 'ge', value: 'много' }] }, vars)).toBe('score >= 0');
  });

  it('words a condition for the canvas', () => {
    const w = {
      op: (o: string) => ({ ge: 'не меньше', has: 'есть тег', eq: 'равно' })[o] ?? o,
      subject: (r: { kind: string; name?: string }) => (r.kind === 'var' ? (r.name ?? '') : r.kind === 'score' ? 'баллы' : r.kind),
      value: (r: { value: string }) => r.value,
      and: 'и',
      or: 'или',
    };
    expect(words('бюджет >= 100000 && "vip" in tags', vars, w)).toBe('бюджет не меньше 100000 и есть тег «vip»');
    expect(words('len(city) > 3', vars, w)).toBe('len(city) > 3');
  });
});

describe('the source row (where the person came from)', () => {
  it('is on the menu with the other subjects of the issue, named in both languages', () => {
    expect(subjectKinds).toEqual(['score', 'segment', 'tag', 'channel', 'source']);
    for (const k of subjectKinds) {
      expect(strings.ru[`cond_subj_${k}` as keyof typeof strings.ru], k).toMatch(/[а-яё]/i);
      expect(strings.en[`cond_subj_${k}` as keyof typeof strings.en], k).toMatch(/^[A-Za-z ]+$/);
    }
    expect(strings.ru.cond_subj_source).toBe('Источник');
  });

  it('compares as text, to what the engine evaluates (contact.source)', () => {
    expect(opsFor(valueKind('source'))).toEqual(['eq', 'ne', 'contains', 'starts', 'empty', 'notEmpty']);
    const cases: [Rows['rows'][number], string][] = [
      [{ kind: 'source', op: 'eq', value: 'ads_vk' }, 'contact.source == "ads_vk"'],
      [{ kind: 'source', op: 'ne', value: 'seo' }, 'contact.source != "seo"'],
      [{ kind: 'source', op: 'contains', value: 'vk' }, 'contact.source contains "vk"'],
      [{ kind: 'source', op: 'empty', value: '' }, 'contact.source == ""'],
      [{ kind: 'source', op: 'notEmpty', value: '' }, 'contact.source != ""'],
    ];
    for (const [row, expr] of cases) {
      expect(compile({ join: 'and', rows: [row] }, vars)).toBe(expr);
      expect(parse(expr, vars)).toEqual({ join: 'and', rows: [row] });
    }
  });

  it('opens a hand-written condition on the source as rows', () => {
    expect(parse("contact.source=='ads' || score > 5", vars)).toEqual({
      join: 'or',
      rows: [
        { kind: 'source', op: 'eq', value: 'ads' },
        { kind: 'score', op: 'gt', value: '5' },
      ],
    });
    expect(parse('contact.source > 3', vars)).toBeNull(); // a text is not compared as a number
  });
});
