import { describe, expect, it } from 'vitest';
import { actionsFor, emptyCompose, emptyFilterForm, fieldWord, fill, fromFilter, problemWords, percent, skippedRows, toDraft, toFilter } from './logic';

describe('segment filter form', () => {
  it('leaves out empty fields and reads lists and numbers as people type them', () => {
    expect(toFilter(emptyFilterForm)).toEqual({});
    const f = toFilter({ ...emptyFilterForm, segments: ['hot'], tags: ' vip, promo ,', scoreMin: '30,5', scoreMax: 'x', expr: ' budget > 1 ', goals: 'lead' });
    expect(f).toEqual({ segments: ['hot'], tags: ['vip', 'promo'], score_min: 30.5, expr: 'budget > 1', goals: ['lead'] });
  });
  it('starts a day at midnight in the bot\'s zone, as the leads page does, and reads it back', () => {
    const f = toFilter({ ...emptyFilterForm, lastSeenFrom: '2026-12-10', firstSeenFrom: '2026-12-01' }, 'Europe/Moscow');
    expect(f).toEqual({ first_seen_from: '2026-11-30T21:00:00.000Z', last_seen_from: '2026-12-09T21:00:00.000Z' });
    expect(fromFilter(f, 'Europe/Moscow')).toMatchObject({ lastSeenFrom: '2026-12-10', firstSeenFrom: '2026-12-01' });
  });
  it('round-trips a saved filter', () => {
    const f = { segments: ['warm'], tags: ['a', 'b'], score_min: 1, channels: ['telegram'], statuses: ['handoff'], expr: 'x', source: 'ads', goals: ['g'] };
    expect(toFilter(fromFilter(f))).toEqual(f);
  });
});

describe('compose form', () => {
  it('sends message variants without empty buttons, and the window only when whole', () => {
    const d = toDraft(
      {
        ...emptyCompose,
        name: ' Sale ',
        segment: 'sg-1',
        windowStart: '10:00',
        variants: [{ name: 'A', weight: 100, text: 'Hi', buttons: [{ label: 'Go', node: 'offer' }, { label: '', node: '' }] }],
      },
      true,
    );
    expect(d).toEqual({
      name: 'Sale',
      mode: 'message',
      variants: [{ name: 'A', weight: 100, text: 'Hi', buttons: [{ label: 'Go', node: 'offer' }] }],
      no_unsubscribe: false,
      segment: 'sg-1',
      start: true,
    });
  });
  it('sends the WhatsApp template with its parameters one a line, only when something was typed', () => {
    const base = { ...emptyCompose, name: 'n', variants: [{ name: 'A', weight: 100, text: 'Hi', buttons: [] }] };
    expect(toDraft(base, false).template).toBeUndefined();
    expect(toDraft({ ...base, templateName: ' spring_sale ', templateLanguage: 'ru', templateParams: '{{ contact.first_name }}\n\n 20% \n' }, false).template).toEqual({
      name: 'spring_sale',
      language: 'ru',
      params: ['{{ contact.first_name }}', '20%'],
    });
    // Half filled: sent as typed, so the server names the missing language.
    expect(toDraft({ ...base, templateName: 'spring_sale' }, false).template).toEqual({ name: 'spring_sale', language: '' });
    // A flow broadcast's node names its own template.
    expect(toDraft({ ...base, mode: 'flow', node: 'offer', templateName: 'x', templateLanguage: 'ru' }, false).template).toBeUndefined();
  });
  it('a flow broadcast names its node and no message', () => {
    const d = toDraft({ ...emptyCompose, name: 'n', mode: 'flow', node: 'offer', windowStart: '10:00', windowEnd: '20:00' }, false);
    expect(d.variants).toEqual([]);
    expect(d.node).toBe('offer');
    expect(d.window).toEqual({ start: '10:00', end: '20:00' });
  });
});

describe('status and progress', () => {
  it('offers only the actions the server allows', () => {
    expect(actionsFor('draft')).toEqual(['start', 'cancel']);
    expect(actionsFor('running')).toEqual(['pause', 'cancel']);
    expect(actionsFor('paused')).toEqual(['resume', 'cancel']);
    expect(actionsFor('done')).toEqual([]);
  });
  it('counts skipped members as done and lists reasons, most first', () => {
    const p = { total: 10, sent: 5, failed: 1, skipped: { no_consent: 1, blocked: 3, frequency_cap: 0 } };
    expect(percent(p)).toBe(100);
    expect(percent({ total: 0, sent: 0, failed: 0 })).toBe(0);
    expect(skippedRows(p)).toEqual([
      ['blocked', 3],
      ['no_consent', 1],
    ]);
  });
  it('fills placeholders', () => {
    expect(fill('Sent {sent} of {total}', { sent: 3, total: 4 })).toBe('Sent 3 of 4');
  });
});

describe('problems in the marketer\'s words', () => {
  const ru: Record<string, string> = { bcExpr: 'Условие по переменным', bcScoreMin: 'Баллы от' };
  const tr = (k: string) => ru[k] ?? k;
  it('names a field by the form\'s label, an unknown one by its API name', () => {
    expect(fieldWord('expr', tr)).toBe('Условие по переменным');
    expect(fieldWord('score_min', tr)).toBe('Баллы от');
    expect(fieldWord('variants[0].text', tr)).toBe('variants[0].text');
  });
  it('words the segment check\'s messages in Russian, English one click away', () => {
    expect(problemWords('unknown name budjet', 'ru')).toBe('в воронке нет переменной budjet');
    expect(problemWords('unknown segment "tepid" (hot, warm or cold)', 'ru')).toBe('нет сегмента «tepid»: есть горячий, тёплый и холодный');
    expect(problemWords('the minimum score is above the maximum', 'ru')).toBe('баллы «от» больше, чем «до»');
    expect(problemWords('unknown name budjet', 'en')).toBe('unknown name budjet');
  });
});
