// The conversation list: a virtual list (only the rows in view are in the
// page), so ten thousand chats scroll as smoothly as ten. Rows have one fixed
// height, which spares the virtualiser measuring them.
import { memo, useEffect, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useI18n } from '../i18n';
import { clock, waited, type Units } from './time';
import type { Item } from './types';
import { displayName, hue, initials, preview } from './util';

export const ROW_HEIGHT = 68;
// More slots than rows ever drawn at once (a 4K screen's 32 rows and the overscan).
const SLOTS = 128;

interface Props {
  order: readonly string[];
  byId: ReadonlyMap<string, Item>;
  selected: string | null;
  me: string;
  now: number;
  loading: boolean;
  hasMore: boolean;
  showAssignee: boolean;
  onSelect: (id: string) => void;
  onMore: () => void;
}

export function ConversationList({ order, byId, selected, me, now, loading, hasMore, showAssignee, onSelect, onMore }: Props) {
  const { t, lang } = useI18n();
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: order.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
  });
  const rows = v.getVirtualItems();
  const last = rows.length ? rows[rows.length - 1].index : -1;
  useEffect(() => {
    if (hasMore && !loading && last >= order.length - 20) onMore();
  }, [last, order.length, hasMore, loading, onMore]);

  const units: Units = { now: t('inboxNow'), min: t('inboxMinutes'), h: t('inboxHours'), d: t('inboxDays') };
  return (
    <div className="ibx-list" ref={scroller} data-testid="inbox-list" role="listbox" aria-label={t('inbox')}>
      {order.length === 0 && !loading && <div className="ibx-empty muted">{t('inboxEmpty')}</div>}
      <div style={{ height: v.getTotalSize(), position: 'relative' }}>
        {rows.map((r) => {
          const item = byId.get(order[r.index]);
          if (!item) return null;
          return (
            <Row
              // Keyed by slot, not by chat: a row scrolled out is reused for
              // the one scrolled in (its text changes, its elements stay),
              // instead of unmounting one and building another each frame.
              key={r.index % SLOTS}
              item={item}
              top={r.start}
              active={item.id === selected}
              mine={item.inbox?.assignee === me}
              showAssignee={showAssignee}
              waitedText={waited(item.inbox?.waiting_since, now, units)}
              clockText={clock(item.inbox?.last?.at ?? item.updated_at, now, lang)}
              onSelect={onSelect}
            />
          );
        })}
      </div>
      {loading && <div className="ibx-more muted">{t('inboxLoadingMore')}</div>}
    </div>
  );
}

interface RowProps {
  item: Item;
  top: number;
  active: boolean;
  mine: boolean;
  showAssignee: boolean;
  waitedText: string;
  clockText: string;
  onSelect: (id: string) => void;
}

const Row = memo(function Row({ item, top, active, mine, showAssignee, waitedText, clockText, onSelect }: RowProps) {
  const { t } = useI18n();
  const ib = item.inbox;
  const unread = ib?.unread ?? 0;
  const name = displayName(item, t('inboxVisitor'));
  return (
    <div
      className={`ibx-row${active ? ' active' : ''}${unread ? ' unread' : ''}`}
      style={{ transform: `translateY(${top}px)`, height: ROW_HEIGHT }}
      role="option"
      aria-selected={active}
      data-id={item.id}
      onClick={() => onSelect(item.id)}
    >
      <span className={`ibx-avatar ch-${item.channel}`} style={{ background: `hsl(${hue(item.id)} 55% 88%)` }}>
        {initials(name)}
      </span>
      <span className="ibx-row-main">
        <span className="ibx-row-top">
          <b className="ibx-name">{name}</b>
          {waitedText ? (
            <span className="ibx-wait">
              {t('inboxWaiting')} {waitedText}
            </span>
          ) : (
            <span className="ibx-time muted">{clockText}</span>
          )}
        </span>
        <span className="ibx-row-bottom">
          <span className="ibx-last">{preview(item)}</span>
          {unread > 0 && (
            <span className="ibx-unread" data-testid="unread" title={t('inboxUnread')}>
              {unread > 99 ? '99+' : unread}
            </span>
          )}
        </span>
        <span className="ibx-row-meta muted">
          {ib?.queue ? <span className="ibx-chip">{ib.queue}</span> : null}
          {ib?.state === 'resolved' ? <span className="ibx-chip done">{t('inboxState_resolved')}</span> : null}
          {showAssignee && ib?.assignee_name ? <span>{mine ? t('inboxYou') : ib.assignee_name}</span> : null}
        </span>
      </span>
    </div>
  );
});
