import { describe, expect, it } from 'vitest';
import { appended, delivered, loaded, openChat, withItem } from './chat';
import { item, line } from './fixtures';

const id = 'shop:web:1';
const conv = { ...item(1), id, version: 3 };

describe('chat', () => {
  it('keeps a line that came live while the transcript loaded, once', () => {
    let s = openChat(id);
    s = appended(s, line('m3', 'in', 'live', '2026-12-03T18:03:00Z'));
    s = appended(s, line('m2', 'bot', 'in both', '2026-12-03T18:02:00Z'));
    s = loaded(s, conv, [line('m1', 'in', 'first', '2026-12-03T18:01:00Z'), line('m2', 'bot', 'in both', '2026-12-03T18:02:00Z')]);
    expect(s.messages.map((m) => m.id)).toEqual(['m1', 'm2', 'm3']);
    expect(appended(s, line('m3', 'in', 'live', '2026-12-03T18:03:00Z')).messages).toHaveLength(3);
  });

  it('puts a late line in time order', () => {
    let s = loaded(openChat(id), conv, [line('a', 'in', 'a', '2026-12-03T18:01:00Z'), line('c', 'in', 'c', '2026-12-03T18:03:00Z')]);
    s = appended(s, line('b', 'note', 'b', '2026-12-03T18:02:00Z'));
    expect(s.messages.map((m) => m.id)).toEqual(['a', 'b', 'c']);
  });

  it('moves a reply from pending to sent or failed, never back', () => {
    let s = loaded(openChat(id), conv, []);
    s = appended(s, line('op1', 'operator', 'Здравствуйте', '2026-12-03T18:01:00Z', { delivery: 'pending' }));
    s = delivered(s, { conversation_id: id, message_id: 'op1', delivery: 'failed', error: 'chat not found' });
    expect(s.messages[0]).toMatchObject({ delivery: 'failed', error: 'chat not found' });
    s = appended(s, line('op1', 'operator', 'Здравствуйте', '2026-12-03T18:01:00Z', { delivery: 'pending' }));
    expect(s.messages[0].delivery).toBe('failed');
  });

  it('keeps a delivery state that comes before its line', () => {
    let s = delivered(loaded(openChat(id), conv, []), { conversation_id: id, message_id: 'op2', delivery: 'sent' });
    s = appended(s, line('op2', 'operator', 'x', '2026-12-03T18:01:00Z', { delivery: 'pending' }));
    expect(s.messages[0].delivery).toBe('sent');
  });

  it('takes a newer inbox state of the open chat and ignores another chat or an older version', () => {
    const s = loaded(openChat(id), conv, []);
    const taken = { ...conv, version: 4, inbox: { ...conv.inbox!, state: 'assigned' as const, assignee: 'u-1' } };
    expect(withItem(s, taken).conversation?.inbox?.state).toBe('assigned');
    expect(withItem(s, { ...taken, version: 2 }).conversation?.inbox?.state).toBe('unassigned');
    expect(withItem(s, { ...taken, id: 'other' })).toBe(s);
  });
});
