// The broadcasts page: segments with a live count, a composer for messages
// (A/B variants, buttons into the funnel, a test to your own chat), and each
// broadcast's progress, controls and results, refreshed while it runs.
import { useCallback, useEffect, useState } from 'react';
import { useParams, useNavigate } from 'react-router';
import { useI18n } from '../i18n';
import { channels, channelWord, leadSegments, segmentWord, statuses, statusWord } from '../lib/labels';
import { BotPicker, useDebounced, usePageBot } from '../lib/pages';
import * as api from './api';
import * as app from '../api';
import { ConditionEditor } from '../conditions/ConditionEditor';
import { TemplateText } from '../Properties';
import type { VarInfo } from '../conditions/conditions';
import { varInfos } from '../model';
import { actionsFor, emptyCompose, emptyFilterForm, fieldWord, fill, fromFilter, problemWords, live, newVariant, percent, skippedRows, toDraft, toFilter, type ComposeForm, type FilterForm } from './logic';

function Problems({ problems }: { problems: api.Problem[] }) {
  const { t, tr, lang } = useI18n();
  if (!problems.length) return null;
  return (
    <div className="bc-problems" role="alert">
      {t('bcProblems')}
      <ul>
        {problems.map((p, i) => (
          <li key={i} data-problem={p.field}>
            {p.field && <strong>{fieldWord(p.field, tr)}: </strong>}
            {problemWords(p.message, lang)}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** useFlowVars lists the variables the bot's funnel declares (its draft), for the condition rows. */
function useFlowVars(bot: string): VarInfo[] {
  const [vars, setVars] = useState<VarInfo[]>([]);
  useEffect(() => {
    let live = true;
    setVars([]);
    app
      .listFlows(bot)
      .then((flows) => {
        const f = flows.find((x) => x.running) ?? flows[0];
        return f ? app.getDraft(bot, f.id) : null;
      })
      .then((d) => live && setVars(varInfos(d?.json ?? null)))
      .catch(() => live && setVars([]));
    return () => {
      live = false;
    };
  }, [bot]);
  return vars;
}

export function Broadcasts() {
  const { t } = useI18n();
  const params = useParams();
  const navigate = useNavigate();
  const { bot, bots } = usePageBot();
  const [segments, setSegments] = useState<api.Segment[]>([]);
  const [list, setList] = useState<api.Broadcast[]>([]);
  const selected = params.id;
  const reload = useCallback(() => {
    if (!bot) return;
    api.listSegments(bot).then(setSegments, () => setSegments([]));
    api.listBroadcasts(bot).then(setList, () => setList([]));
  }, [bot]);
  useEffect(reload, [reload]);
  return (
    <div className="bc-page">
      <header className="bc-head">
        <BotPicker page="broadcasts" bot={bot} bots={bots} data={{ 'data-bc': 'bot' }} label />
      </header>
      {bot && (
        <div className="bc-body">
          <SegmentsPanel bot={bot} tz={bots.find((b) => b.id === bot)?.settings?.time_zone} segments={segments} onChange={reload} />
          <section className="bc-col">
            <h2>{t('bcBroadcasts')}</h2>
            <ul className="bc-list">
              {list.length === 0 && <li className="muted">{t('bcNone')}</li>}
              {list.map((b) => (
                <li key={b.id} className={b.id === selected ? 'active' : ''}>
                  <a href={`#/broadcasts/${bot}/${b.id}`} data-bc-item={b.name}>
                    {b.name}
                  </a>{' '}
                  <StatusBadge s={b.status} /> {b.progress.sent}/{b.progress.total}
                </li>
              ))}
            </ul>
            {selected ? (
              <BroadcastView key={selected} bot={bot} id={selected} onChange={reload} />
            ) : (
              <Compose
                bot={bot}
                segments={segments}
                onCreated={(b) => {
                  reload();
                  navigate(`/broadcasts/${bot}/${b.id}`);
                }}
              />
            )}
            {selected && (
              <p>
                <a href={`#/broadcasts/${bot}`}>+ {t('bcNewBroadcast')}</a>
              </p>
            )}
          </section>
        </div>
      )}
    </div>
  );
}

function StatusBadge({ s }: { s: api.Status }) {
  const { tr } = useI18n();
  return (
    <span className={`bc-status bc-status-${s}`} data-bc-status={s}>
      {tr(`bcStatus_${s}`)}
    </span>
  );
}

function SegmentsPanel({ bot, tz, segments, onChange }: { bot: string; tz?: string; segments: api.Segment[]; onChange: () => void }) {
  const { t, tr } = useI18n();
  const [editing, setEditing] = useState<api.Segment | null>(null);
  const [name, setName] = useState('');
  const [form, setForm] = useState<FilterForm>(emptyFilterForm);
  const [count, setCount] = useState<api.Count | null>(null);
  const [problems, setProblems] = useState<api.Problem[]>([]);
  const [notice, setNotice] = useState('');
  const vars = useFlowVars(bot);
  const filter = useDebounced(toFilter(form, tz), 300);
  const key = JSON.stringify(filter);
  useEffect(() => {
    let stale = false;
    setCount(null);
    api.countFilter(bot, JSON.parse(key) as api.SegmentFilter).then(
      (c) => {
        if (!stale) {
          setCount(c);
          setProblems([]);
        }
      },
      (e: unknown) => {
        if (!stale) setProblems(api.problemsOf(e));
      },
    );
    return () => {
      stale = true;
    };
  }, [bot, key]);
  const open = (s: api.Segment | null) => {
    setEditing(s);
    setName(s?.name ?? '');
    setForm(s ? fromFilter(s.filter, tz) : emptyFilterForm);
    setNotice('');
  };
  const save = async () => {
    try {
      const s = editing ? await api.saveSegment(bot, editing.id, name, toFilter(form, tz)) : await api.createSegment(bot, name, toFilter(form, tz));
      setEditing(s);
      setProblems([]);
      setNotice(t('bcSegmentSaved'));
      onChange();
    } catch (e) {
      setProblems(api.problemsOf(e).length ? api.problemsOf(e) : [{ field: '', message: String(e) }]);
    }
  };
  return (
    <section className="bc-col">
      <h2>{t('bcSegments')}</h2>
      <ul className="bc-list">
        {segments.map((s) => (
          <li key={s.id} className={s.id === editing?.id ? 'active' : ''}>
            <button type="button" className="link" onClick={() => open(s)} data-bc-segment={s.name}>
              {s.name}
            </button>
          </li>
        ))}
        <li>
          <button type="button" className="link" onClick={() => open(null)}>
            + {t('bcNewSegment')}
          </button>
        </li>
      </ul>
      <div className="bc-form" data-bc="segment-form">
        <label>
          {t('bcSegmentName')}
          <input value={name} onChange={(e) => setName(e.target.value)} data-bc="segment-name" />
        </label>
        <Checks legend={t('bcLeadSegments')} all={leadSegments} word={(s) => segmentWord(tr, s)} on={form.segments} set={(segments) => setForm({ ...form, segments })} />
        <label>
          {t('bcTags')}
          <input value={form.tags} onChange={(e) => setForm({ ...form, tags: e.target.value })} data-bc="tags" />
        </label>
        <div className="bc-row">
          <label>
            {t('bcScoreMin')}
            <input inputMode="decimal" value={form.scoreMin} onChange={(e) => setForm({ ...form, scoreMin: e.target.value })} />
          </label>
          <label>
            {t('bcScoreMax')}
            <input inputMode="decimal" value={form.scoreMax} onChange={(e) => setForm({ ...form, scoreMax: e.target.value })} />
          </label>
        </div>
        <Checks legend={t('bcChannels')} all={channels} word={(c) => channelWord(tr, c)} on={form.channels} set={(channels) => setForm({ ...form, channels })} />
        <Checks legend={t('ctStatus')} all={statuses} word={(s) => statusWord(tr, s)} on={form.statuses} set={(statuses) => setForm({ ...form, statuses })} />
        <fieldset data-bc="expr">
          <legend>{t('bcExpr')}</legend>
          <ConditionEditor
            value={form.expr}
            onChange={(expr) => setForm((f) => ({ ...f, expr }))}
            vars={vars}
            segments={[...leadSegments]}
            tags={[]}
            channels={[...channels]}
            field="bc-expr"
            bad={problems.some((p) => p.field === 'expr')}
          />
        </fieldset>
        <div className="bc-row">
          <label>
            {t('bcSource')}
            <input value={form.source} onChange={(e) => setForm({ ...form, source: e.target.value })} />
          </label>
          <label>
            {t('bcGoals')}
            <input value={form.goals} onChange={(e) => setForm({ ...form, goals: e.target.value })} />
          </label>
        </div>
        {(
          [
            ['bcFirstSeenFrom', 'firstSeenFrom', 'firstSeenTo'],
            ['bcLastSeenFrom', 'lastSeenFrom', 'lastSeenTo'],
          ] as const
        ).map(([label, from, to]) => (
          <div className="bc-row" key={from}>
            <label>
              {t(label)}
              <input type="date" value={form[from]} onChange={(e) => setForm({ ...form, [from]: e.target.value })} data-bc={from} />
            </label>
            <label>
              {t('ctSeenTo')}
              <input type="date" value={form[to]} onChange={(e) => setForm({ ...form, [to]: e.target.value })} data-bc={to} />
            </label>
          </div>
        ))}
        <p className="bc-count" data-bc="count">
          {count ? fill(t('bcCount'), { members: count.members, reachable: count.reachable, contacts: count.contacts }) : t('bcCounting')}
        </p>
        <Problems problems={problems} />
        <div className="bc-actions">
          <button type="button" className="primary" onClick={save} data-bc="save-segment">
            {t('bcSaveSegment')}
          </button>
          {editing && (
            <button
              type="button"
              onClick={async () => {
                await api.deleteSegment(bot, editing.id);
                open(null);
                onChange();
              }}
            >
              {t('bcDeleteSegment')}
            </button>
          )}
          {notice && <span className="notice">{notice}</span>}
        </div>
      </div>
    </section>
  );
}

/** Checks picks any of a fixed list of values, each named in the interface's language. */
function Checks({ legend, all, word, on, set }: { legend: string; all: readonly string[]; word: (v: string) => string; on: string[]; set: (vs: string[]) => void }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {all.map((v) => (
        <label key={v} className="inline">
          <input type="checkbox" checked={on.includes(v)} onChange={() => set(on.includes(v) ? on.filter((x) => x !== v) : [...on, v])} /> {word(v)}
        </label>
      ))}
    </fieldset>
  );
}

function Compose({ bot, segments, onCreated }: { bot: string; segments: api.Segment[]; onCreated: (b: api.Broadcast) => void }) {
  const { t } = useI18n();
  const vars = useFlowVars(bot);
  const [f, setF] = useState<ComposeForm>(emptyCompose);
  const [problems, setProblems] = useState<api.Problem[]>([]);
  const setVariant = (i: number, v: Partial<api.Variant>) => setF({ ...f, variants: f.variants.map((x, j) => (j === i ? { ...x, ...v } : x)) });
  const submit = async (start: boolean) => {
    try {
      const b = await api.createBroadcast(bot, toDraft(f, start));
      setProblems([]);
      setF(emptyCompose);
      onCreated(b);
    } catch (e) {
      setProblems(api.problemsOf(e).length ? api.problemsOf(e) : [{ field: '', message: String(e) }]);
    }
  };
  return (
    <div className="bc-form" data-bc="compose">
      <h3>{t('bcNewBroadcast')}</h3>
      <label>
        {t('bcName')}
        <input value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} data-bc="name" />
      </label>
      <label>
        {t('bcAudience')}
        <select value={f.segment} onChange={(e) => setF({ ...f, segment: e.target.value })} data-bc="audience">
          <option value="">{t('bcEveryone')}</option>
          {segments.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('bcMode')}
        <select value={f.mode} onChange={(e) => setF({ ...f, mode: e.target.value as ComposeForm['mode'] })}>
          <option value="message">{t('bcModeMessage')}</option>
          <option value="flow">{t('bcModeFlow')}</option>
        </select>
      </label>
      {f.mode === 'flow' ? (
        <label>
          {t('bcNode')}
          <input value={f.node} onChange={(e) => setF({ ...f, node: e.target.value })} />
        </label>
      ) : (
        f.variants.map((v, i) => (
          <fieldset key={i} className="bc-variant">
            <legend>
              {t('bcVariant')} {v.name}
            </legend>
            {f.variants.length > 1 && (
              <label>
                {t('bcWeight')}
                <input type="number" min={1} value={v.weight} onChange={(e) => setVariant(i, { weight: Number(e.target.value) })} />
              </label>
            )}
            <label>
              {t('bcText')}
              <TemplateText value={v.text} vars={vars} onChange={(text) => setVariant(i, { text })} field={`bc-text-${i}`} attrs={{ 'data-bc': `text-${i}` }} />
            </label>
            {(v.buttons ?? []).map((b, j) => (
              <div className="bc-row" key={j}>
                <input
                  placeholder={t('bcButtonLabel')}
                  value={b.label}
                  onChange={(e) => setVariant(i, { buttons: (v.buttons ?? []).map((x, k) => (k === j ? { ...x, label: e.target.value } : x)) })}
                />
                <input
                  placeholder={t('bcButtonNode')}
                  value={b.node}
                  onChange={(e) => setVariant(i, { buttons: (v.buttons ?? []).map((x, k) => (k === j ? { ...x, node: e.target.value } : x)) })}
                />
                <button type="button" onClick={() => setVariant(i, { buttons: (v.buttons ?? []).filter((_, k) => k !== j) })}>
                  {t('bcRemove')}
                </button>
              </div>
            ))}
            <button type="button" className="link" onClick={() => setVariant(i, { buttons: [...(v.buttons ?? []), { label: '', node: '' }] })}>
              + {t('bcAddButton')}
            </button>
            {f.variants.length > 1 && (
              <button type="button" className="link" onClick={() => setF({ ...f, variants: f.variants.filter((_, k) => k !== i) })}>
                {t('bcRemove')}
              </button>
            )}
          </fieldset>
        ))
      )}
      {f.mode === 'message' && (
        <button type="button" className="link" onClick={() => setF({ ...f, variants: [...f.variants.map((v) => ({ ...v, weight: 50 })), newVariant(f.variants.length)] })}>
          + {t('bcAddVariant')}
        </button>
      )}
      {f.mode === 'message' && (
        <fieldset className="bc-variant" data-bc="wa-template">
          <legend>{t('bcWaTemplate')}</legend>
          <p className="muted">{t('bcWaTemplateHint')}</p>
          <div className="bc-row">
            <label>
              {t('bcWaTemplateName')}
              <input value={f.templateName} onChange={(e) => setF({ ...f, templateName: e.target.value })} data-bc="template-name" />
            </label>
            <label>
              {t('bcWaTemplateLanguage')}
              <input value={f.templateLanguage} onChange={(e) => setF({ ...f, templateLanguage: e.target.value })} data-bc="template-language" />
            </label>
          </div>
          <label>
            {t('bcWaTemplateParams')}
            <textarea rows={2} value={f.templateParams} onChange={(e) => setF({ ...f, templateParams: e.target.value })} data-bc="template-params" />
          </label>
        </fieldset>
      )}
      <label className="inline">
        <input type="checkbox" checked={f.noUnsubscribe} onChange={(e) => setF({ ...f, noUnsubscribe: e.target.checked })} /> {t('bcNoUnsubscribe')}
      </label>
      <div className="bc-row">
        <label>
          {t('bcStartAt')} <small>({t('bcStartNow')})</small>
          <input type="datetime-local" value={f.startAt} onChange={(e) => setF({ ...f, startAt: e.target.value })} />
        </label>
        <label>
          {t('bcWindow')}
          <span className="bc-row">
            <input type="time" value={f.windowStart} onChange={(e) => setF({ ...f, windowStart: e.target.value })} />
            <input type="time" value={f.windowEnd} onChange={(e) => setF({ ...f, windowEnd: e.target.value })} />
          </span>
        </label>
      </div>
      <Problems problems={problems} />
      <div className="bc-actions">
        <button type="button" onClick={() => submit(false)} data-bc="save-draft">
          {t('bcSaveDraft')}
        </button>
        <button type="button" className="primary" onClick={() => submit(true)} data-bc="send">
          {t('bcSend')}
        </button>
      </div>
    </div>
  );
}

function BroadcastView({ bot, id, onChange }: { bot: string; id: string; onChange: () => void }) {
  const { t, tr } = useI18n();
  const [b, setB] = useState<api.Broadcast | null>(null);
  const [results, setResults] = useState<api.VariantResult[]>([]);
  const [chat, setChat] = useState('');
  const [note, setNote] = useState('');
  const load = useCallback(() => {
    api.getBroadcast(bot, id).then(
      (r) => {
        setB(r.broadcast);
        setResults(r.results ?? []);
      },
      (e: unknown) => setNote(String(e)),
    );
  }, [bot, id]);
  useEffect(load, [load]);
  const running = b ? live(b.status) : false;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(load, 1000);
    return () => clearInterval(timer);
  }, [running, load]);
  if (!b) return <p>{note}</p>;
  const p = b.progress;
  const act = async (a: api.Action) => {
    try {
      setB(await api.act(b.id, a));
      setNote('');
      onChange();
      load();
    } catch (e) {
      setNote(api.problemsOf(e).map((x) => `${x.field}: ${x.message}`).join('; ') || String(e));
    }
  };
  return (
    <div className="bc-view" data-bc="view">
      <h3>
        {b.name} <StatusBadge s={b.status} />
      </h3>
      {b.wait_until && b.status === 'running' && <p className="muted">{fill(t('bcWaitUntil'), { t: new Date(b.wait_until).toLocaleString() })}</p>}
      {b.error && <p className="bc-problems">{b.error}</p>}
      {b.template && (
        <p className="muted" data-bc="template">
          {t('bcWaTemplate')}: {b.template.name} ({b.template.language}){b.template.params?.length ? ` · ${b.template.params.join(', ')}` : ''}
        </p>
      )}
      <div className="bc-bar" aria-label={fill(t('bcProgress'), { sent: p.sent, total: p.total })}>
        <div style={{ width: `${percent(p)}%` }} />
      </div>
      <p data-bc="progress" data-sent={p.sent} data-total={p.total}>
        {fill(t('bcProgress'), { sent: p.sent, total: p.total })}
        {p.failed > 0 && ` · ${t('bcFailed')}: ${p.failed}`}
        {(p.unconfirmed ?? 0) > 0 && ` · ${t('bcUnconfirmed')}: ${p.unconfirmed}`}
      </p>
      {skippedRows(p).length > 0 && (
        <p data-bc="skipped">
          {t('bcSkipped')}: {skippedRows(p).map(([r, n]) => `${tr(`bcSkip_${r}`)} — ${n}`).join(', ')}
        </p>
      )}
      <div className="bc-actions">
        {actionsFor(b.status).map((a) => (
          <button key={a} type="button" className={a === 'start' || a === 'resume' ? 'primary' : ''} onClick={() => act(a)} data-bc-action={a}>
            {tr(`bc${a[0].toUpperCase()}${a.slice(1)}`)}
          </button>
        ))}
      </div>
      {b.mode !== 'flow' && (
        <div className="bc-row">
          <input placeholder={t('bcTestChat')} value={chat} onChange={(e) => setChat(e.target.value)} data-bc="test-chat" />
          <button
            type="button"
            onClick={async () => {
              try {
                await api.testSend(b.id, chat.trim(), 0);
                setNote(t('bcTestSent'));
              } catch (e) {
                setNote(String(e));
              }
            }}
            data-bc="test"
          >
            {t('bcTest')}
          </button>
        </div>
      )}
      {note && <p className="notice">{note}</p>}
      {results.length > 0 && (
        <table className="users-table bc-results">
          <caption>{t('bcResults')}</caption>
          <thead>
            <tr>
              <th>{t('bcVariant')}</th>
              <th>{t('bcResSent')}</th>
              <th>{t('bcResPresses')}</th>
              <th>{t('bcResGoals')}</th>
              <th>{t('bcResUnsubs')}</th>
            </tr>
          </thead>
          <tbody>
            {results.map((r) => (
              <tr key={r.name}>
                <td>{r.name}</td>
                <td>{r.sent}</td>
                <td>{r.presses}</td>
                <td>{r.goals}</td>
                <td>{r.unsubscribes}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
