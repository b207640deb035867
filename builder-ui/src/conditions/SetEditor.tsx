// The editor of a set node's assignments: "variable = value" rows where the
// value is typed as the variable's type (a number, a text, yes/no) and
// compiled to the expression set runs; a value that is not a plain literal
// is shown as an expression, for those who write them.
import { useI18n } from '../i18n';
import { numberLiteral, type VarInfo } from './conditions';

interface Props {
  value: Record<string, string>;
  onChange: (v: Record<string, string>) => void;
  vars: VarInfo[];
  field: string;
}

type Literal = { kind: 'number' | 'text' | 'bool'; text: string } | null;

/** literalOf reads an assignment's expression as a plain value, or null when it is more than that. */
export function literalOf(expr: string): Literal {
  const t = expr.trim();
  if (t === 'true' || t === 'false') return { kind: 'bool', text: t };
  if (numberLiteral(t) !== null && !/\s/.test(t)) return { kind: 'number', text: t };
  if (/^"(?:[^"\\]|\\.)*"$/.test(t)) {
    try {
      return { kind: 'text', text: JSON.parse(t) as string };
    } catch {
      return null;
    }
  }
  return null;
}

/** literalExpr writes a value typed into the editor as the expression for a variable of type. */
export function literalExpr(text: string, type: string | undefined): string {
  if (type === 'number') return numberLiteral(text) ?? '0';
  if (type === 'bool') return text === 'true' ? 'true' : 'false';
  if (type === undefined && numberLiteral(text) !== null) return numberLiteral(text) as string;
  return JSON.stringify(text);
}

export function SetEditor({ value, onChange, vars, field }: Props) {
  const { t } = useI18n();
  const entries = Object.entries(value);
  const types = new Map(vars.map((v) => [v.name, v.type]));
  const put = (es: [string, string][]) => onChange(Object.fromEntries(es));
  return (
    <div className="list-editor set-editor">
      {entries.map(([name, expr], i) => {
        const type = types.get(name);
        const lit = literalOf(expr);
        const plain = lit !== null && (type === undefined || (type === 'number') === (lit.kind === 'number') || (type === 'bool') === (lit.kind === 'bool'));
        const setExpr = (e: string) => put(entries.map((en, j) => (j === i ? [en[0], e] : en)));
        return (
          <div className="list-row" key={i}>
            <input
              value={name}
              list={`${field}-vars`}
              aria-label={t('field_vars')}
              data-field={`${field}.name${i}`}
              onChange={(e) => put(entries.map((en, j) => (j === i ? [e.target.value, en[1]] : en)))}
            />
            <span>=</span>
            {plain && type === 'bool' ? (
              <select value={lit?.text} data-field={`${field}.${name}`} aria-label={t('set_value')} onChange={(e) => setExpr(e.target.value)}>
                <option value="true">{t('set_yes')}</option>
                <option value="false">{t('set_no')}</option>
              </select>
            ) : plain ? (
              <input
                value={lit?.text ?? ''}
                aria-label={t('set_value')}
                data-field={`${field}.${name}`}
                onChange={(e) => setExpr(literalExpr(e.target.value, type))}
              />
            ) : (
              <input value={expr} className="mono" title={t('set_asExpression')} aria-label={t('set_asExpression')} data-field={`${field}.${name}`} onChange={(e) => setExpr(e.target.value)} />
            )}
            <button type="button" className="icon" aria-label={t('remove')} title={t('remove')} onClick={() => put(entries.filter((_, j) => j !== i))}>
              ×
            </button>
          </div>
        );
      })}
      <datalist id={`${field}-vars`}>
        {vars.map((v) => (
          <option key={v.name} value={v.name} />
        ))}
      </datalist>
      <button
        type="button"
        data-action={`add-${field}`}
        onClick={() => {
          const v = vars.find((x) => !(x.name in value));
          put([...entries, [v?.name ?? '', v ? literalExpr(v.type === 'number' ? '0' : '', v.type) : '""']]);
        }}
      >
        + {t('add')}
      </button>
    </div>
  );
}
