// The hand-back node picker: an operator chooses where the bot continues by
// what a node says, not by its id. Pure functions over the flow document.
import type { FlowDoc, NodeDoc } from '../model';

/** NodeChoice is one entry of the picker. */
export interface NodeChoice {
  id: string;
  type: string;
  /** words is the start of what the node says or does, '' when nothing. */
  words: string;
}

/** nodeWords is the first few words of what a node says (its text, else its most telling field). */
export function nodeWords(node: NodeDoc, max = 8): string {
  let s = '';
  for (const k of ['text', 'name', 'queue', 'url', 'for']) {
    const v = node[k];
    if (typeof v === 'string' && v.trim()) {
      s = v;
      break;
    }
  }
  if (!s && typeof node.add === 'number') s = `+${node.add}`;
  // A template's expression says nothing to an operator: show it as "…".
  s = s.replace(/\{\{[\s\S]*?\}\}/g, '…').replace(/\s+/g, ' ').trim();
  const words = s.split(' ').filter(Boolean);
  return words.length > max ? words.slice(0, max).join(' ') + '…' : words.join(' ');
}

/**
 * nodeChoices lists the nodes a chat can be handed back to, in the order a
 * conversation meets them (breadth-first from start, then the rest in
 * document order), each with its type and first words. Control nodes the
 * customer never sees (condition, split, set, score, goal, webhook) are
 * still listed: the operator may want the bot to re-run a branch.
 */
export function nodeChoices(doc: FlowDoc): NodeChoice[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const queue = doc.start && doc.nodes[doc.start] ? [doc.start] : [];
  while (queue.length) {
    const id = queue.shift() as string;
    if (seen.has(id) || !doc.nodes[id]) continue;
    seen.add(id);
    order.push(id);
    for (const to of targets(doc.nodes[id])) if (!seen.has(to)) queue.push(to);
  }
  for (const id of Object.keys(doc.nodes)) if (!seen.has(id)) order.push(id);
  return order.map((id) => ({ id, type: doc.nodes[id].type, words: nodeWords(doc.nodes[id]) }));
}

function targets(n: NodeDoc): string[] {
  const out: string[] = [];
  const add = (v: unknown) => typeof v === 'string' && v && out.push(v);
  for (const k of ['next', 'else', 'on_fail', 'on_error', 'resume', 'timeout_node', 'offline']) add(n[k]);
  n.buttons?.forEach((b) => add(b.next));
  n.branches?.forEach((b) => add(b.next));
  n.variants?.forEach((v) => add(v.next));
  add(n.timeout?.next);
  return out;
}

/** filterChoices keeps the choices whose id, type label or words contain q (any case). */
export function filterChoices(cs: readonly NodeChoice[], q: string, typeLabel: (type: string) => string): NodeChoice[] {
  const needle = q.trim().toLowerCase();
  if (!needle) return [...cs];
  return cs.filter((c) => `${c.id} ${typeLabel(c.type)} ${c.words}`.toLowerCase().includes(needle));
}
