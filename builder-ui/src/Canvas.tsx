// The canvas: React Flow over the flow document. It keeps its own node
// objects so that dragging re-renders only the dragged node and the canvas,
// never the panels around it, and writes positions back when a drag ends.
// Minimap and zoom buttons sit in a strip below the blocks, never over them.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  Background,
  MiniMap,
  ReactFlow,
  applyEdgeChanges,
  applyNodeChanges,
  type Connection,
  type Edge as RFEdge,
  type EdgeChange,
  type NodeChange,
  type NodeMouseHandler,
  type OnSelectionChangeParams,
  type ReactFlowState,
  useStore,
  useReactFlow,
  useStoreApi,
} from '@xyflow/react';
import { FlowNode, type FlowNodeType } from './FlowNode';
import { estimateHeight, openingViewport } from './layout';
import { connect, edges as docEdges, outputs, removeNodes, round, varInfos, type FlowDoc, type NodeSpec, type Problem } from './model';
import { CanvasContext, type CanvasActions } from './canvasContext';
import { blockSummary } from './content';
import { edgeKey, type CanvasCounts } from './analytics/logic';
import { useI18n } from './i18n';
import { Icon } from './icons';

const nodeTypes = { flow: FlowNode };
const noProblems: Problem[] = [];

// Props of <ReactFlow> are kept identical between renders: it copies every
// changed prop into its store, and each store update runs the selectors of
// every node, handle, edge and minimap node (thousands in a big flow) — an
// inline arrow here made each drag tick pay for that three times.
const deleteKeys = ['Delete', 'Backspace'];
const multiSelectKeys = ['Meta', 'Control'];
const proOptions = { hideAttribution: true };

/** Below this zoom the text is unreadable, so nodes draw less (CSS, class "far"). */
const farZoom = 0.45;
const isFar = (s: ReactFlowState) => s.transform[2] < farZoom;

const noCount = { entered: 0, percent: 0 };
const noCreate = () => {};

/** SelectRequest asks the canvas to select exactly these nodes. */
export interface SelectRequest {
  ids: string[];
  tick: number;
}

export function sameIds(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface Props {
  doc: FlowDoc | null;
  specs: Map<string, NodeSpec>;
  byNode: Map<string, Problem[]>;
  activeNode: string | undefined;
  change: (doc: FlowDoc, key?: string) => void;
  selectReq: SelectRequest | null;
  onSelection: (ids: string[]) => void;
  /** onCreateAfter puts a new block of a type after an exit of source, connected to it. */
  onCreateAfter?: (source: string, handle: string, type: string) => void;
  /** Bumped to look at the flow as when it opens (after Arrange). */
  viewTick?: number;
  /** counts, when given, draws the analytics on nodes and edges (analytics/CanvasCounts). */
  counts?: CanvasCounts;
}

function CanvasView({ doc, specs, byNode, activeNode, change, selectReq, onSelection, onCreateAfter = noCreate, viewTick = 0, counts }: Props) {
  const { t, tr } = useI18n();
  const [nodes, setNodes] = useState<FlowNodeType[]>([]);
  const [rfEdges, setRfEdges] = useState<RFEdge[]>([]);
  const docRef = useRef(doc);
  docRef.current = doc;
  const store = useStoreApi<FlowNodeType, RFEdge>();
  const rf = useReactFlow<FlowNodeType, RFEdge>();
  const fitted = useRef<string | null>(null);
  const viewed = useRef(viewTick);
  // An exit waiting for the block it should lead to (connect by clicks).
  const [connecting, setConnecting] = useState<{ source: string; handle: string; label: string } | null>(null);
  const connectingRef = useRef(connecting);
  connectingRef.current = connecting;
  // The "create the next block" menu of a dangling exit.
  const [menu, setMenu] = useState<{ source: string; handle: string; x: number; y: number } | null>(null);

  // Nodes and edges follow the document; selection is kept.
  useEffect(() => {
    if (!doc) return;
    if (fitted.current !== doc.id || viewed.current !== viewTick) {
      // A flow just opened: look at it from the first frame, from the
      // positions and estimated block sizes, rather than draw the nodes at
      // zoom 1 and mount most of them again when they are measured.
      const s = store.getState();
      if (s.width && s.height) {
        fitted.current = doc.id;
        viewed.current = viewTick;
        const blocks = Object.values(doc.nodes).map((n) => ({ pos: n.ui ?? { x: 0, y: 0 }, height: estimateHeight(n, specs.get(n.type)) }));
        const start = doc.start ? doc.nodes[doc.start]?.ui : undefined;
        void rf.setViewport(openingViewport(blocks, start, s.width, s.height));
      }
    }
    setNodes((prev) => {
      const old = new Map(prev.map((n) => [n.id, n]));
      return Object.entries(doc.nodes).map(([id, n]) => {
        const o = old.get(id);
        const problems = byNode.get(id) ?? noProblems;
        const start = doc.start === id;
        const active = activeNode === id;
        const pos = n.ui ?? { x: 0, y: 0 };
        const count = counts?.nodes[id] ?? (counts ? noCount : undefined);
        if (o && o.data.doc === n && o.data.problems === problems && o.data.start === start && o.data.active === active && o.data.count === count) {
          return o.position.x === pos.x && o.position.y === pos.y ? o : { ...o, position: pos };
        }
        return {
          id,
          type: 'flow' as const,
          position: pos,
          ariaLabel: `${tr('type_' + n.type)}${typeof n.text === 'string' && n.text ? ': ' + n.text.slice(0, 60) : ''}`,
          data: { doc: n, outputs: outputs(n, specs.get(n.type)), problems, start, active, count },
          selected: o?.selected ?? false,
        };
      });
    });
    setRfEdges((prev) => {
      const sel = new Set(prev.filter((e) => e.selected).map((e) => e.id));
      return docEdges(doc, specs).map((e) => ({
        id: e.id,
        source: e.source,
        sourceHandle: e.handle,
        target: e.target,
        targetHandle: 'in',
        selected: sel.has(e.id),
        animated: activeNode === e.source,
        label: counts ? String(counts.edges[edgeKey(e.source, e.target)] ?? 0) : undefined,
        ariaLabel: tr('aria_edgeLink').replace('{from}', blockSummary(doc.nodes[e.source], e.source, tr)).replace('{to}', blockSummary(doc.nodes[e.target], e.target, tr)),
      }));
    });
  }, [doc, specs, byNode, activeNode, store, rf, tr, viewTick, counts]);

  useEffect(() => {
    if (!selectReq) return;
    const want = new Set(selectReq.ids);
    setNodes((ns) => ns.map((n) => (n.selected === want.has(n.id) ? n : { ...n, selected: want.has(n.id) })));
  }, [selectReq, doc]);

  const onNodesChange = useCallback((changes: NodeChange<FlowNodeType>[]) => {
    setNodes((ns) => applyNodeChanges(changes, ns));
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange<RFEdge>[]) => {
    setRfEdges((es) => applyEdgeChanges(changes, es));
  }, []);
  const onSelectionChange = useCallback(
    ({ nodes: ns }: OnSelectionChangeParams<FlowNodeType, RFEdge>) => onSelection(ns.map((n) => n.id).sort()),
    [onSelection],
  );

  const onDragStop = useCallback(
    (moved: FlowNodeType[]) => {
      const d = docRef.current;
      if (!d) return;
      const next = { ...d.nodes };
      let changed = false;
      for (const m of moved) {
        const n = next[m.id];
        if (!n) continue;
        const p = round(m.position);
        if (n.ui?.x === p.x && n.ui?.y === p.y) continue;
        next[m.id] = { ...n, ui: p };
        changed = true;
      }
      if (changed) change({ ...d, nodes: next });
    },
    [change],
  );

  const onNodeDragStop = useCallback((_: unknown, __: unknown, ns: FlowNodeType[]) => onDragStop(ns), [onDragStop]);
  const onSelectionDragStop = useCallback((_: unknown, ns: FlowNodeType[]) => onDragStop(ns), [onDragStop]);
  // One subscription to the zoom for the whole canvas rather than one per node.
  const far = useStore(isFar);

  const onConnect = useCallback(
    (c: Connection) => {
      const d = docRef.current;
      if (!d || !c.sourceHandle) return;
      change(connect(d, c.source, c.sourceHandle, c.target));
    },
    [change],
  );

  const onDelete = useCallback(
    ({ nodes: ns, edges: es }: { nodes: FlowNodeType[]; edges: RFEdge[] }) => {
      let d = docRef.current;
      if (!d) return;
      for (const e of es) if (e.sourceHandle && !ns.some((n) => n.id === e.source)) d = connect(d, e.source, e.sourceHandle, undefined);
      if (ns.length) d = removeNodes(d, ns.map((n) => n.id), specs);
      change(d);
    },
    [change, specs],
  );

  // Connect by clicks: an exit's label, then a block.
  const onNodeClick = useCallback<NodeMouseHandler<FlowNodeType>>(
    (_, n) => {
      const c = connectingRef.current;
      const d = docRef.current;
      if (!c || !d) return;
      setConnecting(null);
      if (n.id !== c.source) change(connect(d, c.source, c.handle, n.id));
    },
    [change],
  );
  const onPaneClick = useCallback(() => {
    setConnecting(null);
    setMenu(null);
  }, []);
  useEffect(() => {
    if (!connecting && !menu) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setConnecting(null);
        setMenu(null);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [connecting, menu]);

  const vars = useMemo(() => varInfos(doc), [doc?.vars]); // eslint-disable-line react-hooks/exhaustive-deps
  const actions = useMemo<CanvasActions>(
    () => ({
      vars,
      startConnect: (source, handle, label) => {
        setMenu(null);
        setConnecting({ source, handle, label });
      },
      createNext: (source, handle, at) => {
        setConnecting(null);
        setMenu({ source, handle, x: at.x, y: at.y });
      },
    }),
    [vars],
  );

  const aria = useMemo(
    () => ({
      'node.a11yDescription.default': t('aria_node'),
      'node.a11yDescription.keyboardDisabled': t('aria_node'),
      'node.a11yDescription.ariaLiveMessage': ({ direction, x, y }: { direction: string; x: number; y: number }) =>
        t('aria_moved').replace('{d}', tr('aria_dir_' + direction)).replace('{x}', String(x)).replace('{y}', String(y)),
      'edge.a11yDescription.default': t('aria_edge'),
      'controls.ariaLabel': t('aria_controls'),
      'controls.zoomIn.ariaLabel': t('canvasZoomIn'),
      'controls.zoomOut.ariaLabel': t('canvasZoomOut'),
      'controls.fitView.ariaLabel': t('canvasFit'),
      'controls.interactive.ariaLabel': t('canvasLock'),
      'minimap.ariaLabel': t('canvasMinimap'),
      'handle.ariaLabel': t('aria_handle'),
    }),
    [t, tr],
  );

  const types = [...specs.keys()];
  return (
    <div className="canvas-wrap" data-connecting={connecting ? `${connecting.source}|${connecting.handle}` : undefined}>
      {connecting && (
        <div className="connect-banner" data-testid="connect-banner">
          {t('connectFrom').replace('{t}', connecting.label)}
          <button type="button" onClick={() => setConnecting(null)}>
            {t('cancel')}
          </button>
        </div>
      )}
      <div className="canvas-flow">
        <CanvasContext.Provider value={actions}>
          <ReactFlow<FlowNodeType, RFEdge>
            nodes={nodes}
            edges={rfEdges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onSelectionChange={onSelectionChange}
            onNodeDragStop={onNodeDragStop}
            onSelectionDragStop={onSelectionDragStop}
            onConnect={onConnect}
            onDelete={onDelete}
            onNodeClick={onNodeClick}
            onPaneClick={onPaneClick}
            deleteKeyCode={deleteKeys}
            multiSelectionKeyCode={multiSelectKeys}
            selectionKeyCode="Shift"
            onlyRenderVisibleElements={nodes.length > 150}
            minZoom={0.05}
            maxZoom={2}
            proOptions={proOptions}
            ariaLabelConfig={aria}
            aria-label={t('canvasLabel')}
            className={far ? 'far' : undefined}
          >
            <Background />
          </ReactFlow>
        </CanvasContext.Provider>
      </div>
      <div className="canvas-tools">
        <div className="zoom-buttons" role="toolbar" aria-label={t('aria_controls')}>
          <button type="button" onClick={() => void rf.zoomIn()} title={t('canvasZoomIn')} aria-label={t('canvasZoomIn')}>
            <Icon name="zoomIn" />
          </button>
          <button type="button" onClick={() => void rf.zoomOut()} title={t('canvasZoomOut')} aria-label={t('canvasZoomOut')}>
            <Icon name="zoomOut" />
          </button>
          <button type="button" onClick={() => void rf.fitView()} title={t('canvasFit')} aria-label={t('canvasFit')} data-action="fit">
            <Icon name="fit" />
          </button>
        </div>
        <MiniMap pannable zoomable nodeStrokeWidth={0} nodeBorderRadius={0} ariaLabel={t('canvasMinimap')} style={{ width: 200, height: 90 }} />
      </div>
      {menu && (
        <div className="create-menu" role="menu" aria-label={t('createNextTitle')} style={{ left: menu.x, top: menu.y }} data-testid="create-menu">
          <div className="muted small">{t('createNextTitle')}</div>
          {types.map((ty) => (
            <button
              type="button"
              role="menuitem"
              key={ty}
              data-type={ty}
              className={`t-${ty}`}
              onClick={() => {
                setMenu(null);
                onCreateAfter(menu.source, menu.handle, ty);
              }}
            >
              <Icon name={ty} size={14} /> {tr('type_' + ty)}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

export const Canvas = memo(CanvasView);
