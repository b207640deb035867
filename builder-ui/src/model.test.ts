import { describe, expect, it } from 'vitest';
import {
  addNode,
  afterDraftDeleted,
  connect,
  copyNodes,
  danglingExit,
  declareVars,
  flowIdFrom,
  diff,
  edges,
  emptyFlow,
  fieldProblems,
  hasErrors,
  newNodeID,
  outputs,
  record,
  redo,
  removeNodes,
  renameNode,
  templateVars,
  undo,
  withTarget,
  type FlowDoc,
  type NodeSpec,
} from './model';
import { layout } from './layout';
import { parsePairs } from './Settings';
import { dictionaries } from './i18n';

const f = (name: string, kind: string) => ({ name, kind, doc: '' });
const specList: NodeSpec[] = [
  { type: 'message', doc: '', waits: false, fields: [f('text', 'template'), f('next', 'node')] },
  { type: 'buttons', doc: '', waits: true, fields: [f('text', 'template'), f('buttons', 'buttons'), f('timeout', 'timeout')] },
  { type: 'question', doc: '', waits: true, fields: [f('text', 'template'), f('on_fail', 'node'), f('next', 'node'), f('timeout', 'timeout')] },
  { type: 'condition', doc: '', waits: false, fields: [f('branches', 'branches'), f('else', 'node')] },
  { type: 'split', doc: '', waits: false, fields: [f('variants', 'variants')] },
  { type: 'end', doc: '', waits: true, fields: [f('text', 'template')] },
];
const specs = new Map(specList.map((s) => [s.type, s]));

function sample(): FlowDoc {
  return {
    voronka: 1,
    id: 'f',
    start: 'hi',
    nodes: {
      hi: { type: 'message', text: 'Hello {{ name }}', next: 'ask', ui: { x: 0, y: 0 } },
      ask: { type: 'buttons', text: 'Pick', buttons: [{ label: 'A', next: 'bye' }, { label: 'B', next: 'cond' }], timeout: { after: '1h', next: 'bye' } },
      cond: { type: 'condition', branches: [{ when: 'score > 1', next: 'bye' }], else: 'hi' },
      bye: { type: 'end', text: 'Bye' },
    },
  };
}

describe('outputs and edges', () => {
  it('gives each button, branch, timeout and else its own handle', () => {
    const d = sample();
    expect(outputs(d.nodes.ask, specs.get('buttons')).map((o) => o.handle)).toEqual(['buttons[0].next', 'buttons[1].next', 'timeout.next']);
    expect(outputs(d.nodes.cond, specs.get('condition')).map((o) => o.handle)).toEqual(['branches[0].next', 'else']);
    expect(outputs(d.nodes.bye, specs.get('end'))).toEqual([]);
    const es = edges(d, specs).map((e) => `${e.source}.${e.handle}->${e.target}`);
    expect(es).toEqual([
      'hi.next->ask',
      'ask.buttons[0].next->bye',
      'ask.buttons[1].next->cond',
      'ask.timeout.next->bye',
      'cond.branches[0].next->bye',
      'cond.else->hi',
    ]);
  });

  it('connects and disconnects handles', () => {
    let d = connect(sample(), 'ask', 'buttons[0].next', 'cond');
    expect(d.nodes.ask.buttons?.[0].next).toBe('cond');
    d = connect(d, 'ask', 'timeout.next', undefined);
    expect(d.nodes.ask.timeout).toBeUndefined();
    const q = withTarget({ type: 'question', text: 'q' }, 'timeout.next', 'bye');
    expect(q.timeout).toEqual({ after: '1h', next: 'bye' });
  });
});

describe('editing', () => {
  it('adds nodes with fresh ids; the first becomes the start', () => {
    let d = emptyFlow('x', 'X');
    const id = newNodeID(d, 'message');
    d = addNode(d, id, { type: 'message', text: 't' }, { x: 10.4, y: 20.6 });
    expect(d.start).toBe('message_1');
    expect(d.nodes.message_1.ui).toEqual({ x: 10, y: 21 });
    expect(newNodeID(d, 'message')).toBe('message_2');
  });

  it('removes nodes and the references to them', () => {
    const d = removeNodes(sample(), ['bye'], specs);
    expect(d.nodes.bye).toBeUndefined();
    expect(d.nodes.ask.buttons?.[0].next).toBeUndefined();
    expect(d.nodes.ask.timeout).toBeUndefined();
    expect(d.nodes.cond.branches?.[0].next).toBeUndefined();
    expect(removeNodes(sample(), ['hi'], specs).start).toBe('ask');
  });

  it('renames a node everywhere', () => {
    const d = renameNode(sample(), 'bye', 'goodbye', specs);
    expect(d.nodes.goodbye).toBeDefined();
    expect(d.nodes.ask.buttons?.[0].next).toBe('goodbye');
    expect(renameNode(sample(), 'hi', 'ask', specs)).toEqual(sample()); // taken
  });

  it('pastes copies with fresh ids, keeping connections among them', () => {
    const d = sample();
    const r = copyNodes(d, { hi: d.nodes.hi, ask: d.nodes.ask }, { x: 40, y: 40 }, specs);
    expect(r.ids).toEqual(['message_1', 'buttons_1']);
    expect(r.doc.nodes.message_1.next).toBe('buttons_1');
    expect(r.doc.nodes.buttons_1.buttons?.[0].next).toBe('bye');
    expect(r.doc.nodes.message_1.ui).toEqual({ x: 40, y: 40 });
  });
});

describe('history', () => {
  it('undoes and redoes, coalescing typing in one field', () => {
    const a = sample();
    let h = { past: [], present: a, future: [] } as Parameters<typeof record>[0];
    const b = connect(a, 'hi', 'next', 'bye');
    const c1 = { ...b, name: 'x' };
    const c2 = { ...b, name: 'xy' };
    h = record(h, b, undefined, 0);
    h = record(h, c1, 'name', 100);
    h = record(h, c2, 'name', 200);
    expect(h.past.length).toBe(2);
    h = undo(h);
    expect(h.present).toBe(b);
    h = undo(h);
    expect(h.present).toBe(a);
    h = redo(redo(h));
    expect(h.present).toBe(c2);
  });
});

describe('layout', () => {
  it('places every node of a hand-written flow, top to bottom', () => {
    const d = sample();
    for (const n of Object.values(d.nodes)) delete n.ui;
    const l = layout(d, specs);
    for (const n of Object.values(l.nodes)) expect(n.ui).toBeDefined();
    expect(l.nodes.ask.ui!.y).toBeGreaterThan(l.nodes.hi.ui!.y);
    expect(l.nodes.bye.ui!.y).toBeGreaterThan(l.nodes.ask.ui!.y);
  });
  it('keeps positions already there when asked', () => {
    const l = layout(sample(), specs, true);
    expect(l.nodes.hi.ui).toEqual({ x: 0, y: 0 });
  });
});

describe('problems, diff, templates, settings, i18n', () => {
  it('picks problems of a field and its items', () => {
    const ps = [
      { line: 1, col: 1, severity: 'error', message: 'm', node: 'ask', field: 'buttons[1].next', text: '' },
      { line: 1, col: 1, severity: 'warning', message: 'w', node: 'ask', field: 'text', text: '' },
    ];
    expect(fieldProblems(ps, 'buttons')).toHaveLength(1);
    expect(fieldProblems(ps, 'text')).toHaveLength(1);
    expect(hasErrors(ps)).toBe(true);
    expect(hasErrors(ps.slice(1))).toBe(false);
  });
  it('summarises a diff, ignoring moves', () => {
    const a = sample();
    const b = removeNodes(connect(a, 'hi', 'next', 'bye'), ['cond'], specs);
    b.nodes.ask = { ...b.nodes.ask, ui: { x: 500, y: 500 } };
    b.nodes.extra = { type: 'end' };
    const d = diff(a, b);
    expect(d.added).toEqual(['extra']);
    expect(d.removed).toEqual(['cond']);
    expect(d.changed).toContain('hi');
    expect(d.changed).not.toContain('bye');
  });
  it('finds template variables', () => {
    expect(templateVars('Hi {{ name }}, {{contact.first_name}} {{ 1 + 2 }}')).toEqual(['name', 'contact.first_name']);
  });
  it('reads name: value lines', () => {
    expect(parsePairs('budget: number\n\n phone : string\nbad')).toEqual([
      ['budget', 'number'],
      ['phone', 'string'],
      ['bad', ''],
    ]);
  });
  it('has every string in both languages', () => {
    expect(Object.keys(dictionaries.en).sort()).toEqual(Object.keys(dictionaries.ru).sort());
    for (const v of Object.values(dictionaries.en)) expect(v).not.toBe('');
  });
});

describe('after a draft is deleted', () => {
  const flows = [
    { id: 'promo', running: false },
    { id: 'main', running: true },
  ];
  it('stays on the flow when it still has a published version', () => {
    expect(afterDraftDeleted(flows, 'promo')).toBe('promo');
  });
  it('goes to the flow the bot runs when the draft was all there was', () => {
    expect(afterDraftDeleted(flows, 'scratch')).toBe('main');
  });
  it('goes to the first flow when the bot runs none of them, and to none when none is left', () => {
    expect(afterDraftDeleted([{ id: 'a', running: false }], 'scratch')).toBe('a');
    expect(afterDraftDeleted([], 'scratch')).toBe('');
  });
  it('is named in Russian and in English, with a confirmation that says published versions stay', () => {
    expect(dictionaries.ru.deleteDraft).toBe('Удалить черновик');
    expect(dictionaries.en.deleteDraft).toBe('Delete draft');
    expect(dictionaries.ru.deleteDraftConfirm).toContain('опубликованные версии останутся');
    expect(dictionaries.en.deleteDraftConfirm).toContain('published versions stay');
  });
});

describe('what a marketer does without writing code', () => {
  it('declares the variable an answer is saved into, typed by the question', () => {
    const d: FlowDoc = {
      voronka: 1,
      id: 'v',
      start: 'a',
      nodes: {
        a: { type: 'question', text: 'Бюджет?', save: 'бюджет', expect: 'number' },
        b: { type: 'question', text: 'Телефон?', save: 'телефон', expect: 'phone' },
        c: { type: 'question', text: 'Когда?', save: 'when', expect: 'date' },
        s: { type: 'set', vars: { шаг: '2', vip: 'true' } },
      },
    };
    const out = declareVars(d);
    expect(out.vars).toEqual({ бюджет: 'number', телефон: 'string', when: 'date', шаг: 'number', vip: 'bool' });
    expect(declareVars(out)).toBe(out);
    // The question's answer type changes: so does its variable's.
    const changed = { ...out, nodes: { ...out.nodes, a: { ...out.nodes.a, expect: 'text' } } };
    expect(declareVars(changed).vars?.бюджет).toBe('string');
  });

  it('derives a flow id from a name in any language', () => {
    expect(flowIdFrom('Запись на вебинар')).toBe('zapis-na-vebinar');
    expect(flowIdFrom('Black Friday 2026!')).toBe('black-friday-2026');
    expect(flowIdFrom('🎉')).toBe('funnel');
  });

  it('finds the exit a new block is connected to: next first', () => {
    expect(danglingExit({ type: 'question', text: 'q' }, specs.get('question'))).toBe('next');
    expect(danglingExit({ type: 'buttons', text: 'b', buttons: [{ label: 'x', next: 'a' }, { label: 'y' }] }, specs.get('buttons'))).toBe('buttons[1].next');
    expect(danglingExit({ type: 'message', text: 'm', next: 'a' }, specs.get('message'))).toBeUndefined();
  });

  it('points triggers that lost their block at the new start', () => {
    const d: FlowDoc = { voronka: 1, id: 't', start: 'w', triggers: [{ command: '/start', goto: 'w' }], nodes: { w: { type: 'message', text: 'hi' } } };
    const empty = removeNodes(d, ['w'], specs);
    expect(empty.triggers?.[0].goto).toBe('');
    const again = addNode(empty, 'm', { type: 'message', text: 'x' }, { x: 0, y: 0 });
    expect(again.start).toBe('m');
    expect(again.triggers?.[0].goto).toBe('m');
  });

  it('reads Russian variable names in templates', () => {
    expect(templateVars('Привет, {{ имя }}! Бюджет {{ бюджет }}')).toEqual(['имя', 'бюджет']);
  });
});
