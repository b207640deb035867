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
import { layout } from './layout';
import { nodeDoc, problemText, useI18n } from './i18n';
import {
  addNode,
  copyNodes,
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
  const [yamlBox, setYamlBox] = useState<{ mode: 'export' | 'import'; text: string } | null>(null);
  // The selection as the canvas reports it, and selections the editor asks for.
  const [selected, setSelected] = useState<string[]>([]);
  const [selectReq, setSelectReq] = useState<SelectRequest | null>(null);
  const select = useCallback((ids: string[]) => setSelectReq({ ids, tick: Date.now() + Math.random() }), []);
  const onSelection = useCallback((ids: string[]) => setSelected((old) => (sameIds(old, ids) ? old : ids)), []);
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
          setFlowId(h.flow ?? b.flow_id ?? '');
        }
      },
      (e: unknown) => setMessage(String(e)),
    );
  }, []);

  useEffect(() => {
    if (!bot) return;
    api.listFlows(bot).then(setFlows, () => setFlows([]));
  }, [bot, versionsTick]);

  // Load a flow: the draft, or the latest version; lay out nodes without positions.
  useEffect(() => {
    if (!bot || !flowId || specs.size === 0) return;
    let gone = false;
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
      setTimeout(() => rf.fitView({ maxZoom: 1 }), 50);
    })().catch((e: unknown) => setMessage(String(e)));
    return () => {
      gone = true;
    };
  }, [bot, flowId, specs, rf, loadTick]);

  const change = useCallback((next: FlowDoc, key?: string) => {
    setHist((h) => (h ? record(h, next, key) : h));
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

  const byNode = useMemo(() => problemsByNode(problems), [problems]);
  const errors = hasErrors(problems);

  const dropNode = useCallback(
    (type: string, pos: { x: number; y: number }) => {
      const d = docRef.current;
      if (!d) return;
      const id = newNodeID(d, type);
      change(addNode(d, id, defaultNode(type, lang), pos));
      select([id]);
      setPanel('props');
    },
    [change, lang],
  );

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
  const selectedRef = useRef(selected);
  selectedRef.current = selected;

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

  const newFlow = async () => {
    const id = window.prompt(t('newFlowPrompt'), 'funnel');
    if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return;
    await api.putDraft(bot, id, emptyFlow(id, id));
    setFlows(await api.listFlows(bot));
    setFlowId(id);
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
      } else {
        setFlowId(r.id);
      }
    } catch (e) {
      setMessage(e instanceof Error ? e.message : String(e));
    }
  };

  const arrange = () => {
    if (doc) change(layout(doc, specs));
    setTimeout(() => rf.fitView({ maxZoom: 1 }), 50);
  };

  const errorCount = problems.filter((p) => p.severity === 'error').length;
  const warnCount = problems.length - errorCount;
  const nodeIds = doc ? Object.keys(doc.nodes) : [];
  const vars = doc?.vars ? Object.keys(doc.vars) : [];

  return (
    <div className="builder">
      <header className="topbar">
        <label>
          {t('bot')}{' '}
          <select value={bot} onChange={(e) => setBot(e.target.value)} data-field="bot">
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
        <button onClick={newFlow} data-action="new-flow">
          + {t('newFlow')}
        </button>
        {flows.some((f) => f.id === flowId && f.draft) && (
          <button onClick={() => void deleteDraft()} data-action="delete-draft" title={t('deleteDraftConfirm')}>
            🗑 {t('deleteDraft')}
          </button>
        )}
        <span className="spacer" />
        <button onClick={() => setHist((h) => (h ? undo(h) : h))} disabled={!hist?.past.length} title="Ctrl+Z">
          ↶ {t('undo')}
        </button>
        <button onClick={() => setHist((h) => (h ? redo(h) : h))} disabled={!hist?.future.length} title="Ctrl+Shift+Z">
          ↷ {t('redo')}
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
          disabled={errors || !doc || save === 'failed'}
          title={errors ? t('publishBlocked') : ''}
          data-action="publish"
        >
          {t('publish')}
        </button>
        {(() => {
          const f = flows.find((x) => x.id === flowId);
          if (!f?.latest_version) return null;
          return f.running ? (
            <span className="muted" data-testid="bot-flow">
              ✓ {t('isBotFlow')}
            </span>
          ) : (
            <button onClick={() => void makeBotFlow()} title={t('makeBotFlowHint')} data-action="make-bot-flow">
              {t('makeBotFlow')}
            </button>
          );
        })()}
        <button onClick={() => setShowPreview((x) => !x)} className={showPreview ? 'on' : ''} data-action="preview">
          💬 {t('preview')}
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
            <div
              key={s.type}
              className={`palette-item t-${s.type}`}
              draggable
              data-type={s.type}
              title={nodeDoc(lang, s.type, s.doc)}
              onDragStart={(e) => {
                e.dataTransfer.setData('application/voronka-node', s.type);
                e.dataTransfer.effectAllowed = 'move';
              }}
              onClick={() => {
                const c = rf.screenToFlowPosition({ x: window.innerWidth / 2, y: window.innerHeight / 2 });
                dropNode(s.type, { x: c.x - 110 + Math.random() * 40, y: c.y - 30 + Math.random() * 40 });
              }}
            >
              {tr('type_' + s.type)}
            </div>
          ))}
          <div className="muted small shortcuts">{t('shortcuts')}</div>
        </aside>
        <div className="canvas" onDragOver={(e) => e.preventDefault()} onDrop={onDrop} data-testid="canvas">
          <Canvas doc={doc} specs={specs} byNode={byNode} activeNode={activeNode} change={change} selectReq={selectReq} onSelection={onSelection} />
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
              <span className="ok">✓ {t('noProblems')}</span>
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
                      {p.node ? <b>{p.node}: </b> : null}
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
              nodeIds={nodeIds}
              vars={vars}
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
                  ⬇ {flowId}.yaml
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
              <button onClick={() => setYamlBox(null)} data-action="close-modal">
                ✕
              </button>
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
