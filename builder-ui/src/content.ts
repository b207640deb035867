// What a block says, in words: the lines the canvas draws inside a block,
// its exits' labels, and the "type: first words" the pickers show. Pure
// functions over a node and a translate function, so Vitest covers them.
import { describe as condWords, type Row, type VarInfo } from './conditions/conditions';
import { firstWords, type NodeDoc, type Output } from './model';

type Tr = (key: string) => string;

const fill = (s: string, t: string) => s.replace('{t}', t);

/** durationWords says 2h as "2 ч", 1h30m as "1 ч 30 мин"; anything else as it is. */
export function durationWords(d: string, tr: Tr): string {
  const parts = [...d.matchAll(/(\d+)([smhdw])/g)];
  if (parts.length === 0 || parts.map((m) => m[0]).join('') !== d) return d;
  return parts.map(([, n, u]) => (u === 'w' ? `${Number(n) * 7} ${tr('dur_d')}` : `${n} ${tr('dur_' + u)}`)).join(' ');
}

/** conditionWords words an expression for the canvas; the expression itself when it is not rows. */
export function conditionWords(when: string, vars: VarInfo[], tr: Tr): string {
  return condWords(when, vars, {
    op: (o) => tr('cond_op_' + o),
    subject: (r: Row) => (r.kind === 'var' ? (r.name ?? '') : tr('cond_subj_' + r.kind).toLowerCase()),
    value: (r: Row) => {
      if (r.kind === 'segment') {
        const k = 'cond_segment_' + r.value;
        const v = tr(k);
        return v === k ? r.value : v;
      }
      if (r.kind === 'channel') return tr('channel_' + r.value);
      return /^-?[\d\s.,]+$/.test(r.value) ? r.value : `«${r.value}»`;
    },
    and: tr('cond_and'),
    or: tr('cond_or'),
  });
}

/** expectWords names what a question expects: "Число", "По шаблону". */
export function expectWords(expect: unknown, tr: Tr): string {
  if (expect && typeof expect === 'object' && 'regex' in expect) return tr('expect_regex');
  return tr('expect_' + (typeof expect === 'string' && expect ? expect : 'text'));
}

/** exitLabel is the label of one exit of a block, in the interface's language. */
export function exitLabel(o: Output, vars: VarInfo[], tr: Tr): string {
  switch (o.kind) {
    case 'button':
    case 'variant':
      return o.label;
    case 'branch':
      return conditionWords(o.label, vars, tr);
    case 'timeout':
      return o.label ? fill(tr('exit_timeoutAfter'), durationWords(o.label, tr)) : tr('exit_timeout');
    case 'field': {
      const k = 'exit_' + o.handle;
      const v = tr(k);
      return v === k ? tr('field_' + o.handle) : v;
    }
  }
}

/** mainText is what a block says or does, in one string (possibly long). */
export function mainText(n: NodeDoc, tr: Tr): string {
  if (typeof n.text === 'string' && n.text) return n.text;
  switch (n.type) {
    case 'score':
      return typeof n.add === 'number' && n.add !== 0 ? fill(tr('addPoints'), String(n.add)) : ((n.tags as string[] | undefined) ?? []).join(', ');
    case 'delay':
      return fill(tr('waitFor'), durationWords(String(n.for ?? ''), tr));
    case 'goal':
      return fill(tr('goalIs'), String(n.name ?? ''));
    case 'webhook':
      return fill(tr('webhookTo'), hostOf(String(n.url ?? '')));
    case 'set':
      return fill(
        tr('setsVars'),
        Object.entries((n.vars as Record<string, string> | undefined) ?? {})
          .map(([k, v]) => `${k} = ${v}`)
          .join(', '),
      );
  }
  return '';
}

/** detailLine is a block's second line: the answer type and variable of a question, a handoff's queue, a score's tags. */
export function detailLine(n: NodeDoc, tr: Tr): string {
  switch (n.type) {
    case 'question': {
      const a = fill(tr('answerIs'), expectWords(n.expect, tr).toLowerCase());
      return typeof n.save === 'string' && n.save ? `${a} ${fill(tr('savesTo'), n.save)}` : a;
    }
    case 'handoff':
      return typeof n.queue === 'string' && n.queue ? fill(tr('queueIs'), n.queue) : '';
    case 'score':
      return typeof n.add === 'number' && n.add !== 0 && Array.isArray(n.tags) ? (n.tags as string[]).map((x) => `#${x}`).join(' ') : '';
  }
  return '';
}

function hostOf(url: string): string {
  const m = /^[a-z]+:\/\/([^/]+)/i.exec(url);
  return m ? m[1] : url;
}

/** blockSummary is how a picker names a block: its type and first words. */
export function blockSummary(n: NodeDoc | undefined, id: string, tr: Tr): string {
  if (!n) return id;
  const words = firstWords(mainText(n, tr), 36);
  return words ? `${tr('type_' + n.type)}: ${words}` : `${tr('type_' + n.type)} (${id})`;
}
