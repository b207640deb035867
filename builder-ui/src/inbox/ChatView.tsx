// The open conversation: who it is and where it stands, the actions, the
// transcript (customer, bot, operator, notes and system lines each drawn
// their own way, replies with their delivery state) and the composer.
import { useLayoutEffect, useRef, type ReactNode } from 'react';
import { useI18n } from '../i18n';
import type { ChatState } from './chat';
import { clock } from './time';
import type { Message } from './types';
import { displayName, systemText } from './util';

interface Props {
  chat: ChatState;
  me: string;
  now: number;
  actions: ReactNode;
  composer: ReactNode;
  error: string;
  onBack: () => void;
  onCard: () => void;
  cardOpen: boolean;
}

export function ChatView({ chat, me, now, actions, composer, error, onBack, onCard, cardOpen }: Props) {
  const { t, tr } = useI18n();
  const c = chat.conversation;
  const ib = c?.inbox;
  const log = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  // Stay at the bottom as lines come, unless the operator scrolled up to read.
  useLayoutEffect(() => {
    const el = log.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [chat.messages.length, chat.id, c !== null]);
  const state = !c
    ? ''
    : c.status !== 'handoff'
      ? t('inboxBotHolds')
      : ib?.state === 'assigned'
        ? `${t('inboxState_assigned')}: ${ib.assignee === me ? t('inboxYou') : ib.assignee_name}`
        : tr('inboxState_' + (ib?.state ?? 'unassigned'));
  return (
    <section className="ibx-chat" data-testid="chat" data-id={chat.id}>
      <header className="ibx-chat-head">
        <button className="icon ibx-back" onClick={onBack} aria-label={t('inboxBack')} data-action="back-to-list">
          ←
        </button>
        <div className="ibx-chat-title">
          <b data-testid="chat-name">{c ? displayName(c, t('inboxVisitor')) : ''}</b>
          <span className="muted small">
            {c ? tr('inboxChannel_' + c.channel) : ''}
            {ib?.queue ? ` · ${ib.queue}` : ''}
            {state ? ' · ' : ''}
            <span data-testid="chat-state">{state}</span>
          </span>
        </div>
        <span className="spacer" />
        {c && actions}
        <button className={`ibx-card-btn${cardOpen ? ' on' : ''}`} onClick={onCard} data-action="card">
          {t('inboxCard')}
        </button>
      </header>
      {error && (
        <div className="ibx-error err" data-testid="chat-error">
          {error}
        </div>
      )}
      <div
        className="ibx-log"
        ref={log}
        data-testid="transcript"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {chat.messages.map((m) => (
          <Line key={m.id} m={m} me={me} now={now} />
        ))}
      </div>
      {c && composer}
    </section>
  );
}

function Line({ m, me, now }: { m: Message; me: string; now: number }) {
  const { t, tr, lang } = useI18n();
  if (m.direction === 'system') {
    return (
      <div className="ibx-sys" data-dir="system" data-event={m.event}>
        {systemText(m, tr, (q) => q || t('inboxDefaultQueue'))} <span className="muted">{clock(m.at, now, lang)}</span>
      </div>
    );
  }
  const who =
    m.direction === 'operator' || m.direction === 'note'
      ? `${m.direction === 'note' ? t('inboxFrom_note') + ' · ' : ''}${m.author?.id === me ? t('inboxYou') : (m.author?.name ?? t('inboxFrom_operator'))}`
      : tr('inboxFrom_' + m.direction);
  return (
    <div className={`ibx-msg ${m.direction}`} data-dir={m.direction} data-id={m.id}>
      <div className="ibx-msg-who">{who}</div>
      <div className="ibx-msg-text">{m.text}</div>
      {m.buttons && m.buttons.length > 0 && (
        <div className="ibx-msg-buttons">
          {m.buttons.map((b, i) => (
            <span key={i} className="ibx-msg-button">
              {b.label}
            </span>
          ))}
        </div>
      )}
      <div className="ibx-msg-foot">
        <time dateTime={m.at}>{clock(m.at, now, lang)}</time>
        {m.delivery && (
          <span className={`ibx-delivery ${m.delivery}`} data-delivery={m.delivery} title={m.error ?? ''}>
            {m.delivery === 'sent' ? '✓ ' : m.delivery === 'pending' ? '… ' : '⚠ '}
            {tr('inboxDelivery_' + m.delivery)}
            {m.error && m.delivery !== 'sent' ? `: ${m.error}` : ''}
          </span>
        )}
      </div>
    </div>
  );
}
