// The properties panel of a node, generated from its spec: one input per
// field kind, problems under the fields they concern.
import { useState, type ReactNode } from 'react';
import { fieldProblems, templateVars, type FieldSpec, type NodeDoc, type NodeSpec, type Problem } from './model';
import { fieldDoc, nodeDoc, problemText, useI18n } from './i18n';

interface Props {
  id: string;
  node: NodeDoc;
  spec: NodeSpec | undefined;
  nodeIds: string[];
  vars: string[];
  expectKinds: string[];
  methods: string[];
  problems: Problem[];
  isStart: boolean;
  onChange: (node: NodeDoc, field: string) => void;
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

function NodeSelect({ value, ids, onChange, testid }: { value: string | undefined; ids: string[]; onChange: (v: string | undefined) => void; testid: string }) {
  const { t } = useI18n();
  return (
    <select value={value ?? ''} onChange={(e) => onChange(e.target.value || undefined)} data-field={testid}>
      <option value="">{t('none')}</option>
      {value && !ids.includes(value) && <option value={value}>{value} ?</option>}
      {ids.map((id) => (
        <option key={id} value={id}>
          {id}
        </option>
      ))}
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
    <>
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

  const field = (f: FieldSpec): ReactNode => {
    const v = node[f.name];
    const ps = fieldProblems(p.problems, f.name);
    let input: ReactNode;
    switch (f.kind) {
      case 'template': {
        const used = typeof v === 'string' ? templateVars(v) : [];
        input = (
          <>
            <textarea rows={3} value={(v as string) ?? ''} data-field={f.name} onChange={(e) => set(f.name, e.target.value)} />
            {p.vars.length > 0 && (
              <div className="var-hints">
                {t('varHint')}
                {p.vars.map((name) => (
                  <button
                    key={name}
                    type="button"
                    className={used.includes(name) ? 'used' : ''}
                    onClick={() => set(f.name, `${(v as string) ?? ''}{{ ${name} }}`)}
                  >
                    {`{{ ${name} }}`}
                  </button>
                ))}
              </div>
            )}
          </>
        );
        break;
      }
      case 'node':
        input = <NodeSelect value={v as string | undefined} ids={p.nodeIds} onChange={(x) => set(f.name, x)} testid={f.name} />;
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
      case 'variable':
        input = (
          <>
            <input list="vars-list" value={(v as string) ?? ''} data-field={f.name} onChange={(e) => set(f.name, e.target.value)} />
            <datalist id="vars-list">
              {p.vars.map((x) => (
                <option key={x} value={x} />
              ))}
            </datalist>
          </>
        );
        break;
      case 'expect': {
        const isRegex = typeof v === 'object' && v !== null && 'regex' in (v as Rec);
        input = (
          <>
            <select
              value={isRegex ? 'regex' : ((v as string) ?? '')}
              data-field={f.name}
              onChange={(e) => set(f.name, e.target.value === 'regex' ? { regex: '^.+$' } : e.target.value || undefined)}
            >
              <option value="">{t('none')}</option>
              {p.expectKinds.map((k) => (
                <option key={k} value={k}>
                  {k}
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
      case 'buttons':
      case 'branches':
      case 'variants': {
        const list = (Array.isArray(v) ? v : []) as Rec[];
        const cols: [string, string][] =
          f.kind === 'buttons'
            ? [
                ['label', t('label')],
                ['score', t('score')],
              ]
            : f.kind === 'branches'
              ? [['when', t('when')]]
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
                    type={key === 'score' || key === 'weight' ? 'number' : 'text'}
                    value={it[key] === undefined ? '' : String(it[key])}
                    data-field={`${f.name}[${i}].${key}`}
                    className={fieldProblems(p.problems, `${f.name}[${i}].${key}`).length ? 'bad' : ''}
                    onChange={(e) =>
                      setItem(i, key, key === 'score' || key === 'weight' ? (e.target.value === '' ? undefined : Number(e.target.value)) : e.target.value)
                    }
                  />
                ))}
                <NodeSelect value={it.next as string | undefined} ids={p.nodeIds} onChange={(x) => setItem(i, 'next', x)} testid={`${f.name}[${i}].next`} />
                <button type="button" className="icon" title={t('remove')} onClick={() => set(f.name, list.filter((_, j) => j !== i))}>
                  ✕
                </button>
              </div>
            ))}
            <button
              type="button"
              data-action={`add-${f.name}`}
              onClick={() =>
                set(f.name, [...list, f.kind === 'buttons' ? { label: `${list.length + 1}` } : f.kind === 'branches' ? { when: 'true' } : { name: String.fromCharCode(65 + list.length), weight: 1 }])
              }
            >
              + {t('add')}
            </button>
          </div>
        );
        break;
      }
      case 'timeout': {
        const to = v as Rec | undefined;
        input = (
          <div className="list-row">
            <input
              placeholder={t('after')}
              value={(to?.after as string) ?? ''}
              data-field="timeout.after"
              onChange={(e) => set(f.name, e.target.value || to?.next ? { ...to, after: e.target.value } : undefined)}
            />
            <NodeSelect value={to?.next as string | undefined} ids={p.nodeIds} onChange={(x) => set(f.name, x || to?.after ? { ...to, next: x } : undefined)} testid="timeout.next" />
          </div>
        );
        break;
      }
      case 'assignments':
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
                <button type="button" className="icon" onClick={() => put(entries.filter((_, j) => j !== i))}>
                  ✕
                </button>
              </div>
            ))}
            <button type="button" onClick={() => put([...entries, [`x${entries.length + 1}`, f.kind === 'headers' ? '' : '0']])}>
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
        {tr('type_' + node.type)} <small data-testid="node-doc">{p.spec ? nodeDoc(lang, node.type, p.spec.doc) : ''}</small>
      </h3>
      <div className="field">
        <label>{t('nodeId')}</label>
        <input
          value={rename}
          data-field="id"
          onChange={(e) => setRename(e.target.value)}
          onBlur={() => rename !== p.id && /^[A-Za-z0-9_-]{1,64}$/.test(rename) && p.onRename(rename)}
        />
      </div>
      <div className="row">
        {p.isStart ? <span className="badge">▶ {t('isStart')}</span> : <button onClick={p.onMakeStart}>▶ {t('makeStart')}</button>}
        <button className="danger" onClick={p.onDelete}>
          {t('delete')}
        </button>
      </div>
      <Problems ps={other} />
      {(p.spec?.fields ?? []).filter((f) => f.name !== 'type' && f.name !== 'ui').map(field)}
    </div>
  );
}
