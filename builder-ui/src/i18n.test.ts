import { describe, expect, it } from 'vitest';
import { dictionaries, fieldDoc, goFormat, nodeDoc, problemText, ruFieldDocs, ruNodeDocs, ruProblems } from './i18n';

// The node types and fields the interface names (type_* and field_* keys)
// mirror engine/flow/spec.go; each needs a Russian description too.
const types = Object.keys(dictionaries.ru)
  .filter((k) => k.startsWith('type_'))
  .map((k) => k.slice('type_'.length));
const fields = Object.keys(dictionaries.ru)
  .filter((k) => k.startsWith('field_'))
  .map((k) => k.slice('field_'.length));

describe('node and field descriptions', () => {
  it('has a Russian description for every node type', () => {
    expect(types.length).toBeGreaterThan(10);
    for (const t of types) expect(ruNodeDocs[t], t).toMatch(/[а-я]/);
    expect(Object.keys(ruNodeDocs).sort()).toEqual([...types].sort());
  });
  it('has a Russian description for every field, directly or per node type', () => {
    for (const f of fields) {
      const found = ruFieldDocs[f] ?? Object.entries(ruFieldDocs).find(([k]) => k.endsWith('.' + f))?.[1];
      expect(found, f).toMatch(/[а-яa-z]/);
    }
  });
  it('shows the spec text in English and the translation in Russian', () => {
    expect(nodeDoc('en', 'message', 'Sends a message and goes on.')).toBe('Sends a message and goes on.');
    expect(nodeDoc('ru', 'message', 'Sends a message and goes on.')).toBe('Отправляет сообщение и идёт дальше.');
    expect(nodeDoc('ru', 'future', 'A node added later.')).toBe('A node added later.');
    expect(fieldDoc('ru', 'webhook', 'save', 'x')).toContain('JSON');
    expect(fieldDoc('ru', 'question', 'save', 'x')).toContain('ответ');
    expect(fieldDoc('ru', 'question', 'next', 'x')).not.toContain('заканчивается');
    expect(fieldDoc('ru', 'message', 'next', 'x')).toContain('заканчивается');
    expect(fieldDoc('en', 'message', 'next', 'the node to go on to')).toBe('the node to go on to');
  });
  it('names every role in both languages', () => {
    for (const r of ['admin', 'marketer', 'operator']) {
      for (const l of ['ru', 'en'] as const) expect((dictionaries[l] as Record<string, string>)['role_' + r]).toBeTruthy();
    }
  });
});

describe('validation problems in Russian', () => {
  const noNode = {
    message: 'buttons[0].next: no node "oferr" (did you mean "offer"?)',
    format: '%s: no node %q%s',
    args: ['buttons[0].next', 'oferr', ' (did you mean "offer"?)'],
  };

  it('words a known problem in Russian, suggestion included', () => {
    expect(problemText('ru', noNode)).toBe('«Кнопки 1 → дальше»: нет блока "oferr" (может быть, "offer"?)');
  });

  it('says an undeclared variable in an expression in Russian', () => {
    const p = { message: 'variable budgt is used but not declared under vars', format: '%s', args: ['variable budgt is used but not declared under vars'] };
    expect(problemText('ru', p)).toBe('переменная budgt используется, но не объявлена');
  });

  it('keeps English in English, and the validator words where no translation exists', () => {
    expect(problemText('en', noNode)).toBe(noNode.message);
    expect(problemText('ru', { message: 'something new', format: 'something %s', args: ['new'] })).toBe('something new');
    expect(problemText('ru', { message: 'old server' })).toBe('old server');
  });

  it('falls back to the message when the arguments do not fit the format', () => {
    expect(problemText('ru', { ...noNode, args: ['only one'] })).toBe(noNode.message);
  });

  it('keeps every translation’s verbs in the order of the original', () => {
    const verbs = (f: string) => f.match(/%[sdqv]/g)?.join('') ?? '';
    for (const [en, ru] of Object.entries(ruProblems)) expect(verbs(ru), en).toBe(verbs(en));
  });

  it('formats like Go for plain values', () => {
    expect(goFormat('%s has %d, %q and 100%%', ['a', 3, 'b"c'])).toBe('a has 3, "b\\"c" and 100%');
  });
});
