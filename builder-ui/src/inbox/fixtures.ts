// Fake inbox data for the tests and the list benchmark.
import type { Inbox, Item, Message } from './types';

const names = ['Иван Петров', 'Анна Смирнова', 'Ольга', 'Dmitry K', 'Мария', '@sergey_m', '+7 999 123-45-67'];
const texts = ['Сколько стоит доставка?', 'Хочу тариф Бизнес', 'Позвать оператора', 'Когда перезвоните?', 'Спасибо!'];

/** item makes a conversation in the inbox; `i` varies everything, `over` sets fields. */
export function item(i: number, over: Partial<Item> = {}, inbox: Partial<Inbox> = {}): Item {
  const at = new Date(Date.parse('2026-12-03T18:00:00Z') - i * 60_000).toISOString();
  const name = names[i % names.length];
  return {
    id: `shop:${i % 3 ? 'telegram' : 'web'}:${1000 + i}`,
    bot: 'shop',
    channel: i % 3 ? 'telegram' : 'web',
    status: 'handoff',
    contact: { first_name: name, phone: `+7999000${String(i).padStart(4, '0')}` },
    name,
    score: (i * 7) % 100,
    segment: ['hot', 'warm', 'cold'][i % 3],
    tags: i % 2 ? ['buyer'] : [],
    updated_at: at,
    version: 1,
    ...over,
    inbox: {
      state: 'unassigned',
      queue: i % 4 ? 'sales' : 'support',
      assignee: '',
      assignee_name: '',
      unread: i % 5,
      handoff_at: at,
      waiting_since: at,
      last: { direction: 'in', text: texts[i % texts.length], at },
      ...inbox,
    },
  };
}

/** line makes a transcript line. */
export function line(id: string, direction: Message['direction'], text: string, at: string, over: Partial<Message> = {}): Message {
  return { id, direction, text, at, ...over };
}
