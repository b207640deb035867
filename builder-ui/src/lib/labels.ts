// The words of a lead's fixed values (lead segment, conversation status,
// channel) in the interface's language, shared by the leads and broadcasts
// pages so that the same choice reads the same on both.

export const leadSegments = ['hot', 'warm', 'cold'] as const;
export const statuses = ['bot', 'waiting', 'handoff', 'ended'] as const;
export const channels = ['telegram', 'web', 'whatsapp', 'viber', 'vk'] as const;

type Tr = (key: string) => string;

/** labelOf is the first of keys that has a translation, else the value itself. */
function labelOf(tr: Tr, value: string, ...keys: string[]): string {
  for (const k of keys) {
    const v = tr(k);
    if (v !== k) return v;
  }
  return value;
}

export const segmentWord = (tr: Tr, s: string) => labelOf(tr, s, 'cond_segment_' + s);
export const statusWord = (tr: Tr, s: string) => labelOf(tr, s, 'ctStatus_' + s);
export const channelWord = (tr: Tr, c: string) => labelOf(tr, c, 'channel_' + c, 'msgr_' + c);
