// The builder: palette, canvas, properties, settings, versions and preview
// around one flow draft. The flow document is the single source of truth;
// the canvas keeps its own node objects only so that a drag re-renders one
// node, and writes positions back when the drag ends.
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { ReactFlowProvider, useReactFlow, type Edge as RFEdge } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import * as api from './api';
import * as botsApi from './bots/api';
import type { FlowNodeType } from './FlowNode';
import { Canvas, sameIds, type SelectRequest } from './Canvas';
import { Properties } from './Properties';
import { Settings } from './Settings';
import { Versions } from './Versions';
import { Preview } from './Preview';
import { ChannelBadges, useChannels } from './Channels';
import { estimateHeight, layout } from './layout';
import { NewFlowDialog } from './NewFlowDialog';
import { template, type TemplateId } from './templates';
import { Icon } from './icons';
import { nodeDoc, problemText, useI18n } from './i18n';
import { blockSummary } from './content';
import {
  addNode,
  connect,
  copyNodes,
  danglingExit,
  declareVars,
  defaultNode,
  afterDraftDeleted,
  emptyFlow,
  hasErrors,
  needsLayout,
  newNodeID,
  problemsByNode,
  record,
  redo,
  removeNodes,
  renameNode,
  undo,
  type FlowDoc,
  type History,
  type NodeDoc,
  type NodeSpec,
  type Problem,
  type Spec,
  varInfos,
} from './model';

const noProblems: Problem[] = [];

type SaveState = 'saved' | 'dirty' | 'saving' | 'failed';

export function Builder() {
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}

// The builder's place in the address: #/flows/<bot>/<flow>. Coming back
// from another page (#/flows alone) reopens the flow last open in this tab.
const lastFlowKey = 'voronka-last-flow';

function readHash(): { bot?: string; flow?: string } {
  let h = location.hash.replace(/^#\/?(flows\/?)?/, '/');
  if (h === '/' || h === '') {
    try {
      h = sessionStorage.getItem(lastFlowKey) ?? h;
    } catch {
      /* storage unavailable */
    }
  }
  const [, bot, flow] = h.split('/');
  return { bot: bot ? decodeURIComponent(bot) : undefined, flow: flow ? decodeURIComponent(flow) : undefined };
}

function Editor() {
  const { t, tr, lang } = useI18n();
  const rf = useReactFlow<FlowNodeType, RFEdge>();
  const [spec, setSpec] = useState<Spec | null>(null);
  const specs = useMemo(() => new Map<string, NodeSpec>((spec?.nodes ?? []).map((s) => [s.type, s])), [spec]);
  const [bots, setBots] = useState<api.BotInfo[]>([]);
  const [bot, setBot] = useState('');
  const channels = useChannels(bot);
  const [flows, setFlows] = useState<api.FlowInfo[]>([]);
  const [flowId, setFlowId] = useState('');
  const [hist, setHist] = useState<History | null>(null);
  const doc = hist?.present ?? null;
  const [problems, setProblems] = useState<Problem[]>([]);
  const [save, setSave] = useState<SaveState>('saved');
  const [message, setMessage] = useState('');
  const [panel, setPanel] = useState<'props' | 'settings' | 'versions'>('props');
  const [showPreview, setShowPreview] = useState(false);
  const [activeNode, setActiveNode] = useState<string | undefined>();
  const [versionsTick, setVersionsTick] = useState(0);
  // Bumped to load the current flow again (after its draft is deleted).
  const [loadTick, setLoadTick] = useState(0);
  const [newFlowOpen, setNewFlowOpen] = useState(false);
  // Bumped to look at the flow as when it opens (Arrange).
  const [viewTick, setViewTick] = useState(0);
  // The bot/flow whose document is on the canvas ('' while none is loaded).
  const [loaded, setLoaded] = useState('');
  const [yamlBox, setYamlBox] = useState<{ mode: 'export' | 'import'; text: string } | null>(null);
  // The selection as the canvas reports it, and selections the editor asks for.
  const [selected, setSelected] = useState<string[]>([]);
  const [selectReq, setSelectReq] = useState<SelectRequest | null>(null);
  const select = useCallback((ids: string[]) => setSelectReq({ ids, tick: Date.now() + Math.random() }), []);
  const onSelection = useCallback((ids: string[]) => setSelected((old) => (sameIds(old, ids) ? old : ids)), []);
  const selectedRef = useRef(selected);
  selectedRef.current = selected;
  const savedDoc = useRef<FlowDoc | null>(null);
  const saving = useRef<Promise<void> | null>(null);
  const clipboard = useRef<Record<string, NodeDoc>>({});

  // Spec and bots once.
  useEffect(() => {
    api.getSpec().then(setSpec, (e: unknown) => setMessage(String(e)));
    api.listBots().then(
      (bs) => {
        setBots(bs);
        const h = readHash();
        const b = bs.find((x) => x.id === h.bot) ?? bs[0];
        if (b) {
          setBot(b.id);
          setFlowId(h.bot === b.id && h.flow ? h.flow : (b.flow_id ?? ''));
        }
      },
      (e: unknown) => setMessage(String(e)),
    );
  }, []);

  useEffect(() => {
    if (!bot) return;
    api.listFlows(bot).then(
      (fs) => {
        setFlows(fs);
        // A bot without a flow of its own opens its first one.
        setFlowId((cur) => cur || (fs.find((f) => f.running) ?? fs[0])?.id || '');
      },
      () => setFlows([]),
    );
  }, [bot, versionsTick]);

  // switchBot shows another bot with its own flow: the one it runs, else its
  // first (the list effect above), never the flow of the bot before.
  const switchBot = (id: string) => {
    if (id === bot) return;
    void flushRef.current?.();
    setBot(id);
    setFlows([]);
    setHist(null);
    setLoaded('');
    setProblems([]);
    setFlowId(bots.find((b) => b.id === id)?.flow_id ?? '');
  };

  // Load a flow: the draft, or the latest version; lay out nodes without positions.
  useEffect(() => {
    if (!bot || !flowId || specs.size === 0) return;
    let gone = false;
    setLoaded('');
    const place = `/${encodeURIComponent(bot)}/${encodeURIComponent(flowId)}`;
    location.hash = `#/flows${place}`;
    try {
      sessionStorage.setItem(lastFlowKey, place);
    } catch {
      /* storage unavailable */
    }
    (async () => {
      let d: FlowDoc | null = null;
      let ps: Problem[] = [];
      try {
        const got = await api.getDraft(bot, flowId);
        d = got.json;
        ps = got.problems;
      } catch (e) {
        if (!(e instanceof api.ApiError && e.status === 404)) throw e;
        const vs = await api.listVersions(bot, flowId);
        if (vs.length > 0) d = (await api.getVersion(bot, flowId, vs[vs.length - 1].version)).json;
      }
      if (gone) return;
      d = d ?? emptyFlow(flowId, flowId);
      if (needsLayout(d)) d = layout(d, specs, true);
      savedDoc.current = d;
      setHist({ past: [], present: d, future: [] });
      setProblems(ps);
      setSave('saved');
      setLoaded(`${bot}/${flowId}`);
    })().catch((e: unknown) => setMessage(String(e)));
    return () => {
      gone = true;
    };
  }, [bot, flowId, specs, loadTick]);

  const change = useCallback((next: FlowDoc, key?: string) => {
    // Saving an answer into a new name declares the variable (declareVars).
    setHist((h) => (h ? record(h, declareVars(next), key) : h));
  }, []);

  // Validation (debounced) and autosave (debounced longer) on every change.
  useEffect(() => {
    if (!doc || doc === savedDoc.current) return;
    setSave('dirty');
    const v = window.setTimeout(() => {
      api.validate(doc, bot).then((r) => setProblems(r.problems), () => {});
    }, 250);
    const s = window.setTimeout(() => void flush(), 900);
    return () => {
      window.clearTimeout(v);
      window.clearTimeout(s);
    };
    // flush reads the latest doc through the ref below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [doc]);

  const docRef = useRef(doc);
  docRef.current = doc;
  const flushRef = useRef<(() => Promise<void>) | null>(null);
  const flush = useCallback(async (): Promise<void> => {
    if (saving.current) await saving.current;
    const d = docRef.current;
    if (!d || d === savedDoc.current || !bot || !flowId) return;
    setSave('saving');
    const p = api
      .putDraft(bot, flowId, d)
      .then((r) => {
        savedDoc.current = d;
        setProblems(r.problems);
        // A published flow edited for the first time has a draft now.
        setFlows((fs) => fs.map((f) => (f.id === flowId && !f.draft ? { ...f, draft: true } : f)));
        setSave(docRef.current === d ? 'saved' : 'dirty');
      })
      .catch((e: unknown) => {
        setSave('failed');
        setMessage(String(e));
      })
      .finally(() => {
        saving.current = null;
      });
    saving.current = p;
    await p;
  }, [bot, flowId]);

  flushRef.current = flush;

  const byNode = useMemo(() => problemsByNode(problems), [problems]);
  const errors = hasErrors(problems);

  // placeAfter finds room below a block for the next one: under it, moved
  // right past blocks already there.
  const placeAfter = useCallback(
    (d: FlowDoc, source: string): { x: number; y: number } => {
      const n = d.nodes[source];
      const base = n?.ui ?? { x: 0, y: 0 };
      const y = base.y + estimateHeight(n, specs.get(n.type)) + 60;
      let x = base.x;
      const taken = (px: number) => Object.values(d.nodes).some((o) => o.ui && Math.abs(o.ui.x - px) < 250 && o.ui.y >= y - 40 && o.ui.y < y + 120);
      while (taken(x)) x += 280;
      return { x, y };
    },
    [specs],
  );

  /**
   * addBlock adds a block of a type: after an exit of a block when one is
   * given, connected to it; else after the selected block when it has an
   * exit leading nowhere; else at pos.
   */
  const addBlock = useCallback(
    (type: string, pos: { x: number; y: number } | null, after?: { source: string; handle: string }) => {
      const d = docRef.current;
      if (!d) return;
      const id = newNodeID(d, type);
      let from = after;
      const only = selectedRef.current.length === 1 ? selectedRef.current[0] : undefined;
      if (!from && only && d.nodes[only]) {
        const h = danglingExit(d.nodes[only], specs.get(d.nodes[only].type));
        if (h) from = { source: only, handle: h };
      }
      // A block dropped at a spot stays there; one added by a click goes below the block it follows.
      const at = pos ?? (from ? placeAfter(d, from.source) : { x: 0, y: 0 });
      let next = addNode(d, id, defaultNode(type, lang, varInfos(d)), at);
      if (from) next = connect(next, from.source, from.handle, id);
      change(next);
      select([id]);
      setPanel('props');
    },
    [change, lang, specs, placeAfter, select],
  );
  const dropNode = useCallback((type: string, pos: { x: number; y: number }) => addBlock(type, pos), [addBlock]);
  const onCreateAfter = useCallback((source: string, handle: string, type: string) => addBlock(type, null, { source, handle }), [addBlock]);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const type = e.dataTransfer.getData('application/voronka-node');
    if (!type) return;
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    dropNode(type, { x: p.x - 110, y: p.y - 30 });
  };

  const sel = selected.length === 1 && doc?.nodes[selected[0]] ? selected[0] : null;

  // Keyboard shortcuts.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const el = e.target as HTMLElement | null;
      const typing = el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
      if (mod && e.key.toLowerCase() === 's') {
        e.preventDefault();
        void flush();
        return;
      }
      if (typing || !mod) return;
      const k = e.key.toLowerCase();
      if (k === 'z' && !e.shiftKey) {
        e.preventDefault();
        setHist((h) => (h ? undo(h) : h));
      } else if ((k === 'z' && e.shiftKey) || k === 'y') {
        e.preventDefault();
        setHist((h) => (h ? redo(h) : h));
      } else if (k === 'c' && docRef.current) {
        const d = docRef.current;
        const ids = selectedRef.current;
        if (ids.length) {
          clipboard.current = Object.fromEntries(ids.filter((id) => d.nodes[id]).map((id) => [id, d.nodes[id]]));
          try {
            localStorage.setItem('voronka-clipboard', JSON.stringify(clipboard.current));
          } catch {
            /* private mode */
          }
        }
      } else if (k === 'v' && docRef.current) {
        let clip = clipboard.current;
        if (Object.keys(clip).length === 0) {
          try {
            clip = JSON.parse(localStorage.getItem('voronka-clipboard') ?? '{}') as Record<string, NodeDoc>;
          } catch {
            clip = {};
          }
        }
        if (Object.keys(clip).length === 0) return;
        const r = copyNodes(docRef.current, clip, { x: 40, y: 40 }, specs);
        change(r.doc);
        select(r.ids);
      } else if (k === 'a') {
        e.preventDefault();
        if (docRef.current) select(Object.keys(docRef.current.nodes));
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [flush, specs, change]);

  const doPublish = async () => {
    setMessage('');
    await flush();
    try {
      const r = await api.publish(bot, flowId);
      setMessage(`${t('published')} v${r.version}`);
      setVersionsTick((x) => x + 1);
      // The flow has a version now: it may become the bot's flow.
      setFlows(await api.listFlows(bot));
    } catch (e) {
      if (e instanceof api.ApiError && Array.isArray(e.details)) setProblems(e.details as Problem[]);
      setMessage(e instanceof Error ? e.message : String(e));
    }
  };

  // makeBotFlow makes the open flow the one the bot's new conversations
  // start on (its latest published version), from beside Publish.
  const makeBotFlow = async () => {
    setMessage('');
    try {
      await botsApi.updateBot(bot, { flow_id: flowId });
      setFlows(await api.listFlows(bot));
      setMessage(t('madeBotFlow'));
    } catch (e) {
      setMessage(e instanceof Error ? e.message : String(e));
    }
  };

  const createFlow = async (id: string, name: string, tpl: TemplateId) => {
    setNewFlowOpen(false);
    try {
      await flush();
      await api.putDraft(bot, id, layout(template(tpl, id, name), specs));
      setFlows(await api.listFlows(bot));
      setFlowId(id);
    } catch (e) {
      setMessage(e instanceof Error ? e.message : String(e));
    }
  };

  // deleteDraft drops the draft after a confirmation and shows what is left:
  // the latest published version, or another flow when there is none.
  const deleteDraft = async () => {
    if (!window.confirm(t('deleteDraftConfirm'))) return;
    if (saving.current) await saving.current;
    // Whatever is on the canvas must not be saved again as a new draft.
    savedDoc.current = docRef.current;
    try {
      await api.deleteDraft(bot, flowId);
    } catch (e) {
      if (!(e instanceof api.ApiError && e.status === 404)) {
        setMessage(e instanceof Error ? e.message : String(e));
        return;
      }
    }
    const fs = await api.listFlows(bot);
    setFlows(fs);
    setMessage(t('draftDeleted'));
    const next = afterDraftDeleted(fs, flowId);
    if (next === flowId) setLoadTick((x) => x + 1);
    else {
      if (!next) setHist(null);
      setFlowId(next);
    }
  };

  const doExport = async () => {
    await flush();
    setYamlBox({ mode: 'export', text: await api.exportYaml(bot, flowId) });
  };

  const doImport = async (text: string) => {
    try {
      const r = await api.importYaml(bot, text);
      setYamlBox(null);
      setMessage(`${t('importDone')}: ${r.id}`);
      setFlows(await api.listFlows(bot));
      if (r.id === flowId && r.json) {
        let d = r.json;
        if (needsLayout(d)) d = layout(d, specs, true);
        change(d);
        setProblems(r.problems);
        // Look at what came in, as when a flow opens: the imported blocks
        // may lie where the canvas was not looking.
        setViewTick((x) => x + 1);
      } else {
        setFlowId(r.id);
      }
    } catch (e) {
      setMessage(e instanceof Error ? e.message : String(e));
    }
  };

  const arrange = () => {
    if (doc) change(layout(doc, specs));
    setViewTick((x) => x + 1);
  };

  const errorCount = problems.filter((p) => p.severity === 'error').length;
  const warnCount = problems.length - errorCount;
  const vars = useMemo(() => varInfos(doc), [doc?.vars]); // eslint-disable-line react-hooks/exhaustive-deps
  const ready = !!doc && loaded === `${bot}/${flowId}`;

  return (
    <div className="builder">
      <header className="topbar">
        <label>
          {t('bot')}{' '}
          <select value={bot} onChange={(e) => switchBot(e.target.value)} data-field="bot">
            {bots.map((b) => (
              <option key={b.id} value={b.id}>
                {b.name || b.id}
              </option>
            ))}
          </select>
        </label>
        <ChannelBadges channels={channels} />
        <label>
          {t('flow')}{' '}
          <select value={flowId} onChange={(e) => setFlowId(e.target.value)} data-field="flow">
            {flowId && !flows.some((f) => f.id === flowId) && <option value={flowId}>{flowId}</option>}
            {flows.map((f) => (
              <option key={f.id} value={f.id}>
                {f.name ? `${f.name} (${f.id})` : f.id}
              </option>
            ))}
          </select>
        </label>
        <button onClick={() => setNewFlowOpen(true)} data-action="new-flow" disabled={!bot}>
          <Icon name="plus" size={14} /> {t('newFlow')}
        </button>
        {flows.some((f) => f.id === flowId && f.draft) && (
          <button onClick={() => void deleteDraft()} data-action="delete-draft" title={t('deleteDraftConfirm')}>
            <Icon name="trash" size={14} /> {t('deleteDraft')}
          </button>
        )}
        <span className="spacer" />
        <button onClick={() => setHist((h) => (h ? undo(h) : h))} disabled={!hist?.past.length} title="Ctrl+Z">
          <Icon name="undo" size={14} /> {t('undo')}
        </button>
        <button onClick={() => setHist((h) => (h ? redo(h) : h))} disabled={!hist?.future.length} title="Ctrl+Shift+Z">
          <Icon name="redo" size={14} /> {t('redo')}
        </button>
        <button onClick={arrange} data-action="arrange">
          {t('arrange')}
        </button>
        <button onClick={doExport} data-action="export">
          {t('exportYaml')}
        </button>
        <button onClick={() => setYamlBox({ mode: 'import', text: '' })} data-action="import">
          {t('importYaml')}
        </button>
        <span className={`save-state ${save}`} data-testid="save-state" data-state={save}>
          {save === 'saved' ? t('saved') : save === 'saving' ? t('saving') : save === 'dirty' ? t('unsaved') : t('saveFailed')}
        </span>
        <button
          className="primary"
          onClick={doPublish}
          disabled={errors || !ready || save === 'failed'}
          title={!ready ? t('nothingLoaded') : errors ? t('publishBlocked') : ''}
          data-action="publish"
        >
          {t('publish')}
        </button>
        {(() => {
          const f = flows.find((x) => x.id === flowId);
          if (!f?.latest_version) return null;
          return f.running ? (
            <span className="muted" data-testid="bot-flow">
              <Icon name="check" size={14} /> {t('isBotFlow')}
            </span>
          ) : (
            <button onClick={() => void makeBotFlow()} title={t('makeBotFlowHint')} data-action="make-bot-flow">
              {t('makeBotFlow')}
            </button>
          );
        })()}
        <button onClick={() => setShowPreview((x) => !x)} className={showPreview ? 'on' : ''} data-action="preview">
          <Icon name="chat" size={14} /> {t('preview')}
        </button>
      </header>
      {message && (
        <div className="message" data-testid="message" onClick={() => setMessage('')}>
          {message}
        </div>
      )}
      <div className="main">
        <aside className="palette" data-testid="palette">
          <h3>{t('palette')}</h3>
          <div className="muted small">{t('paletteHint')}</div>
          {(spec?.nodes ?? []).map((s) => (
            <button
              type="button"
              key={s.type}
              className={`palette-item t-${s.type}`}
              draggable
              data-type={s.type}
              disabled={!doc}
              title={nodeDoc(lang, s.type, s.doc)}
              onDragStart={(e) => {
                e.dataTransfer.setData('application/voronka-node', s.type);
                e.dataTransfer.effectAllowed = 'move';
              }}
              onClick={() => {
                // After the selected block (placed below it), else in the middle of the view.
                const only = selectedRef.current.length === 1 ? selectedRef.current[0] : undefined;
                if (only && docRef.current?.nodes[only]) return addBlock(s.type, null);
                const c = rf.screenToFlowPosition({ x: window.innerWidth / 2, y: window.innerHeight / 3 });
                dropNode(s.type, { x: c.x - 120, y: c.y - 30 });
              }}
            >
              <Icon name={s.type} size={14} /> {tr('type_' + s.type)}
            </button>
          ))}
          <div className="muted small">{t('blocksHelp')}</div>
          <div className="muted small shortcuts">{t('shortcuts')}</div>
        </aside>
        <div className="canvas" onDragOver={(e) => e.preventDefault()} onDrop={onDrop} data-testid="canvas">
          <Canvas
            doc={doc}
            specs={specs}
            byNode={byNode}
            activeNode={activeNode}
            change={change}
            selectReq={selectReq}
            onSelection={onSelection}
            onCreateAfter={onCreateAfter}
            viewTick={viewTick}
          />
          {bot && !flowId && flows.length === 0 && (
            <div className="canvas-empty" data-testid="no-flows">
              <p>{t('noFlows')}</p>
              <button className="primary" onClick={() => setNewFlowOpen(true)} data-action="new-flow-empty">
                <Icon name="plus" size={14} /> {t('newFlow')}
              </button>
            </div>
          )}
        </div>
        <aside className="side">
          <div className="tabs">
            <button className={panel === 'props' ? 'on' : ''} onClick={() => setPanel('props')}>
              {t('properties')}
            </button>
            <button className={panel === 'settings' ? 'on' : ''} onClick={() => setPanel('settings')} data-action="settings">
              {t('settings')}
            </button>
            <button className={panel === 'versions' ? 'on' : ''} onClick={() => setPanel('versions')} data-action="versions">
              {t('versions')}
            </button>
          </div>
          <div className="problems" data-testid="problems" data-errors={errorCount}>
            {problems.length === 0 ? (
              <span className="ok">
                <Icon name="check" size={14} /> {t('noProblems')}
              </span>
            ) : (
              <>
                <b className={errorCount ? 'err' : 'warn'}>
                  {t('errors')}: {errorCount} · {t('warnings')}: {warnCount}
                </b>
                <ul>
                  {problems.slice(0, 30).map((p, i) => (
                    <li
                      key={i}
                      className={p.severity === 'error' ? 'err' : 'warn'}
                      onClick={() => {
                        if (p.node && doc?.nodes[p.node]) {
                          select([p.node]);
                          setPanel('props');
                          const n = doc.nodes[p.node];
                          if (n.ui) rf.setCenter(n.ui.x + 110, n.ui.y + 40, { duration: 200, zoom: rf.getZoom() });
                        } else setPanel('settings');
                      }}
                    >
                      {p.node && doc?.nodes[p.node] ? <b>{blockSummary(doc.nodes[p.node], p.node, tr)}: </b> : p.node ? <b>{p.node}: </b> : null}
                      {problemText(lang, p)}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </div>
          {doc && panel === 'props' && sel && (
            <Properties
              key={sel}
              id={sel}
              node={doc.nodes[sel]}
              spec={specs.get(doc.nodes[sel].type)}
              doc={doc}
              vars={vars}
              types={(spec?.nodes ?? []).map((x) => x.type)}
              expectKinds={spec?.expect ?? []}
              methods={spec?.methods ?? []}
              problems={byNode.get(sel) ?? noProblems}
              isStart={doc.start === sel}
              onChange={(n, field) => change({ ...doc, nodes: { ...doc.nodes, [sel]: n } }, `${sel}.${field}`)}
              onRename={(to) => {
                change(renameNode(doc, sel, to, specs));
                select([to]);
              }}
              onMakeStart={() => change({ ...doc, start: sel })}
              onCreateAfter={(handle, type) => addBlock(type, null, { source: sel, handle })}
              onDelete={() => change(removeNodes(doc, [sel], specs))}
            />
          )}
          {doc && panel === 'props' && !sel && <div className="muted pad">{t('noSelection')}</div>}
          {doc && panel === 'settings' && <Settings doc={doc} problems={byNode.get('') ?? noProblems} onChange={(d, f) => change(d, `flow.${f}`)} />}
          {doc && panel === 'versions' && (
            <Versions
              bot={bot}
              flow={flowId}
              draft={doc}
              refresh={versionsTick}
              onRolledBack={(d) => {
                change(d);
                setVersionsTick((x) => x + 1);
              }}
            />
          )}
        </aside>
        {showPreview && doc && (
          <aside className="preview-pane">
            <Preview bot={bot} flow={flowId} enabled={!errors} draft={doc} prepare={flush} onNode={setActiveNode} />
          </aside>
        )}
      </div>
      {newFlowOpen && <NewFlowDialog taken={flows.map((f) => f.id)} onCreate={(id, name, tpl) => void createFlow(id, name, tpl)} onClose={() => setNewFlowOpen(false)} />}
      {yamlBox && (
        <div className="modal" data-testid="yaml-modal">
          <div className="modal-box">
            <h3>{yamlBox.mode === 'export' ? t('exportYaml') : t('importYaml')}</h3>
            <textarea
              rows={24}
              value={yamlBox.text}
              readOnly={yamlBox.mode === 'export'}
              data-testid="yaml"
              onChange={(e) => setYamlBox({ ...yamlBox, text: e.target.value })}
            />
            <div className="row">
              {yamlBox.mode === 'export' ? (
                <a
                  href={URL.createObjectURL(new Blob([yamlBox.text], { type: 'application/yaml' }))}
                  download={`${flowId}.yaml`}
                  className="button"
                >
                  <Icon name="download" size={14} /> {flowId}.yaml
                </a>
              ) : (
                <>
                  <input
                    type="file"
                    accept=".yaml,.yml,.json"
                    onChange={async (e) => {
                      const f = e.target.files?.[0];
                      if (f) setYamlBox({ mode: 'import', text: await f.text() });
                    }}
                  />
                  <button className="primary" onClick={() => doImport(yamlBox.text)} data-action="do-import">
                    {t('importYaml')}
                  </button>
                </>
              )}
              <button onClick={() => setYamlBox(null)} data-action="close-modal" aria-label={t('cancel')}>
                <Icon name="close" size={14} />
              </button>
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
