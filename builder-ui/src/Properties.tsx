// The properties panel of a block, generated from its spec: one input per
// field kind, problems under the fields they concern. Pickers name blocks by
// type and first words; conditions are rows (conditions/), a set node's
// values are typed as its variables; a new variable declares itself.
import { useRef, useState, type ReactNode } from 'react';
import { fieldProblems, isVarName, templateVars, type FieldSpec, type FlowDoc, type NodeDoc, type NodeSpec, type Problem } from './model';
import { fieldDoc, nodeDoc, problemText, useI18n } from './i18n';
import { blockSummary, durationWords } from './content';
import { ConditionEditor } from './conditions/ConditionEditor';
import { SetEditor } from './conditions/SetEditor';
import type { VarInfo } from './conditions/conditions';
import { Icon } from './icons';
import { channels as allChannels } from './lib/labels';

interface Props {
  id: string;
  node: NodeDoc;
  spec: NodeSpec | undefined;
  doc: FlowDoc;
  vars: VarInfo[];
  /** The block types a "new block" choice in a picker offers. */
  types: string[];
  expectKinds: string[];
  methods: string[];
  problems: Problem[];
  isStart: boolean;
  onChange: (node: NodeDoc, field: string) => void;
  /** onCreateAfter creates a block of a type and points this block's handle at it. */
  onCreateAfter: (handle: string, type: string) => void;
  onRename: (to: string) => void;
  onMakeStart: () => void;
  onDelete: () => void;
}

type Rec = Record<string, unknown>;

function Problems({ ps }: { ps: Problem[] }) {
  const { lang } = useI18n();
  if (ps.length === 0) return null;
  return (
    <ul className="field-problems">
      {ps.map((p, i) => (
        <li key={i} className={p.severity === 'error' ? 'err' : 'warn'} data-testid="field-problem">
          {problemText(lang, p)}
        </li>
      ))}
    </ul>
  );
}

/** NodeSelect picks the block an exit leads to, by type and first words; or creates a new one there. */
function NodeSelect(props: { value: string | undefined; self: string; doc: FlowDoc; types: string[]; onChange: (v: string | undefined) => void; onCreate: (type: string) => void; testid: string }) {
  const { t, tr } = useI18n();
  const { value, doc } = props;
  const ids = Object.keys(doc.nodes).filter((x) => x !== props.self);
  return (
    <select
      value={value ?? ''}
      data-field={props.testid}
      aria-label={t('goto')}
      onChange={(e) => {
        const v = e.target.value;
        if (v.startsWith('new:')) props.onCreate(v.slice(4));
        else props.onChange(v || undefined);
      }}
    >
      <option value="">{t('none')}</option>
      {value && !doc.nodes[value] && <option value={value}>{value} ?</option>}
      {ids.map((id) => (
        <option key={id} value={id}>
          {blockSummary(doc.nodes[id], id, tr)}
        </option>
      ))}
      <optgroup label={t('createNewBlock')}>
        {props.types.map((ty) => (
          <option key={ty} value={`new:${ty}`}>
            + {tr('type_' + ty)}
          </option>
        ))}
      </optgroup>
    </select>
  );
}

const splitList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function BodyEditor({ value, onChange }: { value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(() => (value === undefined ? '' : JSON.stringify(value, null, 2)));
  const [bad, setBad] = useState(false);
  return (
    <textarea
      rows={5}
      value={text}
      className={bad ? 'bad' : ''}
      data-field="body"
      onChange={(e) => setText(e.target.value)}
      onBlur={() => {
        if (text.trim() === '') return onChange(undefined);
        try {
          onChange(JSON.parse(text));
          setBad(false);
        } catch {
          setBad(true);
        }
      }}
    />
  );
}

/** TemplateText is a text with {{ }} variables inserted at the cursor from a picker (blocks and broadcasts). */
export function TemplateText({ value, vars, onChange, field, attrs }: { value: string; vars: VarInfo[]; onChange: (v: string) => void; field: string; attrs?: Record<string, string> }) {
  const { t } = useI18n();
  const ref = useRef<HTMLTextAreaElement>(null);
  const used = templateVars(value);
  const names: [string, string][] = [
    ...vars.map((v): [string, string] => [v.name, v.name]),
    ['contact.first_name', t('var_contact_first_name')],
    ['score', t('var_score')],
  ];
  const insert = (name: string) => {
    const el = ref.current;
    const at = el ? el.selectionStart : value.length;
    const end = el ? el.selectionEnd : value.length;
    const ins = `{{ ${name} }}`;
    onChange(value.slice(0, at) + ins + value.slice(end));
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at + ins.length, at + ins.length);
    });
  };
  return (
    <>
      <textarea ref={ref} rows={3} value={value} data-field={field} onChange={(e) => onChange(e.target.value)} {...attrs} />
      <div className="var-hints">
        <select
          value=""
          aria-label={t('insertVar')}
          data-field={`${field}.insert`}
          onChange={(e) => {
            if (e.target.value) insert(e.target.value);
          }}
        >
          <option value="">{`{{ }} ${t('insertVar')}`}</option>
          {names.map(([name, label]) => (
            <option key={name} value={name}>
              {used.includes(name) ? '✓ ' : ''}
              {label}
            </option>
          ))}
        </select>
      </div>
    </>
  );
}

export function Properties(p: Props) {
  const { t, tr, lang } = useI18n();
  const [rename, setRename] = useState(p.id);
  const node = p.node;
  const set = (field: string, v: unknown) => {
    const n: NodeDoc = { ...node };
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) delete n[field];
    else n[field] = v;
    p.onChange(n, field);
  };
  const segments = [...Object.keys(p.doc.scoring ?? {}), 'cold'].filter((x, i, a) => a.indexOf(x) === i);
  const tags = [
    ...new Set(
      Object.values(p.doc.nodes).flatMap((n) => [
        ...((n.tags as string[] | undefined) ?? []),
        ...((n.buttons ?? []).flatMap((b) => b.tags ?? []) as string[]),
      ]),
    ),
  ];
  const picker = (value: string | undefined, handle: string, onChange: (v: string | undefined) => void) => (
    <NodeSelect value={value} self={p.id} doc={p.doc} types={p.types} onChange={onChange} onCreate={(ty) => p.onCreateAfter(handle, ty)} testid={handle} />
  );

  const field = (f: FieldSpec): ReactNode => {
    const v = node[f.name];
    const ps = fieldProblems(p.problems, f.name);
    let input: ReactNode;
    switch (f.kind) {
      case 'template':
        input = <TemplateText value={typeof v === 'string' ? v : ''} vars={p.vars} field={f.name} onChange={(x) => set(f.name, x)} />;
        break;
      case 'node':
        input = picker(v as string | undefined, f.name, (x) => set(f.name, x));
        break;
      case 'int':
      case 'number':
        input = (
          <input
            type="number"
            step={f.kind === 'int' ? 1 : 'any'}
            value={v === undefined ? '' : String(v)}
            data-field={f.name}
            onChange={(e) => set(f.name, e.target.value === '' ? undefined : Number(e.target.value))}
          />
        );
        break;
      case 'bool':
        input = <input type="checkbox" checked={v === true} data-field={f.name} onChange={(e) => set(f.name, e.target.checked || undefined)} />;
        break;
      case 'strings':
        input = (
          <input
            value={Array.isArray(v) ? (v as string[]).join(', ') : ''}
            data-field={f.name}
            onChange={(e) => set(f.name, splitList(e.target.value))}
          />
        );
        break;
      case 'variable': {
        const name = typeof v === 'string' ? v : '';
        const declared = p.vars.find((x) => x.name === name);
        input = (
          <>
            <VarInput value={name} vars={p.vars} field={f.name} onCommit={(x) => set(f.name, x)} />
            <datalist id="vars-list">
              {p.vars.map((x) => (
                <option key={x.name} value={x.name}>
                  {tr('vtype_' + x.type)}
                </option>
              ))}
            </datalist>
            <div className="muted small">{declared ? `${name}: ${tr('vtype_' + declared.type)}` : t('newVarHint')}</div>
          </>
        );
        break;
      }
      case 'expect': {
        const isRegex = typeof v === 'object' && v !== null && 'regex' in (v as Rec);
        input = (
          <>
            <select
              value={isRegex ? 'regex' : ((v as string) ?? 'text')}
              data-field={f.name}
              onChange={(e) => set(f.name, e.target.value === 'regex' ? { regex: '^.+$' } : e.target.value === 'text' ? 'text' : e.target.value || undefined)}
            >
              {p.expectKinds.map((k) => (
                <option key={k} value={k}>
                  {tr('expect_' + k)}
                </option>
              ))}
            </select>
            {isRegex && (
              <input value={String((v as Rec).regex ?? '')} data-field="expect.regex" onChange={(e) => set(f.name, { regex: e.target.value })} />
            )}
          </>
        );
        break;
      }
      case 'method':
        input = (
          <select value={(v as string) ?? ''} data-field={f.name} onChange={(e) => set(f.name, e.target.value || undefined)}>
            <option value="">POST</option>
            {p.methods.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        );
        break;
      case 'branches': {
        const list = (Array.isArray(v) ? v : []) as { when?: string; next?: string }[];
        const setItem = (i: number, key: 'when' | 'next', x: string | undefined) => {
          const l = list.map((it) => ({ ...it }));
          if (x === undefined || x === '') delete l[i][key];
          else l[i][key] = x;
          set(f.name, l);
        };
        input = (
          <div className="list-editor branches">
            {list.map((it, i) => (
              <div className="branch" key={i}>
                <div className="branch-head">
                  <b>
                    {t('when')} {i + 1}
                  </b>
                  <button type="button" className="icon" aria-label={t('remove')} title={t('remove')} onClick={() => set(f.name, list.filter((_, j) => j !== i))}>
                    <Icon name="close" size={12} />
                  </button>
                </div>
                <ConditionEditor
                  value={it.when ?? ''}
                  onChange={(x) => setItem(i, 'when', x)}
                  vars={p.vars}
                  segments={segments}
                  tags={tags}
                  channels={[...allChannels]}
                  field={`${f.name}[${i}].when`}
                  bad={fieldProblems(p.problems, `${f.name}[${i}].when`).length > 0}
                />
                <div className="list-row">
                  <span className="muted">{t('goto')}</span>
                  {picker(it.next, `${f.name}[${i}].next`, (x) => setItem(i, 'next', x))}
                </div>
              </div>
            ))}
            <button type="button" data-action={`add-${f.name}`} onClick={() => set(f.name, [...list, { when: defaultWhen(p.vars) }])}>
              + {t('add')}
            </button>
          </div>
        );
        break;
      }
      case 'buttons':
      case 'variants': {
        const list = (Array.isArray(v) ? v : []) as Rec[];
        const cols: [string, string][] =
          f.kind === 'buttons'
            ? [
                ['label', t('label')],
                ['score', t('score')],
              ]
            : [
                ['name', t('name')],
                ['weight', t('weight')],
              ];
        const setItem = (i: number, key: string, x: unknown) => {
          const l = list.map((it) => ({ ...it }));
          if (x === undefined || x === '') delete l[i][key];
          else l[i][key] = x;
          set(f.name, l);
        };
        input = (
          <div className="list-editor">
            {list.map((it, i) => (
              <div className="list-row" key={i}>
                {cols.map(([key, label]) => (
                  <input
                    key={key}
                    placeholder={label}
                    title={label}
                    aria-label={label}
                    type={key === 'score' || key === 'weight' ? 'number' : 'text'}
                    className={`${key === 'score' || key === 'weight' ? 'num' : ''}${fieldProblems(p.problems, `${f.name}[${i}].${key}`).length ? ' bad' : ''}`}
                    value={it[key] === undefined ? '' : String(it[key])}
                    data-field={`${f.name}[${i}].${key}`}
                    onChange={(e) =>
                      setItem(i, key, key === 'score' || key === 'weight' ? (e.target.value === '' ? undefined : Number(e.target.value)) : e.target.value)
                    }
                  />
                ))}
                {picker(it.next as string | undefined, `${f.name}[${i}].next`, (x) => setItem(i, 'next', x))}
                <button type="button" className="icon" title={t('remove')} aria-label={t('remove')} onClick={() => set(f.name, list.filter((_, j) => j !== i))}>
                  <Icon name="close" size={12} />
                </button>
              </div>
            ))}
            <button
              type="button"
              data-action={`add-${f.name}`}
              onClick={() => set(f.name, [...list, f.kind === 'buttons' ? { label: `${t('label')} ${list.length + 1}` } : { name: String.fromCharCode(65 + list.length), weight: 1 }])}
            >
              + {t('add')}
            </button>
          </div>
        );
        break;
      }
      case 'timeout': {
        const to = v as Rec | undefined;
        const after = (to?.after as string) ?? '';
        input = (
          <div className="list-row">
            <input
              placeholder={t('after')}
              title={after ? durationWords(after, tr) : t('after')}
              value={after}
              className="num"
              data-field="timeout.after"
              onChange={(e) => set(f.name, e.target.value || to?.next ? { ...to, after: e.target.value } : undefined)}
            />
            {picker(to?.next as string | undefined, 'timeout.next', (x) => set(f.name, x || to?.after ? { ...to, after: after || '1h', next: x } : undefined))}
          </div>
        );
        break;
      }
      case 'assignments':
        input = <SetEditor value={(v && typeof v === 'object' ? v : {}) as Record<string, string>} vars={p.vars} field={f.name} onChange={(x) => set(f.name, x)} />;
        break;
      case 'headers': {
        const m = (v && typeof v === 'object' ? v : {}) as Record<string, string>;
        const entries = Object.entries(m);
        const put = (es: [string, string][]) => set(f.name, Object.fromEntries(es));
        input = (
          <div className="list-editor">
            {entries.map(([k, x], i) => (
              <div className="list-row" key={i}>
                <input value={k} data-field={`${f.name}.key${i}`} onChange={(e) => put(entries.map((en, j) => (j === i ? [e.target.value, en[1]] : en)))} />
                <input
                  value={String(x)}
                  data-field={`${f.name}.${k}`}
                  className={fieldProblems(p.problems, `${f.name}.${k}`).length ? 'bad' : ''}
                  onChange={(e) => put(entries.map((en, j) => (j === i ? [en[0], e.target.value] : en)))}
                />
                <button type="button" className="icon" aria-label={t('remove')} onClick={() => put(entries.filter((_, j) => j !== i))}>
                  <Icon name="close" size={12} />
                </button>
              </div>
            ))}
            <button type="button" onClick={() => put([...entries, [`X-Header-${entries.length + 1}`, '']])}>
              + {t('add')}
            </button>
          </div>
        );
        break;
      }
      case 'body':
        input = <BodyEditor value={v} onChange={(x) => set(f.name, x)} />;
        break;
      default:
        input = <input value={(v as string) ?? ''} data-field={f.name} onChange={(e) => set(f.name, e.target.value)} />;
    }
    return (
      <div className={`field${ps.some((x) => x.severity === 'error') ? ' field-error' : ''}`} key={f.name} title={fieldDoc(lang, node.type, f.name, f.doc)}>
        <label>
          {tr('field_' + f.name)}
          {f.required ? ' *' : ''}
        </label>
        {input}
        <Problems ps={ps} />
      </div>
    );
  };

  const other = p.problems.filter((x) => !x.field || !(p.spec?.fields ?? []).some((f) => fieldProblems([x], f.name).length > 0));
  return (
    <div className="props" data-testid="properties">
      <h3>
        <Icon name={node.type} /> {tr('type_' + node.type)} <small data-testid="node-doc">{p.spec ? nodeDoc(lang, node.type, p.spec.doc) : ''}</small>
      </h3>
      <div className="row">
        {p.isStart ? (
          <span className="badge">
            <Icon name="start" size={12} /> {t('isStart')}
          </span>
        ) : (
          <button onClick={p.onMakeStart}>
            <Icon name="start" size={12} /> {t('makeStart')}
          </button>
        )}
        <button className="danger" onClick={p.onDelete}>
          <Icon name="trash" size={14} /> {t('delete')}
        </button>
      </div>
      <Problems ps={other} />
      {(p.spec?.fields ?? []).filter((f) => f.name !== 'type' && f.name !== 'ui').map(field)}
      <details className="advanced">
        <summary>{t('nodeId')}</summary>
        <input
          value={rename}
          data-field="id"
          onChange={(e) => setRename(e.target.value)}
          onBlur={() => rename !== p.id && /^[A-Za-z0-9_-]{1,64}$/.test(rename) && p.onRename(rename)}
        />
      </details>
    </div>
  );
}

/**
 * VarInput names the variable an answer is saved to. The name counts once
 * typed (on leaving the field, Enter, or picking a declared one), so a new
 * variable is declared once, not once per letter.
 */
function VarInput({ value, vars, field, onCommit }: { value: string; vars: VarInfo[]; field: string; onCommit: (v: string) => void }) {
  const [text, setText] = useState(value);
  const commit = (x: string) => x.trim() !== value && onCommit(x.trim());
  return (
    <input
      list="vars-list"
      value={text}
      data-field={field}
      className={text && !isVarName(text.trim()) ? 'bad' : ''}
      onChange={(e) => {
        setText(e.target.value);
        if (vars.some((x) => x.name === e.target.value)) commit(e.target.value);
      }}
      onBlur={() => commit(text)}
      onKeyDown={(e) => e.key === 'Enter' && commit(text)}
    />
  );
}

function defaultWhen(vars: VarInfo[]): string {
  const v = vars.find((x) => x.type === 'number');
  return v ? `${v.name} >= 0` : 'score >= 10';
}
