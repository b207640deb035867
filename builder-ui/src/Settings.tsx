// The flow settings panel: name, start, lifetime, variables, scoring,
// triggers and FAQ.
import { useState } from 'react';
import type { FlowDoc, Problem, Trigger, FAQ } from './model';
import { problemText, useI18n } from './i18n';

interface Props {
  doc: FlowDoc;
  problems: Problem[]; // the flow's own problems (no node)
  onChange: (doc: FlowDoc, field: string) => void;
}

/** parsePairs reads "name: value" lines. */
export function parsePairs(text: string): [string, string][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf(':');
      return i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
}

function PairsEditor({ value, onChange, testid }: { value: Record<string, string | number> | undefined; onChange: (text: string) => void; testid: string }) {
  const [text, setText] = useState(() =>
    Object.entries(value ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  );
  return (
    <textarea
      rows={4}
      value={text}
      data-field={testid}
      onChange={(e) => {
        setText(e.target.value);
        onChange(e.target.value);
      }}
    />
  );
}

const splitList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function Settings({ doc, problems, onChange }: Props) {
  const { t, lang } = useI18n();
  const set = (key: keyof FlowDoc, v: unknown) => {
    const d = { ...doc } as Record<string, unknown>;
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v && Object.keys(v).length === 0)) delete d[key];
    else d[key] = v;
    onChange(d as unknown as FlowDoc, String(key));
  };
  const fp = (f: string) => problems.filter((p) => (p.field ?? '') === f || (p.field ?? '').startsWith(f + '.') || (p.field ?? '').startsWith(f + '['));
  const Ps = ({ f }: { f: string }) => (
    <ul className="field-problems">
      {fp(f).map((p, i) => (
        <li key={i} className={p.severity === 'error' ? 'err' : 'warn'} data-testid="field-problem">
          {problemText(lang, p)}
        </li>
      ))}
    </ul>
  );
  const triggers = doc.triggers ?? [];
  const faq = doc.faq ?? [];
  const setTrigger = (i: number, tr: Trigger) => set('triggers', triggers.map((x, j) => (j === i ? tr : x)));
  const setFAQ = (i: number, q: FAQ) => set('faq', faq.map((x, j) => (j === i ? q : x)));
  const ids = Object.keys(doc.nodes);
  return (
    <div className="props settings" data-testid="settings">
      <h3>{t('settings')}</h3>
      <div className="field">
        <label>{t('name')}</label>
        <input value={doc.name ?? ''} data-field="flow.name" onChange={(e) => set('name', e.target.value)} />
      </div>
      <div className="field">
        <label>{t('description')}</label>
        <input value={doc.description ?? ''} onChange={(e) => set('description', e.target.value)} />
      </div>
      <div className="field">
        <label>{t('isStart')}</label>
        <select value={doc.start ?? ''} data-field="flow.start" onChange={(e) => set('start', e.target.value)}>
          <option value="">{t('none')}</option>
          {ids.map((id) => (
            <option key={id}>{id}</option>
          ))}
        </select>
        <Ps f="start" />
      </div>
      <div className="field">
        <label>{t('expire')}</label>
        <input value={doc.expire ?? ''} placeholder="30d" onChange={(e) => set('expire', e.target.value)} />
        <Ps f="expire" />
      </div>
      <div className="field">
        <label>
          {t('vars')} <small>{t('varsHelp')}</small>
        </label>
        <PairsEditor value={doc.vars} testid="flow.vars" onChange={(text) => set('vars', Object.fromEntries(parsePairs(text)))} />
        <Ps f="vars" />
      </div>
      <div className="field">
        <label>
          {t('score')} <small>{t('scoringHelp')}</small>
        </label>
        <PairsEditor
          value={doc.scoring}
          testid="flow.scoring"
          onChange={(text) => set('scoring', Object.fromEntries(parsePairs(text).map(([k, v]) => [k, Number(v)])))}
        />
        <Ps f="scoring" />
      </div>
      <div className="field">
        <label>{t('triggers')}</label>
        {triggers.map((tr, i) => (
          <div className="list-row" key={i}>
            <input placeholder={t('command')} value={tr.command ?? ''} onChange={(e) => setTrigger(i, { ...tr, command: e.target.value || undefined })} />
            <input placeholder={t('keywords')} value={(tr.keywords ?? []).join(', ')} onChange={(e) => setTrigger(i, { ...tr, keywords: splitList(e.target.value) })} />
            <select value={tr.goto ?? ''} onChange={(e) => setTrigger(i, { ...tr, goto: e.target.value })}>
              <option value="">{t('goto')}</option>
              {ids.map((id) => (
                <option key={id}>{id}</option>
              ))}
            </select>
            <label title={t('reset')}>
              <input type="checkbox" checked={tr.reset === true} onChange={(e) => setTrigger(i, { ...tr, reset: e.target.checked || undefined })} />↺
            </label>
            <button className="icon" onClick={() => set('triggers', triggers.filter((_, j) => j !== i))}>
              ✕
            </button>
          </div>
        ))}
        <button onClick={() => set('triggers', [...triggers, { command: '/start', goto: doc.start ?? '' }])}>+ {t('add')}</button>
        <Ps f="triggers" />
      </div>
      <div className="field">
        <label>{t('faq')}</label>
        {faq.map((q, i) => (
          <div className="list-row" key={i}>
            <input placeholder={t('keywords')} value={(q.keywords ?? []).join(', ')} onChange={(e) => setFAQ(i, { ...q, keywords: splitList(e.target.value) })} />
            <input placeholder={t('answer')} value={q.answer ?? ''} onChange={(e) => setFAQ(i, { ...q, answer: e.target.value })} />
            <button className="icon" onClick={() => set('faq', faq.filter((_, j) => j !== i))}>
              ✕
            </button>
          </div>
        ))}
        <button onClick={() => set('faq', [...faq, { keywords: [], answer: '' }])}>+ {t('add')}</button>
        <Ps f="faq" />
      </div>
    </div>
  );
}
