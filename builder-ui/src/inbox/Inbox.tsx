// The operator inbox: the conversation list (filters, unread badges, waiting
// times) beside the open chat and its lead card, kept current by the event
// stream (GET /api/inbox/events) without reloads. On a phone-sized screen
// the list and the chat are one pane at a time.
import { useCallback, useEffect, useMemo, useReducer, useState } from 'react';
import * as api from '../api';
import { useI18n } from '../i18n';
import { Actions } from './Actions';
import { askToNotify, chime, notify, notifyState } from './alert';
import * as inboxApi from './api';
import { appended, delivered, loaded, openChat, withItem, type ChatState } from './chat';
import { ChatView } from './ChatView';
import { Composer } from './Composer';
import { ConversationList } from './ConversationList';
import { live } from './events';
import { useDebounced, useLatest, useNarrow, useNow, useStored } from './hooks';
import { LeadCard } from './LeadCard';
import { defaultFilter, emptyList, query, reduce, type Filter, type StatusFilter, type View } from './list';
import type { Canned, Card, Counts, DeliveryEvent, Hello, Item, MessageEvent, NotifyEvent, Operator, Queue } from './types';
import { displayName, fill, preview } from './util';
import './inbox.css';

interface Props {
  me: api.User;
  /** selected is the open chat's id (from the address), null for none. */
  selected: string | null;
  onSelect: (id: string | null) => void;
}

const PAGE = 100;
const EVENTS = ['hello', 'conversation', 'message', 'delivery', 'notify'] as const;

export function Inbox({ me, selected, onSelect }: Props) {
  const { t, tr } = useI18n();
  const now = useNow();
  const narrow = useNarrow();
  const [list, dispatch] = useReducer(reduce, defaultFilter, emptyList);
  const [search, setSearch] = useState('');
  const q = useDebounced(search, 250);
  const [counts, setCounts] = useState<Counts | null>(null);
  const [chat, setChat] = useState<ChatState | null>(null);
  const [card, setCard] = useState<Card | null>(null);
  const [cardOpen, setCardOpen] = useStored('voronka-inbox-card', true);
  // On a phone the card covers the chat, so it opens only when asked for.
  const [cardOverlay, setCardOverlay] = useState(false);
  const [sound, setSound] = useStored('voronka-inbox-sound', true);
  const [permission, setPermission] = useState(notifyState);
  const [people, setPeople] = useState<{ operators: Operator[]; queues: Queue[] }>({ operators: [], queues: [] });
  const [canned, setCanned] = useState<Map<string, Canned[]>>(new Map());
  const [connected, setConnected] = useState(true);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);
  const [listFailure, setListFailure] = useState<unknown>(null);

  const setFilter = useCallback((f: Partial<Filter>) => dispatch({ type: 'filter', filter: { ...list.filter, ...f } }), [list.filter]);
  useEffect(() => {
    if (q !== list.filter.q) setFilter({ q });
  }, [q, list.filter.q, setFilter]);

  // The first page of the list, on every new filter or reload.
  useEffect(() => {
    const gen = list.generation;
    setListFailure(null);
    inboxApi.list({ ...query(list.filter), limit: PAGE }).then(
      (r) => dispatch({ type: 'page', generation: gen, items: r.conversations ?? [], next: r.next, replace: true }),
      (e: unknown) => {
        dispatch({ type: 'failed', generation: gen });
        setListFailure(e);
      },
    );
    // list.filter changes only with a new generation.
  }, [list.generation]);

  const loadMore = useCallback(() => {
    if (!list.next || list.loading || list.stalled) return;
    const gen = list.generation;
    dispatch({ type: 'more' });
    inboxApi.list({ ...query(list.filter), cursor: list.next, limit: PAGE }).then(
      (r) => dispatch({ type: 'page', generation: gen, items: r.conversations ?? [], next: r.next, replace: false }),
      (e: unknown) => {
        dispatch({ type: 'failed', generation: gen, more: true });
        setListFailure(e);
      },
    );
  }, [list.next, list.loading, list.stalled, list.generation, list.filter]);

  // The open chat: transcript, card, and the canned replies of its bot.
  const loadChat = useCallback((id: string) => {
    inboxApi.transcript(id).then(
      (r) => setChat((c) => (c && c.id === id ? loaded(c, r.conversation, r.messages) : c)),
      (e: unknown) => setFailure(e),
    );
    inboxApi.card(id).then(
      (cd) => setCard((cur) => (cur === null || cur.id === id ? cd : cur)),
      () => setCard(null),
    );
  }, []);
  useEffect(() => {
    setFailure(null);
    setCard(null);
    setCardOverlay(false);
    if (!selected) {
      setChat(null);
      return;
    }
    setChat(openChat(selected));
    loadChat(selected);
    inboxApi.read(selected).then(() => dispatch({ type: 'unread', id: selected, unread: 0 }), () => {});
    inboxApi.operators().then(setPeople, () => {});
  }, [selected, loadChat]);
  const bot = chat?.conversation?.bot ?? '';
  useEffect(() => {
    if (!bot || canned.has(bot)) return;
    inboxApi.listCanned(bot).then((cs) => setCanned((m) => new Map(m).set(bot, cs)), () => {});
  }, [bot, canned]);

  // The event stream. Handlers read the latest state through refs.
  const latest = useLatest({ selected, me: me.id, sound, t, onSelect, loadChat });
  useEffect(() => {
    let readTimer: ReturnType<typeof setTimeout> | undefined;
    // The stream says that chats changed, not the counts: they are asked
    // for once a burst of changes is over.
    let countsTimer: ReturnType<typeof setTimeout> | undefined;
    const refreshCounts = () => {
      clearTimeout(countsTimer);
      countsTimer = setTimeout(() => inboxApi.counts().then(setCounts, () => {}), 300);
    };
    const stop = live({
      url: '/api/inbox/events',
      types: EVENTS,
      onOpen: (again) => {
        setConnected(true);
        if (!again) return;
        // No replay: what happened while away is fetched again.
        dispatch({ type: 'reload' });
        inboxApi.counts().then(setCounts, () => {});
        const open = latest.current.selected;
        if (open) latest.current.loadChat(open);
      },
      onDown: () => setConnected(false),
      onEvent: (type, data) => {
        const L = latest.current;
        switch (type) {
          case 'hello':
            setCounts((data as Hello).counts);
            break;
          case 'conversation': {
            const item = data as Item;
            dispatch({ type: 'item', item, me: L.me });
            refreshCounts();
            setChat((c) => (c ? withItem(c, item) : c));
            if (item.id === L.selected && (item.reason === 'updated' || item.reason === 'handback' || item.reason === 'handoff')) {
              inboxApi.card(item.id).then((cd) => setCard((cur) => (cur?.id === cd.id ? cd : cur)), () => {});
            }
            break;
          }
          case 'message': {
            const ev = data as MessageEvent;
            if (ev.conversation_id !== L.selected) break;
            setChat((c) => (c && c.id === ev.conversation_id ? appended(c, ev.message) : c));
            if (ev.message.direction === 'in' && !document.hidden) {
              clearTimeout(readTimer);
              readTimer = setTimeout(() => {
                const id = ev.conversation_id;
                inboxApi.read(id).then(() => dispatch({ type: 'unread', id, unread: 0 }), () => {});
              }, 800);
            }
            break;
          }
          case 'delivery': {
            const ev = data as DeliveryEvent;
            setChat((c) => (c && c.id === ev.conversation_id ? delivered(c, ev) : c));
            break;
          }
          case 'notify': {
            const ev = data as NotifyEvent;
            if (!document.hidden && ev.conversation_id === L.selected) break;
            if (L.sound) chime();
            const title = L.t(ev.kind === 'assigned_to_me' ? 'inboxNotifyAssigned' : 'inboxNotifyWaiting');
            notify(title, `${displayName(ev.item, L.t('inboxVisitor'))}: ${preview(ev.item)}`, ev.conversation_id, () => L.onSelect(ev.conversation_id));
            break;
          }
        }
      },
    });
    return () => {
      clearTimeout(readTimer);
      clearTimeout(countsTimer);
      stop();
    };
  }, [latest]);

  // The tab's title counts what waits for me.
  const waiting = (counts?.unread_mine ?? 0) + (counts?.unassigned ?? 0);
  useEffect(() => {
    const before = document.title;
    document.title = (waiting ? `(${waiting}) ` : '') + t('inboxTitle');
    return () => {
      document.title = before;
    };
  }, [waiting, t]);

  const errorText = (e: unknown): string => {
    if (e instanceof api.ApiError) {
      if (e.status === 409 && e.message === 'taken') {
        const d = (e.details ?? {}) as { assignee_name?: string };
        return fill(t('inboxTaken'), { name: d.assignee_name ?? '?' });
      }
      if (e.status === 403) return t('inboxNotYourQueue');
    }
    return e instanceof Error ? e.message : String(e);
  };

  const act = async (what: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setFailure(null);
    try {
      const r = await what();
      const item = (r as { conversation?: Item } | undefined)?.conversation;
      if (item) {
        dispatch({ type: 'item', item, me: me.id });
        setChat((c) => (c ? withItem(c, item) : c));
      }
      return true;
    } catch (e) {
      setFailure(e);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const id = selected ?? '';
  const conv = chat?.conversation ?? null;
  const context = useMemo(
    () => ({
      contact: { ...(conv?.contact ?? {}), channel: conv?.channel },
      vars: card?.vars ?? conv?.vars,
      score: conv?.score,
      segment: conv?.segment,
      tags: conv?.tags,
      operator: { name: me.name || me.login, login: me.login },
    }),
    [conv, card, me],
  );

  const tabs: { view: View; label: string; n?: number }[] = [
    { view: 'mine', label: t('inboxMine'), n: counts?.mine },
    { view: 'unassigned', label: t('inboxUnassigned'), n: counts?.unassigned },
    { view: 'all', label: t('inboxAll'), n: counts?.all },
  ];
  const queueNames = people.queues.map((x) => x.name);
  const pane = selected ? 'chat' : 'list';
  const showCard = narrow ? cardOverlay : cardOpen;
  const toggleCard = () => (narrow ? setCardOverlay(!cardOverlay) : setCardOpen(!cardOpen));

  return (
    <div className={`ibx${narrow ? ' narrow' : ''}`} data-testid="inbox" data-pane={pane}>
      <aside className="ibx-side">
        <div className="ibx-filters">
          <div className="ibx-tabs" role="tablist">
            {tabs.map((x) => (
              <button
                key={x.view}
                role="tab"
                aria-selected={list.filter.view === x.view}
                className={list.filter.view === x.view ? 'on' : ''}
                onClick={() => setFilter({ view: x.view })}
                data-view={x.view}
              >
                {x.label}
                {x.n !== undefined && x.n > 0 && <span className="ibx-count">{x.n}</span>}
                {x.view === 'mine' && (counts?.unread_mine ?? 0) > 0 && (
                  <span className="ibx-unread" data-testid="unread-mine" title={t('inboxUnread')}>
                    {counts?.unread_mine}
                  </span>
                )}
              </button>
            ))}
          </div>
          <div className="ibx-filter-row">
            <select
              value={list.filter.status}
              disabled={list.filter.view === 'unassigned'}
              onChange={(e) => setFilter({ status: e.target.value as StatusFilter })}
              aria-label={t('inboxStatus')}
              data-field="status"
            >
              {(['open', 'resolved', 'all'] as const).map((s) => (
                <option key={s} value={s}>
                  {tr('inboxStatus_' + s)}
                </option>
              ))}
            </select>
            <select value={list.filter.queue} onChange={(e) => setFilter({ queue: e.target.value })} aria-label={t('inboxQueue')} data-field="queue">
              <option value="">{t('inboxAllQueues')}</option>
              {queueNames.map((n) => (
                <option key={n} value={n}>
                  {n || t('inboxDefaultQueue')}
                </option>
              ))}
            </select>
          </div>
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder={t('inboxSearch')} data-field="search" />
          <div className="ibx-alerts">
            {permission === 'default' && (
              <button className="link" onClick={() => void askToNotify().then(setPermission)} data-action="notify-on">
                {t('inboxNotifyOn')}
              </button>
            )}
            {permission === 'denied' && <span className="muted small">{t('inboxNotifyDenied')}</span>}
            <button className="link" onClick={() => setSound(!sound)} data-action="sound">
              {sound ? t('inboxSoundOn') : t('inboxSoundOff')}
            </button>
          </div>
        </div>
        {listFailure != null && (
          <div className="ibx-error err" data-testid="inbox-list-error">
            {errorText(listFailure)}
          </div>
        )}
        {!connected && (
          <div className="ibx-offline" data-testid="inbox-offline">
            {t('inboxOffline')}
          </div>
        )}
        <ConversationList
          order={list.order}
          byId={list.byId}
          selected={selected}
          me={me.id}
          now={now}
          loading={list.loading}
          hasMore={list.next !== '' && !list.stalled}
          showAssignee={list.filter.view !== 'mine'}
          onSelect={onSelect}
          onMore={loadMore}
        />
      </aside>
      {chat ? (
        <ChatView
          chat={chat}
          me={me.id}
          now={now}
          error={failure ? errorText(failure) : ''}
          onBack={() => onSelect(null)}
          cardOpen={showCard}
          onCard={toggleCard}
          actions={
            conv && (
              <Actions
                conversation={conv}
                me={me.id}
                isAdmin={me.role === 'admin'}
                operators={people.operators}
                queues={people.queues}
                nodes={card?.nodes ?? []}
                busy={busy}
                on={{
                  take: () => void act(() => inboxApi.assign(id, { to: 'me' })),
                  transfer: (to) => void act(() => inboxApi.assign(id, to.user ? { to: to.user } : { queue: to.queue ?? '' })),
                  unassign: () => void act(() => inboxApi.assign(id, { to: '' })),
                  resolve: (csat) => void act(() => inboxApi.resolve(id, csat)),
                  handback: (node) => void act(() => inboxApi.handback(id, node)),
                }}
              />
            )
          }
          composer={
            <Composer
              conversationId={id}
              canned={canned.get(bot) ?? []}
              context={context}
              botHolds={conv?.status !== 'handoff'}
              blocked={!!conv?.blocked}
              onSend={(text, asNote) =>
                act(async () => {
                  const r = await (asNote ? inboxApi.note(id, text) : inboxApi.send(id, text));
                  setChat((c) => (c && c.id === id ? appended(c, r.message) : c));
                })
              }
            />
          }
        />
      ) : (
        !narrow && <div className="ibx-pick muted">{list.order.length ? t('inboxPick') : ''}</div>
      )}
      {chat && showCard && (
        <LeadCard
          card={card}
          now={now}
          onClose={toggleCard}
          onTags={(tags) =>
            act(async () => {
              const r = await inboxApi.patch(id, { tags });
              setCard((c) => (c && c.id === id ? { ...c, tags: r.conversation.tags ?? tags } : c));
              return r;
            })
          }
          onVar={(name, value) =>
            act(async () => {
              const r = await inboxApi.patch(id, { vars: { [name]: value } });
              setCard((c) => (c && c.id === id ? { ...c, vars: r.conversation.vars ?? { ...c.vars, [name]: value } } : c));
              return r;
            })
          }
        />
      )}
    </div>
  );
}
