import { describe, expect, it } from 'vitest';
import { dictionaries, fieldDoc, nodeDoc, ruFieldDocs, ruNodeDocs } from './i18n';

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
