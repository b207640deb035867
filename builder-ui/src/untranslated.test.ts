/// <reference types="node" />
// Fails when a string would reach the Russian interface untranslated: a
// validator message without a Russian wording, a dictionary entry left in
// English, or a label the canvas builds (exits, answer and variable types,
// condition words) missing from the dictionaries.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dictionaries, problemText, ruProblems } from './i18n';

const flowDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../engine/flow');

/** goFormats lists the formats the validator reports problems with (errorf / warnf literals). */
function goFormats(): string[] {
  const out = new Set<string>();
  for (const f of fs.readdirSync(flowDir)) {
    if (!f.endsWith('.go') || f.endsWith('_test.go')) continue;
    const src = fs.readFileSync(path.join(flowDir, f), 'utf8');
    // The format is the first literal of the call that reads as a sentence
    // (a space or a verb); the literals before it are field names.
    for (const call of src.matchAll(/\.(?:errorf|warnf)\((.*)$/gm)) {
      const lits = [...call[1].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
      const f = lits.find((l) => / |%/.test(l));
      if (f !== undefined) out.add(f);
    }
  }
  return [...out];
}

/** explainMessages lists the sentences validate.go's explain() words expression errors with. */
function explainMessages(): string[] {
  const src = fs.readFileSync(path.join(flowDir, 'validate.go'), 'utf8');
  const body = src.slice(src.indexOf('func explain('), src.indexOf('func typeWord('));
  return [...body.matchAll(/return (?:fmt\.Sprintf\()?"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
}

// Words that are the same in Russian: names of products, formats and units.
const allowed = new Set(['Telegram', 'YAML', 'JSON', 'URL', 'CRM', 'E', 'mail', 'A', 'B', 'Ctrl', 'Shift', 'Delete', 'Tab', 'Enter', 'Esc', 'FAQ', 'CSAT', 'expr', 'lang', 'score', 'vip', 'tags', 'English', 'Voronka', 'a', 'z', 'Z', 'C', 'V', 'S', 'x', 'y', 'id', 'long', 'polling', 'webhook', 'Viber', 'WhatsApp', 'VK', 'Bot', 'API']);

describe('nothing reaches the Russian interface untranslated', () => {
  it('has a Russian wording for every message the validator reports', () => {
    const formats = goFormats();
    expect(formats.length).toBeGreaterThan(40);
    const missing = formats.filter((f) => ruProblems[f] === undefined);
    expect(missing, 'add these to ruProblems in i18n.ts').toEqual([]);
  });

  it('words every explained expression error in Russian', () => {
    const msgs = explainMessages();
    expect(msgs.length).toBeGreaterThan(4);
    for (const m of msgs) {
      // Fill the verbs with sample values, as the validator would.
      const sample = m.replace(/%s/g, 'x').replace(/%d/g, '1');
      const ru = problemText('ru', { message: sample, format: '%s', args: [sample] });
      expect(ru, m).not.toBe(sample);
      expect(ru, m).toMatch(/[а-яё]/i);
    }
  });

  it('leaves no Russian dictionary entry in English', () => {
    const bad: string[] = [];
    for (const [k, v] of Object.entries(dictionaries.ru)) {
      // Placeholders, {{ templates }} and code examples (budget >= 100000) are not words of the interface.
      const prose = v
        .replace(/\{\{[^}]*\}\}/g, '')
        .replace(/\{\w+\}/g, '')
        .replace(/[A-Za-z_.]+ *(?:>=|<=|==|!=|>|<) *[\w"]+/g, '')
        // Names of things rather than words: file names and dotted paths
        // (voronka.yaml, env.NAME), <tags>, ACRONYMS, CamelCase products.
        .replace(/[\w-]*[._/][\w./-]+/g, '')
        .replace(/<[^>]*>/g, '')
        .replace(/\b[A-Z][A-Z0-9_]+\b/g, '')
        .replace(/\b[A-Z]?[a-z]+[A-Z]\w*/g, '');
      const words = prose.match(/[A-Za-z]{3,}/g) ?? [];
      const english = words.filter((w) => !allowed.has(w));
      // A Russian sentence may name a place in another product's English
      // interface (Meta for Developers → Configuration); an entry with no
      // Russian at all was left untranslated.
      if (english.length && !/[а-яё]/i.test(prose)) bad.push(`${k}: ${english.join(' ')}`);
    }
    expect(bad).toEqual([]);
  });

  it('translates every label the canvas and the pickers build', () => {
    const ru = dictionaries.ru as Record<string, string>;
    const keys = [
      ...['next', 'else', 'on_fail', 'on_error', 'resume', 'timeout', 'offline'].map((x) => 'exit_' + x),
      ...['text', 'number', 'email', 'phone', 'date', 'choice', 'regex'].map((x) => 'expect_' + x),
      ...['string', 'number', 'bool', 'date', 'list', 'object', 'any'].map((x) => 'vtype_' + x),
      ...['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'contains', 'starts', 'empty', 'notEmpty', 'has', 'hasNot', 'isTrue', 'isFalse'].map((x) => 'cond_op_' + x),
      ...['score', 'segment', 'tag', 'channel', 'source'].map((x) => 'cond_subj_' + x),
    ];
    for (const k of keys) expect(ru[k], k).toMatch(/[а-яё]/i);
  });

  it('names every field of every block (the properties panel and the exits fall back to these)', () => {
    const ru = dictionaries.ru as Record<string, string>;
    const src = fs.readFileSync(path.join(flowDir, 'spec.go'), 'utf8');
    const names = new Set([...src.matchAll(/\{Name: "([a-z_]+)"/g)].map((m) => m[1]));
    expect(names.size).toBeGreaterThan(20);
    const missing = [...names].filter((n) => !['type', 'ui'].includes(n) && !/[а-яё]/i.test(ru['field_' + n] ?? ''));
    expect(missing, 'add field_<name> to i18n.ts').toEqual([]);
  });
});
