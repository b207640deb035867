// The lead card beside the chat: who the customer is, where they came from,
// their score, segment, tags and variables (tags and variables editable),
// the note the handoff left, and what they said to the bot before.
import { useEffect, useState, type FormEvent } from 'react';
import { useI18n } from '../i18n';
import { clock } from './time';
import type { Card } from './types';
import { displayName } from './util';

interface Props {
  card: Card | null;
  now: number;
  onTags: (tags: string[]) => Promise<boolean>;
  onVar: (name: string, value: unknown) => Promise<boolean>;
  onClose: () => void;
}

/** parseVar turns what was typed into a value of the variable's declared type; the server checks it again. */
export function parseVar(type: string | undefined, raw: string): unknown {
  const s = raw.trim();
  if (s === '') return null;
  switch (type) {
    case 'number': {
      const n = Number(s.replace(/\s/g, '').replace(',', '.'));
      return Number.isFinite(n) ? n : s;
    }
    case 'bool':
      return ['true', 'да', 'yes', '1'].includes(s.toLowerCase()) ? true : ['false', 'нет', 'no', '0'].includes(s.toLowerCase()) ? false : s;
    case 'list':
    case 'object':
      try {
        return JSON.parse(s);
      } catch {
        return type === 'list' ? s.split(',').map((x) => x.trim()).filter(Boolean) : s;
      }
    default:
      return raw;
  }
}

/** showVar is a variable's value as an input shows it. */
export function showVar(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function LeadCard({ card, now, onTags, onVar, onClose }: Props) {
  const { t, tr, lang } = useI18n();
  const [newTag, setNewTag] = useState('');
  if (!card) return <aside className="ibx-card" data-testid="lead-card" />;
  const c = card.contact ?? {};
  const names = Object.keys({ ...(card.var_types ?? {}), ...(card.vars ?? {}) }).sort();
  const tags = card.tags ?? [];
  const addTag = async (e: FormEvent) => {
    e.preventDefault();
    const tag = newTag.trim();
    if (!tag || tags.includes(tag)) return;
    if (await onTags([...tags, tag])) setNewTag('');
  };
  return (
    <aside className="ibx-card" data-testid="lead-card">
      <header className="ibx-card-head">
        <b>{t('inboxCard')}</b>
        <button className="icon" onClick={onClose} aria-label="×">
          ×
        </button>
      </header>
      <section>
        <h4>{t('inboxCardProfile')}</h4>
        <dl>
          <dt>{t('fullName')}</dt>
          <dd data-testid="card-name">{displayName(card, t('inboxVisitor'))}</dd>
          {c.username && (
            <>
              <dt>{t('inboxUsername')}</dt>
              <dd>@{c.username}</dd>
            </>
          )}
          {c.phone && (
            <>
              <dt>{t('inboxPhone')}</dt>
              <dd>{c.phone}</dd>
            </>
          )}
          {c.language && (
            <>
              <dt>{t('inboxLanguage')}</dt>
              <dd>{c.language}</dd>
            </>
          )}
          <dt>{t('inboxCardChannel')}</dt>
          <dd>
            {tr('inboxChannel_' + card.channel)} <span className="muted small">{card.chat}</span>
          </dd>
          <dt>{t('inboxCardSource')}</dt>
          <dd>{card.source || <span className="muted">{t('inboxCardEmpty')}</span>}</dd>
          <dt>{t('inboxCardScore')}</dt>
          <dd data-testid="card-score">{card.score ?? 0}</dd>
          <dt>{t('inboxCardSegment')}</dt>
          <dd>{card.segment ? <span className={`ibx-seg ${card.segment}`}>{tr('inboxSegment_' + card.segment)}</span> : <span className="muted">{t('inboxCardEmpty')}</span>}</dd>
          {card.flow && (
            <>
              <dt>{t('inboxCardFlow')}</dt>
              <dd className="small">
                {card.flow.id} v{card.flow.version}
                {card.flow.node ? ` · ${card.flow.node}` : ''}
              </dd>
            </>
          )}
        </dl>
      </section>
      {card.note && (
        <section>
          <h4>{t('inboxCardNote')}</h4>
          <div className="ibx-card-note" data-testid="card-note">
            {card.note}
          </div>
        </section>
      )}
      <section>
        <h4>{t('inboxCardTags')}</h4>
        <div className="ibx-tags" data-testid="card-tags">
          {tags.map((tag) => (
            <span key={tag} className="ibx-tag" data-tag={tag}>
              {tag}
              <button className="icon" aria-label={`${t('remove')} ${tag}`} onClick={() => void onTags(tags.filter((x) => x !== tag))}>
                ×
              </button>
            </span>
          ))}
          <form onSubmit={addTag} className="ibx-tag-add">
            <input value={newTag} onChange={(e) => setNewTag(e.target.value)} placeholder={t('inboxCardAddTag')} data-field="new-tag" />
          </form>
        </div>
      </section>
      <section>
        <h4>{t('inboxCardVars')}</h4>
        {names.length === 0 && <div className="muted">{t('inboxCardEmpty')}</div>}
        <div className="ibx-vars" data-testid="card-vars">
          {names.map((n) => (
            <VarField key={`${card.id}/${n}`} name={n} type={card.var_types?.[n]} value={card.vars?.[n]} onSave={onVar} />
          ))}
        </div>
      </section>
      {card.bot_transcript && card.bot_transcript.length > 0 && (
        <section>
          <details>
            <summary>
              <h4>
                {t('inboxCardBot')} ({card.bot_transcript.length})
              </h4>
            </summary>
            <div className="ibx-bot-log" data-testid="card-bot-transcript">
              {card.bot_transcript.map((m) => (
                <div key={m.id} className={`ibx-bot-line ${m.direction}`}>
                  <span className="muted small">{clock(m.at, now, lang)}</span> <b>{tr('inboxFrom_' + m.direction)}:</b> {m.text}
                </div>
              ))}
            </div>
          </details>
        </section>
      )}
    </aside>
  );
}

function VarField({ name, type, value, onSave }: { name: string; type?: string; value: unknown; onSave: (name: string, value: unknown) => Promise<boolean> }) {
  const { t } = useI18n();
  const [text, setText] = useState(showVar(value));
  const [state, setState] = useState<'' | 'saved' | 'bad'>('');
  useEffect(() => setText(showVar(value)), [value]);
  const save = async () => {
    if (text === showVar(value)) return;
    const ok = await onSave(name, parseVar(type, text));
    setState(ok ? 'saved' : 'bad');
  };
  return (
    <label className={`ibx-var${state === 'bad' ? ' field-error' : ''}`} data-var={name}>
      <span>
        {name} {type && <span className="muted small">{type}</span>}
        {state === 'saved' && <span className="ok small"> ✓ {t('inboxCardSaved')}</span>}
      </span>
      <input
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setState('');
        }}
        onBlur={() => void save()}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            void save();
          }
        }}
      />
    </label>
  );
}
