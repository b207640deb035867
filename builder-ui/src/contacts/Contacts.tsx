// The leads page: a bot's contacts in a virtualised table (@tanstack/react-table
// and react-virtual, pages loaded as you scroll), filters, search, sorting,
// the lead card with every variable, and the CSV export of all matching leads.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import * as app from '../api';
import { useI18n } from '../i18n';
import { csvPath, listContacts, varText, type Contact, type Filters } from './api';

function useBots(): app.BotInfo[] {
  const [bots, setBots] = useState<app.BotInfo[]>([]);
  useEffect(() => {
    app.listBots().then(setBots, () => setBots([]));
  }, []);
  return bots;
}

/** useDebounced is value once it has not changed for ms. */
function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

/** useContactPages loads the first page for the filters and more on demand. */
function useContactPages(bot: string, filters: Filters) {
  const [rows, setRows] = useState<Contact[]>([]);
  const [next, setNext] = useState('');
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState('');
  const gen = useRef(0);
  const key = JSON.stringify([bot, filters]);
  useEffect(() => {
    if (!bot) return;
    const g = ++gen.current;
    setLoading(true);
    listContacts(bot, filters).then(
      (r) => {
        if (g !== gen.current) return;
        setRows(r.contacts);
        setNext(r.next);
        setError('');
        setLoading(false);
      },
      (e: unknown) => {
        if (g !== gen.current) return;
        setRows([]);
        setNext('');
        setError(e instanceof Error ? e.message : String(e));
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key stands for bot and filters
  }, [key]);
  const more = useCallback(() => {
    if (!next || loading) return;
    const g = gen.current;
    setLoading(true);
    listContacts(bot, filters, next).then(
      (r) => {
        if (g !== gen.current) return;
        setRows((rs) => [...rs, ...r.contacts]);
        setNext(r.next);
        setLoading(false);
      },
      () => g === gen.current && setLoading(false),
    );
  }, [bot, filters, next, loading]);
  return { rows, more, hasMore: next !== '', loading, error };
}

const col = createColumnHelper<Contact>();
const when = (s?: string) => (s ? new Date(s).toLocaleString('ru-RU', { dateStyle: 'short', timeStyle: 'short' }) : '');

export function Contacts() {
  const { t } = useI18n();
  const params = useParams();
  const navigate = useNavigate();
  const bots = useBots();
  const bot = params.bot ?? bots[0]?.id ?? '';
  const [form, setForm] = useState<Filters>({ sort: '-last_seen' });
  const filters = useDebounced(form, 250);
  const { rows, more, hasMore, loading, error } = useContactPages(bot, filters);
  const [open, setOpen] = useState<Contact | null>(null);
  const columns = useMemo(
    () => [
      col.accessor('name', { header: () => t('ctName'), cell: (c) => c.getValue() || c.row.original.chat }),
      col.accessor('channel', { header: () => t('ctChannel') }),
      col.accessor('username', { header: () => t('ctUsername') }),
      col.accessor('phone', { header: () => t('ctPhone') }),
      col.accessor('email', { header: () => t('ctEmail') }),
      col.accessor('score', { header: () => t('ctScore') }),
      col.accessor('segment', { header: () => t('ctSegment') }),
      col.accessor('tags', { header: () => t('ctTags'), cell: (c) => c.getValue().join(', ') }),
      col.accessor('status', { header: () => t('ctStatus') }),
      col.accessor('source', { header: () => t('ctSourceCol') }),
      col.accessor('first_seen', { header: () => t('ctFirstSeen'), cell: (c) => when(c.getValue()) }),
      col.accessor('last_seen', { header: () => t('ctLastSeen'), cell: (c) => when(c.getValue()) }),
      col.accessor((c) => c.consent.subscribed, { id: 'consent', header: () => t('ctConsent'), cell: (c) => (c.getValue() ? t('ctSubscribed') : t('ctUnsubscribed')) }),
    ],
    [t],
  );
  const table = useReactTable({ data: rows, columns, getCoreRowModel: getCoreRowModel() });
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => 34, overscan: 12 });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 10 && hasMore) more();
  }, [last, rows.length, hasMore, more]);
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const tableRows = table.getRowModel().rows;
  const padTop = items.length ? items[0].start : 0;
  const padBottom = items.length ? virtual.getTotalSize() - items[items.length - 1].end : 0;
  return (
    <div className="ct-page">
      <header className="ct-head">
        <select value={bot} onChange={(e) => navigate(`/contacts/${e.target.value}`)} data-ct="bot" aria-label={t('anBot')}>
          {bots.map((b) => (
            <option key={b.id} value={b.id}>
              {b.name || b.id}
            </option>
          ))}
        </select>
        <input type="search" placeholder={t('ctSearch')} value={form.q ?? ''} onChange={set('q')} data-ct="q" />
        <input placeholder={t('ctSegment')} value={form.segment ?? ''} onChange={set('segment')} data-ct="segment" size={8} />
        <input placeholder={t('ctTag')} value={form.tag ?? ''} onChange={set('tag')} data-ct="tag" size={8} />
        <select value={form.status ?? ''} onChange={set('status')} data-ct="status" aria-label={t('ctStatus')}>
          <option value="">
            {t('ctStatus')}: {t('ctAny')}
          </option>
          {['bot', 'waiting', 'handoff', 'ended'].map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <input placeholder={t('ctSourceCol')} value={form.source ?? ''} onChange={set('source')} data-ct="source" size={8} />
        <input type="number" placeholder={t('ctScoreMin')} value={form.score_min ?? ''} onChange={set('score_min')} data-ct="score_min" style={{ width: '6em' }} />
        <input type="number" placeholder={t('ctScoreMax')} value={form.score_max ?? ''} onChange={set('score_max')} data-ct="score_max" style={{ width: '6em' }} />
        <label>
          {t('ctSeenFrom')} <input type="date" value={form.from ?? ''} onChange={set('from')} data-ct="from" />
        </label>
        <label>
          {t('ctSeenTo')} <input type="date" value={form.to ?? ''} onChange={set('to')} data-ct="to" />
        </label>
        <label>
          {t('ctSort')}{' '}
          <select value={form.sort} onChange={set('sort')} data-ct="sort">
            <option value="-last_seen">{t('ctSortLastSeen')} ↓</option>
            <option value="last_seen">{t('ctSortLastSeen')} ↑</option>
            <option value="-first_seen">{t('ctSortFirstSeen')} ↓</option>
            <option value="first_seen">{t('ctSortFirstSeen')} ↑</option>
            <option value="-score">{t('ctSortScore')} ↓</option>
            <option value="score">{t('ctSortScore')} ↑</option>
          </select>
        </label>
        <a className="ct-export" href={bot ? csvPath(bot, filters) : undefined} download data-ct="export">
          {t('ctExport')}
        </a>
        <span className="ct-count" data-ct="count">
          {t('ctLoaded')}: {rows.length}
          {hasMore ? '+' : ''}
        </span>
      </header>
      {error && (
        <div className="an-error" role="alert">
          {error}
        </div>
      )}
      <div className="ct-body">
        <div className="ct-scroll" ref={scroller}>
          <table className="an-table ct-table">
            <thead>
              {table.getHeaderGroups().map((hg) => (
                <tr key={hg.id}>
                  {hg.headers.map((h) => (
                    <th key={h.id}>{flexRender(h.column.columnDef.header, h.getContext())}</th>
                  ))}
                </tr>
              ))}
            </thead>
            <tbody>
              {padTop > 0 && (
                <tr>
                  <td style={{ height: padTop }} colSpan={columns.length} />
                </tr>
              )}
              {items.map((vi) => {
                const row = tableRows[vi.index];
                return (
                  <tr
                    key={row.id}
                    data-contact={row.original.chat}
                    className={open?.id === row.original.id ? 'selected' : undefined}
                    onClick={() => setOpen(row.original)}
                  >
                    {row.getVisibleCells().map((c) => (
                      <td key={c.id}>{flexRender(c.column.columnDef.cell, c.getContext())}</td>
                    ))}
                  </tr>
                );
              })}
              {padBottom > 0 && (
                <tr>
                  <td style={{ height: padBottom }} colSpan={columns.length} />
                </tr>
              )}
            </tbody>
          </table>
          {!loading && rows.length === 0 && !error && <p className="an-empty">{t('ctNone')}</p>}
        </div>
        {open && <LeadCard c={open} onClose={() => setOpen(null)} />}
      </div>
    </div>
  );
}

function LeadCard({ c, onClose }: { c: Contact; onClose: () => void }) {
  const { t } = useI18n();
  const fields: [string, string][] = [
    [t('ctName'), c.name],
    [t('ctChannel'), `${c.channel} · ${c.chat}`],
    [t('ctUsername'), c.username ?? ''],
    [t('ctPhone'), c.phone ?? ''],
    [t('ctEmail'), c.email ?? ''],
    [t('ctScore'), String(c.score)],
    [t('ctSegment'), c.segment ?? ''],
    [t('ctTags'), c.tags.join(', ')],
    [t('ctStatus'), c.status ?? ''],
    [t('ctSourceCol'), [c.source, ...Object.entries(c.utm ?? {}).map(([k, v]) => `${k}=${v}`)].filter(Boolean).join(' · ')],
    [t('ctNode'), [c.flow, c.node].filter(Boolean).join(' / ')],
    [t('ctFirstSeen'), when(c.first_seen)],
    [t('ctLastSeen'), when(c.last_seen)],
    [t('ctConsent'), c.consent.subscribed ? t('ctSubscribed') : t('ctUnsubscribed')],
  ];
  return (
    <aside className="ct-card" data-ct="card" aria-label={t('ctCard')}>
      <header>
        <h2>{c.name || c.chat}</h2>
        <button onClick={onClose}>{t('ctClose')}</button>
      </header>
      <dl>
        {fields
          .filter(([, v]) => v)
          .map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
      </dl>
      <h3>{t('ctVars')}</h3>
      <dl data-ct="vars">
        {Object.entries(c.vars)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{varText(v)}</dd>
            </div>
          ))}
      </dl>
    </aside>
  );
}
