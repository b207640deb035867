// The condition row editor: rows of "what, how, value" joined by И or ИЛИ,
// compiling to an expr-lang expression; an expression that does not fit the
// rows is edited as text ("expression" mode). Used by the condition node's
// branches; the broadcasts' segments can use it with their own subjects.
import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../i18n';
import {
  compile,
  defaultRow,
  opsFor,
  parse,
  subjectKinds,
  takesValue,
  valueKind,
  type Op,
  type Row,
  type Rows,
  type SubjectKind,
  type VarInfo,
} from './conditions';

export interface ConditionEditorProps {
  value: string;
  onChange: (expr: string) => void;
  vars: VarInfo[];
  /** Segment names (the flow's scoring plus cold). */
  segments: string[];
  /** Tags seen in the flow, offered as suggestions. */
  tags: string[];
  /** Channel ids, such as telegram and web. */
  channels: string[];
  /** The subjects offered besides variables. */
  kinds?: SubjectKind[];
  /** A prefix for data-field attributes (tests find inputs by it). */
  field: string;
  /** Whether the expression has an error (shown on the expression box). */
  bad?: boolean;
}


/** useVarLabel returns how a variable is named in the interface: by its own (possibly Russian) name. */
export function subjectKey(r: Row): string {
  return r.kind === 'var' ? `var:${r.name}` : r.kind;
}

export function ConditionEditor(p: ConditionEditorProps) {
  const { t, tr } = useI18n();
  const parsed = parse(p.value, p.vars);
  const [mode, setMode] = useState<'rows' | 'expr'>(parsed ? 'rows' : 'expr');
  const [rows, setRows] = useState<Rows>(parsed ?? { join: 'and', rows: [] });
  const emitted = useRef(p.value);
  // A change from outside (undo, YAML import) re-reads the expression.
  useEffect(() => {
    if (p.value === emitted.current) return;
    emitted.current = p.value;
    const r = parse(p.value, p.vars);
    if (r) setRows(r);
    else setMode('expr');
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [p.value]);

  const emit = (next: Rows) => {
    setRows(next);
    const e = compile(next, p.vars);
    emitted.current = e;
    p.onChange(e);
  };
  const setRow = (i: number, r: Row) => emit({ ...rows, rows: rows.rows.map((x, j) => (j === i ? r : x)) });
  const types = new Map(p.vars.map((v) => [v.name, v.type]));
  const kinds = p.kinds ?? subjectKinds;
  const usable = p.vars.filter((v) => valueKind('var', v.type) !== 'other');

  const changeSubject = (i: number, key: string) => {
    const kind = (key.startsWith('var:') ? 'var' : key) as SubjectKind;
    const name = kind === 'var' ? key.slice(4) : undefined;
    const vk = valueKind(kind, types.get(name ?? ''));
    const value = vk === 'number' ? '0' : kind === 'segment' ? (p.segments[0] ?? 'hot') : kind === 'channel' ? (p.channels[0] ?? 'telegram') : '';
    setRow(i, { kind, name, op: opsFor(vk)[0], value });
  };

  if (mode === 'expr') {
    const canRows = parsed !== null;
    return (
      <div className="cond-editor cond-expr">
        <textarea
          rows={2}
          value={p.value}
          className={p.bad ? 'bad' : ''}
          data-field={`${p.field}.expr`}
          aria-label={t('cond_asExpression')}
          onChange={(e) => {
            emitted.current = e.target.value;
            p.onChange(e.target.value);
          }}
        />
        <div className="muted small">{canRows ? t('cond_exprHelp') : t('cond_notRows')}</div>
        <button
          type="button"
          className="link"
          disabled={!canRows}
          onClick={() => {
            if (parsed) setRows(parsed);
            setMode('rows');
          }}
        >
          {t('cond_asRows')}
        </button>
      </div>
    );
  }

  return (
    <div className="cond-editor" data-field={p.field}>
      {rows.rows.length > 1 && (
        <select
          className="cond-join"
          value={rows.join}
          aria-label={t('cond_joinAnd')}
          data-field={`${p.field}.join`}
          onChange={(e) => emit({ ...rows, join: e.target.value as Rows['join'] })}
        >
          <option value="and">{t('cond_joinAnd')}</option>
          <option value="or">{t('cond_joinOr')}</option>
        </select>
      )}
      {rows.rows.length === 0 && <div className="muted small">{t('cond_noRows')}</div>}
      {rows.rows.map((r, i) => {
        const vk = valueKind(r.kind, types.get(r.name ?? ''));
        return (
          <div className="cond-row" key={i}>
            {i > 0 && <span className="cond-joinword">{rows.join === 'and' ? t('cond_and') : t('cond_or')}</span>}
            <select value={subjectKey(r)} aria-label={t('cond_subject')} data-field={`${p.field}.row${i}.subject`} onChange={(e) => changeSubject(i, e.target.value)}>
              {usable.length > 0 && (
                <optgroup label={t('cond_vars')}>
                  {usable.map((v) => (
                    <option key={v.name} value={`var:${v.name}`}>
                      {v.name}
                    </option>
                  ))}
                </optgroup>
              )}
              {r.kind === 'var' && !usable.some((v) => v.name === r.name) && <option value={subjectKey(r)}>{r.name}</option>}
              {kinds.map((k) => (
                <option key={k} value={k}>
                  {tr('cond_subj_' + k)}
                </option>
              ))}
            </select>
            <select value={r.op} aria-label={t('cond_operator')} data-field={`${p.field}.row${i}.op`} onChange={(e) => setRow(i, { ...r, op: e.target.value as Op })}>
              {opsFor(vk).map((o) => (
                <option key={o} value={o}>
                  {tr('cond_op_' + o)}
                </option>
              ))}
            </select>
            {takesValue(r.op) && (
              <ValueInput row={r} vk={vk} p={p} onChange={(value) => setRow(i, { ...r, value })} field={`${p.field}.row${i}.value`} />
            )}
            <button type="button" className="icon" title={t('cond_removeRow')} aria-label={t('cond_removeRow')} onClick={() => emit({ ...rows, rows: rows.rows.filter((_, j) => j !== i) })}>
              ×
            </button>
          </div>
        );
      })}
      <div className="row">
        <button type="button" data-action={`${p.field}.add-row`} onClick={() => emit({ ...rows, rows: [...rows.rows, defaultRow(p.vars)] })}>
          + {t('cond_addRow')}
        </button>
        <button type="button" className="link" data-action={`${p.field}.as-expr`} onClick={() => setMode('expr')}>
          {t('cond_asExpression')}
        </button>
      </div>
    </div>
  );
}

function ValueInput({ row, vk, p, onChange, field }: { row: Row; vk: string; p: ConditionEditorProps; onChange: (v: string) => void; field: string }) {
  const { t, tr } = useI18n();
  if (row.kind === 'segment') {
    const opts = p.segments.includes(row.value) ? p.segments : [...p.segments, row.value];
    return (
      <select value={row.value} aria-label={t('cond_value')} data-field={field} onChange={(e) => onChange(e.target.value)}>
        {opts.map((s) => (
          <option key={s} value={s}>
            {segmentLabel(s, tr)}
          </option>
        ))}
      </select>
    );
  }
  if (row.kind === 'channel') {
    const opts = p.channels.includes(row.value) ? p.channels : [...p.channels, row.value];
    return (
      <select value={row.value} aria-label={t('cond_value')} data-field={field} onChange={(e) => onChange(e.target.value)}>
        {opts.map((c) => (
          <option key={c} value={c}>
            {tr('channel_' + c)}
          </option>
        ))}
      </select>
    );
  }
  const list = row.kind === 'tag' ? `${field}-tags` : undefined;
  return (
    <>
      <input
        value={row.value}
        inputMode={vk === 'number' ? 'decimal' : undefined}
        aria-label={t('cond_value')}
        data-field={field}
        list={list}
        onChange={(e) => onChange(e.target.value)}
      />
      {list && (
        <datalist id={list}>
          {p.tags.map((x) => (
            <option key={x} value={x} />
          ))}
        </datalist>
      )}
    </>
  );
}

/** segmentLabel names hot, warm and cold in the interface's language; other segments by their own name. */
export function segmentLabel(s: string, tr: (k: string) => string): string {
  const k = 'cond_segment_' + s;
  const v = tr(k);
  return v === k ? s : v;
}
