import { describe, expect, it } from 'vitest';
import { actionsFor, emptyCompose, emptyFilterForm, fill, fromFilter, percent, skippedRows, toDraft, toFilter } from './logic';

describe('segment filter form', () => {
  it('leaves out empty fields and reads lists and numbers as people type them', () => {
    expect(toFilter(emptyFilterForm)).toEqual({});
    const f = toFilter({ ...emptyFilterForm, segments: ['hot'], tags: ' vip, promo ,', scoreMin: '30,5', scoreMax: 'x', expr: ' budget > 1 ', goals: 'lead' });
    expect(f).toEqual({ segments: ['hot'], tags: ['vip', 'promo'], score_min: 30.5, expr: 'budget > 1', goals: ['lead'] });
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
