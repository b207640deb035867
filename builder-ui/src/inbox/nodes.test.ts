import { describe, expect, it } from 'vitest';
import type { FlowDoc } from '../model';
import { filterChoices, nodeChoices, nodeWords } from './nodes';

const flow: FlowDoc = {
  voronka: 1,
  id: 'shop',
  start: 'welcome',
  nodes: {
    orphan: { type: 'message', text: 'Nobody comes here' },
    manager: { type: 'handoff', text: 'Зову менеджера', queue: 'sales', resume: 'after' },
    after: { type: 'message', text: 'Спасибо, {{ contact.first_name }}! Вернёмся к подбору тарифа, это займёт минуту' },
    welcome: { type: 'buttons', text: 'Что вас интересует?', buttons: [{ label: 'Купить', next: 'budget' }, { label: 'Менеджер', next: 'manager' }] },
    budget: { type: 'question', text: 'Ваш бюджет?', next: 'hot' },
    hot: { type: 'score', add: 20 },
  },
};

describe('nodeChoices', () => {
  it('lists nodes in the order a conversation meets them, then the unreachable ones', () => {
    expect(nodeChoices(flow).map((c) => c.id)).toEqual(['welcome', 'budget', 'manager', 'hot', 'after', 'orphan']);
  });
  it('says what each node says, with templates hidden and long texts cut', () => {
    const byId = Object.fromEntries(nodeChoices(flow).map((c) => [c.id, c]));
    expect(byId.welcome).toEqual({ id: 'welcome', type: 'buttons', words: 'Что вас интересует?' });
    expect(byId.after.words).toBe('Спасибо, …! Вернёмся к подбору тарифа, это займёт…');
    expect(byId.hot.words).toBe('+20');
  });
});

describe('nodeWords', () => {
  it('falls back to the queue or a goal name when a node has no text', () => {
    expect(nodeWords({ type: 'handoff', queue: 'sales' })).toBe('sales');
    expect(nodeWords({ type: 'goal', name: 'qualified' })).toBe('qualified');
    expect(nodeWords({ type: 'condition' })).toBe('');
  });
});

describe('filterChoices', () => {
  it('finds nodes by their words, type label or id', () => {
    const cs = nodeChoices(flow);
    const label = (t: string) => ({ question: 'Вопрос', buttons: 'Кнопки' })[t] ?? t;
    expect(filterChoices(cs, 'бюджет', label).map((c) => c.id)).toEqual(['budget']);
    expect(filterChoices(cs, 'вопрос', label).map((c) => c.id)).toEqual(['budget']);
    expect(filterChoices(cs, 'ORPH', label).map((c) => c.id)).toEqual(['orphan']);
    expect(filterChoices(cs, '  ', label)).toHaveLength(6);
  });
});
