// The leads page: a bot's contacts in a virtualised table (@tanstack/react-table
// and react-virtual, pages loaded as you scroll), filters, search, sorting,
// the lead card with every variable, and the CSV export of all matching leads.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useI18n } from '../i18n';
import { BotPicker, CsvLink, message, useDebounced, usePageBot } from '../lib/pages';
import { countFilter, createSegment, problemsOf, type SegmentFilter } from '../broadcasts/api';
import { fill } from '../broadcasts/logic';
import { channels, channelWord, leadSegments, segmentWord, statuses, statusWord } from '../lib/labels';
import { csvPath, isSegment, listContacts, varText, type Contact, type Filters } from './api';

/** useContactPages loads the first page for the filters and more on demand. */
function useContactPages(bot: string, filters: Filters) {
  const [rows, setRows] = useState<Contact[]>([]);
  const [segmentFilter, setSegmentFilter] = useState<SegmentFilter | null>(null);
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
        setSegmentFilter(r.filter);
        setNext(r.next);
        setError('');
        setLoading(false);
      },
      (e: unknown) => {
        if (g !== gen.current) return;
        setRows([]);
        setSegmentFilter(null);
        setNext('');
        setError(message(e));
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
  return { rows, segmentFilter, more, hasMore: next !== '', loading, error };
}

const col = createColumnHelper<Contact>();
const when = (s?: string) => (s ? new Date(s).toLocaleString('ru-RU', { dateStyle: 'short', timeStyle: 'short' }) : '');

export function Contacts() {
  const { t, tr } = useI18n();
  const { bot, bots } = usePageBot();
  const [form, setForm] = useState<Filters>({ sort: '-last_seen' });
  const filters = useDebounced(form, 250);
  const { rows, segmentFilter, more, hasMore, loading, error } = useContactPages(bot, filters);
  const [open, setOpen] = useState<Contact | null>(null);
  const columns = useMemo(
    () => [
      col.accessor('name', { header: () => t('ctName'), cell: (c) => c.getValue() || c.row.original.chat }),
      col.accessor('channel', { header: () => t('ctChannel'), cell: (c) => channelWord(tr, c.getValue()) }),
      col.accessor('username', { header: () => t('ctUsername') }),
      col.accessor('phone', { header: () => t('ctPhone') }),
      col.accessor('email', { header: () => t('ctEmail') }),
      col.accessor('score', { header: () => t('ctScore') }),
      col.accessor('segment', { header: () => t('ctSegment'), cell: (c) => segmentWord(tr, c.getValue() ?? '') }),
      col.accessor('tags', { header: () => t('ctTags'), cell: (c) => c.getValue().join(', ') }),
      col.accessor('status', { header: () => t('ctStatus'), cell: (c) => statusWord(tr, c.getValue() ?? '') }),
      col.accessor('source', { header: () => t('ctSourceCol') }),
      col.accessor('first_seen', { header: () => t('ctFirstSeen'), cell: (c) => when(c.getValue()) }),
      col.accessor('last_seen', { header: () => t('ctLastSeen'), cell: (c) => when(c.getValue()) }),
      col.accessor((c) => c.consent.subscribed, { id: 'consent', header: () => t('ctConsent'), cell: (c) => (c.getValue() ? t('ctSubscribed') : t('ctUnsubscribed')) }),
    ],
    [t, tr],
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
        <BotPicker page="contacts" bot={bot} bots={bots} data={{ 'data-ct': 'bot' }} />
        <input type="search" placeholder={t('ctSearch')} value={form.q ?? ''} onChange={set('q')} data-ct="q" />
        <Choice k="segment" any={`${t('ctSegment')}: ${t('ctAny')}`} all={leadSegments} word={(s) => segmentWord(tr, s)} form={form} set={set} label={t('ctSegment')} />
        <input placeholder={t('ctTag')} value={form.tag ?? ''} onChange={set('tag')} data-ct="tag" size={8} />
        <Choice k="status" any={`${t('ctStatus')}: ${t('ctAny')}`} all={statuses} word={(s) => statusWord(tr, s)} form={form} set={set} label={t('ctStatus')} />
        <Choice k="channel" any={t('ctChannelAny')} all={channels} word={(c) => channelWord(tr, c)} form={form} set={set} label={t('ctChannel')} />
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
        <CsvLink className="ct-export" href={bot ? csvPath(bot, filters) : undefined} data={{ 'data-ct': 'export' }}>
          {t('ctExport')}
        </CsvLink>
        <SaveAsSegment bot={bot} filters={filters} filter={segmentFilter} />
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

/** Choice filters by one of a fixed list of values, each named in the interface's language. */
function Choice(p: {
  k: 'segment' | 'status' | 'channel';
  any: string;
  all: readonly string[];
  word: (v: string) => string;
  form: Filters;
  set: (k: keyof Filters) => (e: { target: { value: string } }) => void;
  label: string;
}) {
  return (
    <select value={p.form[p.k] ?? ''} onChange={p.set(p.k)} data-ct={p.k} aria-label={p.label}>
      <option value="">{p.any}</option>
      {p.all.map((v) => (
        <option key={v} value={v}>
          {p.word(v)}
        </option>
      ))}
    </select>
  );
}

function LeadCard({ c, onClose }: { c: Contact; onClose: () => void }) {
  const { t, tr } = useI18n();
  const fields: [string, string][] = [
    [t('ctName'), c.name],
    [t('ctChannel'), `${channelWord(tr, c.channel)} · ${c.chat}`],
    [t('ctUsername'), c.username ?? ''],
    [t('ctPhone'), c.phone ?? ''],
    [t('ctEmail'), c.email ?? ''],
    [t('ctScore'), String(c.score)],
    [t('ctSegment'), c.segment ? segmentWord(tr, c.segment) : ''],
    [t('ctTags'), c.tags.join(', ')],
    [t('ctStatus'), c.status ? statusWord(tr, c.status) : ''],
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

/**
 * SaveAsSegment saves the table's filters as a segment for broadcasts: the
 * filter the server answered with, so the segment holds the people listed.
 */
function SaveAsSegment({ bot, filters, filter }: { bot: string; filters: Filters; filter: SegmentFilter | null }) {
  const { t } = useI18n();
  const [name, setName] = useState<string | null>(null);
  const [note, setNote] = useState<{ text: string; ok: boolean } | null>(null);
  const usable = isSegment(filters) && filter !== null;
  const save = async () => {
    if (!filter || !name?.trim()) return;
    try {
      const sg = await createSegment(bot, name.trim(), filter);
      const n = await countFilter(bot, sg.filter);
      setName(null);
      setNote({ text: fill(t('ctSegmentSaved'), { name: sg.name, members: n.members }), ok: true });
    } catch (e) {
      setNote({ text: problemsOf(e).map((p) => p.message).join('; ') || message(e), ok: false });
    }
  };
  if (name === null)
    return (
      <>
        <button type="button" onClick={() => {
            setName('');
            setNote(null);
          }} disabled={!usable} title={usable ? undefined : t('ctSegmentNeedsFilter')} data-ct="save-segment">
          {t('ctSaveSegment')}
        </button>
        {note &&
          (note.ok ? (
            <a className="notice" href={`#/broadcasts/${encodeURIComponent(bot)}`} data-ct="segment-saved">
              {note.text}
            </a>
          ) : (
            <span className="an-error" role="alert">
              {note.text}
            </span>
          ))}
      </>
    );
  return (
    <form
      className="ct-save"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <input autoFocus placeholder={t('ctSegmentName')} aria-label={t('ctSegmentName')} value={name} onChange={(e) => setName(e.target.value)} data-ct="segment-name" />
      <button type="submit" className="primary" disabled={!name.trim()} data-ct="segment-save">
        {t('ctSegmentSave')}
      </button>
      <button type="button" onClick={() => setName(null)}>
        {t('ctSegmentCancel')}
      </button>
    </form>
  );
}
