// The composer: a reply to the customer or a private note. Typing "/" opens
// the canned replies (filtered by what follows, each shown rendered for this
// chat); Enter or a click puts the reply, as the server renders it, in place
// of the "/word".
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useI18n } from '../i18n';
import * as inboxApi from './api';
import { insertCanned, matchCanned, renderPreview, slashToken, type SlashToken, type TemplateContext } from './canned';
import type { Canned } from './types';
import { isTouch } from './util';

interface Props {
  conversationId: string;
  canned: readonly Canned[];
  context: TemplateContext;
  /** botHolds says the bot still has the chat: a reply takes it over. */
  botHolds: boolean;
  blocked: boolean;
  onSend: (text: string, asNote: boolean) => Promise<boolean>;
}

export function Composer({ conversationId, canned, context, botHolds, blocked, onSend }: Props) {
  const { t } = useI18n();
  const [text, setText] = useState('');
  const [asNote, setAsNote] = useState(false);
  const [token, setToken] = useState<SlashToken | null>(null);
  const [pick, setPick] = useState(0);
  const [busy, setBusy] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);

  // A draft belongs to its chat: switching chats starts empty.
  useEffect(() => {
    setText('');
    setToken(null);
    setAsNote(false);
  }, [conversationId]);

  const matches = useMemo(() => (token ? matchCanned(canned, token.query) : []), [token, canned]);
  useEffect(() => setPick(0), [token?.query]);

  const refreshToken = (value: string, caret: number) => setToken(asNote ? null : slashToken(value, caret));

  const choose = async (c: Canned) => {
    if (!token) return;
    const tok = token;
    setToken(null);
    let rendered = renderPreview(c.text, context);
    try {
      rendered = (await inboxApi.renderCanned(conversationId, c.id)).text;
    } catch {
      /* the local rendering stands in: the operator sees and can edit it */
    }
    const out = insertCanned(text, tok, rendered);
    setText(out.text);
    requestAnimationFrame(() => {
      area.current?.focus();
      area.current?.setSelectionRange(out.caret, out.caret);
    });
  };

  const submit = async () => {
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    const ok = await onSend(body, asNote);
    setBusy(false);
    if (ok) {
      setText('');
      setToken(null);
    }
    area.current?.focus();
  };

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (token && matches.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setPick((p) => (p + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        void choose(matches[pick]);
        return;
      }
    }
    if (token && e.key === 'Escape') {
      e.preventDefault();
      setToken(null);
      return;
    }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey || (!e.shiftKey && !isTouch()))) {
      e.preventDefault();
      void submit();
    }
  };

  return (
    <div className={`ibx-composer${asNote ? ' note' : ''}`} data-testid="composer">
      {botHolds && !asNote && <div className="ibx-hint">{t('inboxReplyTakes')}</div>}
      {blocked && !asNote && <div className="ibx-hint err">{t('inboxBlocked')}</div>}
      {token && (
        <div className="ibx-canned-pop" data-testid="canned-picker" role="listbox">
          {matches.length === 0 ? (
            <div className="muted pad-s">{t('inboxNoCanned')}</div>
          ) : (
            matches.map((c, i) => (
              <div
                key={c.id}
                role="option"
                aria-selected={i === pick}
                className={`ibx-canned-item${i === pick ? ' on' : ''}`}
                data-shortcut={c.shortcut}
                onMouseDown={(e) => {
                  e.preventDefault();
                  void choose(c);
                }}
              >
                <b>/{c.shortcut}</b> {c.title && <span className="muted">{c.title}</span>}
                <div className="ibx-canned-preview">{renderPreview(c.text, context)}</div>
              </div>
            ))
          )}
          <div className="muted small pad-s">{t('inboxCannedHint')}</div>
        </div>
      )}
      <div className="ibx-mode" role="tablist">
        <button type="button" className={asNote ? '' : 'on'} onClick={() => setAsNote(false)} data-action="mode-reply">
          {t('inboxReply')}
        </button>
        <button
          type="button"
          className={asNote ? 'on' : ''}
          onClick={() => {
            setAsNote(true);
            setToken(null);
          }}
          data-action="mode-note"
        >
          {t('inboxNote')}
        </button>
      </div>
      <div className="ibx-compose-row">
        <textarea
          ref={area}
          rows={2}
          value={text}
          placeholder={asNote ? t('inboxNotePlaceholder') : t('inboxReplyPlaceholder')}
          onChange={(e) => {
            setText(e.target.value);
            refreshToken(e.target.value, e.target.selectionStart ?? e.target.value.length);
          }}
          onKeyDown={onKey}
          onKeyUp={(e) => {
            if (e.key.startsWith('Arrow') && !token) refreshToken(text, e.currentTarget.selectionStart ?? text.length);
          }}
          onBlur={() => setTimeout(() => setToken(null), 150)}
          data-field="composer"
        />
        <button className="primary" type="button" disabled={busy || !text.trim()} onClick={() => void submit()} data-action="send">
          {asNote ? t('inboxAddNote') : t('inboxSend')}
        </button>
      </div>
    </div>
  );
}
