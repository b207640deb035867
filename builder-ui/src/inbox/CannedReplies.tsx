// Canned replies of a bot (GET/POST/PUT/DELETE /api/bots/{bot}/canned): the
// texts operators pick with "/" in the composer. Templates as in flow texts.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import * as api from '../api';
import { useI18n } from '../i18n';
import * as inboxApi from './api';
import type { Canned } from './types';
import './inbox.css';

interface Draft {
  shortcut: string;
  title: string;
  text: string;
}
const blank: Draft = { shortcut: '', title: '', text: '' };

export function CannedReplies() {
  const { t } = useI18n();
  const [bots, setBots] = useState<api.BotInfo[]>([]);
  const [bot, setBot] = useState('');
  const [items, setItems] = useState<Canned[]>([]);
  const [form, setForm] = useState<Draft>(blank);
  const [failure, setFailure] = useState<unknown>(null);
  const [notice, setNotice] = useState('');

  useEffect(() => {
    api.listBots().then((bs) => {
      setBots(bs);
      setBot((b) => b || bs[0]?.id || '');
    }, setFailure);
  }, []);
  const reload = useCallback(() => {
    if (bot) inboxApi.listCanned(bot).then(setItems, setFailure);
  }, [bot]);
  useEffect(reload, [reload]);

  const errorText = (e: unknown) => {
    if (e instanceof api.ApiError) {
      if (e.status === 409) return t('inboxCannedTaken');
      if (e.status === 400 && e.message.includes('shortcut')) return t('inboxCannedShortcutRule');
      const d = e.details;
      return typeof d === 'string' ? `${e.message}: ${d}` : e.message;
    }
    return e instanceof Error ? e.message : String(e);
  };
  const run = async (what: () => Promise<unknown>, done: string) => {
    setFailure(null);
    setNotice('');
    try {
      await what();
      setNotice(done);
      reload();
      return true;
    } catch (e) {
      setFailure(e);
      return false;
    }
  };
  const add = async (e: FormEvent) => {
    e.preventDefault();
    const body = { shortcut: form.shortcut.trim(), title: form.title.trim() || undefined, text: form.text };
    if (await run(() => inboxApi.createCanned(bot, body), `/${body.shortcut}: ${t('inboxCardSaved')}`)) setForm(blank);
  };

  return (
    <div className="canned-page" data-testid="canned-page">
      <div className="row">
        <h2 style={{ margin: 0 }}>{t('inboxCanned')}</h2>
        <label className="row">
          {t('bot')}
          <select value={bot} onChange={(e) => setBot(e.target.value)} data-field="canned-bot" style={{ width: 'auto' }}>
            {bots.map((b) => (
              <option key={b.id} value={b.id}>
                {b.name || b.id}
              </option>
            ))}
          </select>
        </label>
      </div>
      {failure != null && (
        <div className="err" data-testid="canned-error">
          {errorText(failure)}
        </div>
      )}
      {notice && <div className="ok">{notice}</div>}
      <div className="canned-list">
        {items.map((c) => (
          <CannedItem
            key={c.id}
            c={c}
            onSave={(d) => run(() => inboxApi.updateCanned(bot, c.id, { ...d, title: d.title || undefined }), `/${d.shortcut}: ${t('inboxCardSaved')}`)}
            onDelete={() => {
              if (window.confirm(`${t('inboxCannedDeleteConfirm')} /${c.shortcut}?`)) void run(() => inboxApi.deleteCanned(bot, c.id), `/${c.shortcut}: ${t('delete')}`);
            }}
          />
        ))}
      </div>
      <form className="canned-item" onSubmit={add} data-testid="canned-add">
        <b>{t('inboxCannedNew')}</b>
        <Fields d={form} onChange={setForm} />
        <div>
          <button className="primary" type="submit" disabled={!bot || !form.shortcut || !form.text} data-action="canned-add">
            {t('add')}
          </button>
        </div>
      </form>
    </div>
  );
}

function Fields({ d, onChange }: { d: Draft; onChange: (d: Draft) => void }) {
  const { t } = useI18n();
  return (
    <div className="canned-grid">
      <label>
        {t('inboxCannedShortcut')}
        <input value={d.shortcut} onChange={(e) => onChange({ ...d, shortcut: e.target.value.toLowerCase() })} pattern="[a-z0-9][a-z0-9_\-]{0,31}" title={t('inboxCannedShortcutRule')} data-field="canned-shortcut" required />
      </label>
      <label>
        {t('inboxCannedTitle')}
        <input value={d.title} onChange={(e) => onChange({ ...d, title: e.target.value })} data-field="canned-title" />
      </label>
      <label style={{ gridColumn: '1 / -1' }}>
        {t('inboxCannedText')} <span className="muted small">{t('inboxCannedTextHint')}</span>
        <textarea value={d.text} onChange={(e) => onChange({ ...d, text: e.target.value })} data-field="canned-text" required />
      </label>
    </div>
  );
}

function CannedItem({ c, onSave, onDelete }: { c: Canned; onSave: (d: Draft) => Promise<boolean>; onDelete: () => void }) {
  const { t } = useI18n();
  const [d, setD] = useState<Draft>({ shortcut: c.shortcut, title: c.title ?? '', text: c.text });
  useEffect(() => setD({ shortcut: c.shortcut, title: c.title ?? '', text: c.text }), [c]);
  const dirty = d.shortcut !== c.shortcut || d.title !== (c.title ?? '') || d.text !== c.text;
  return (
    <form
      className="canned-item"
      data-shortcut={c.shortcut}
      onSubmit={(e) => {
        e.preventDefault();
        void onSave(d);
      }}
    >
      <Fields d={d} onChange={setD} />
      <div className="row">
        <button className="primary" type="submit" disabled={!dirty} data-action="canned-save">
          {t('save')}
        </button>
        <button type="button" className="danger" onClick={onDelete} data-action="canned-delete">
          {t('delete')}
        </button>
        {c.updated_by && <span className="muted small">{c.updated_by}</span>}
      </div>
    </form>
  );
}
