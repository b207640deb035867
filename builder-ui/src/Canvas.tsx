// The canvas: React Flow over the flow document. It keeps its own node
// objects so that dragging re-renders only the dragged node and the canvas,
// never the panels around it, and writes positions back when a drag ends.
import { memo, useCallback, useEffect, useRef, useState } from 'react';
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  applyEdgeChanges,
  applyNodeChanges,
  type Connection,
  type Edge as RFEdge,
  type EdgeChange,
  type NodeChange,
  type OnSelectionChangeParams,
  type ReactFlowState,
  getViewportForBounds,
  useStore,
  useReactFlow,
  useStoreApi,
} from '@xyflow/react';
import { FlowNode, type FlowNodeType } from './FlowNode';
import { nodeHeight, nodeWidth } from './layout';
import { edgeKey, type CanvasCounts } from './analytics/logic';
import { connect, edges as docEdges, outputs, removeNodes, round, type FlowDoc, type NodeSpec, type Problem } from './model';

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
  /** counts, when given, draws the analytics on nodes and edges (analytics/CanvasCounts). */
  counts?: CanvasCounts;
}

function CanvasView({ doc, specs, byNode, activeNode, change, selectReq, onSelection, counts }: Props) {
  const [nodes, setNodes] = useState<FlowNodeType[]>([]);
  const [rfEdges, setRfEdges] = useState<RFEdge[]>([]);
  const docRef = useRef(doc);
  docRef.current = doc;
  const store = useStoreApi<FlowNodeType, RFEdge>();
  const rf = useReactFlow<FlowNodeType, RFEdge>();
  const fitted = useRef<string | null>(null);

  // Nodes and edges follow the document; selection is kept.
  useEffect(() => {
    if (!doc) return;
    if (fitted.current !== doc.id) {
      // A flow just opened: show all of it from the first frame, from the
      // positions and the usual node size, rather than draw the nodes at
      // zoom 1 and mount most of them again when the editor fits the view
      // after they are measured (which then only corrects the zoom a bit).
      fitted.current = doc.id;
      const ps = Object.values(doc.nodes).map((n) => n.ui ?? { x: 0, y: 0 });
      const s = store.getState();
      if (ps.length && s.width && s.height) {
        const x = Math.min(...ps.map((p) => p.x));
        const y = Math.min(...ps.map((p) => p.y));
        const bounds = { x, y, width: Math.max(...ps.map((p) => p.x)) - x + nodeWidth, height: Math.max(...ps.map((p) => p.y)) - y + nodeHeight };
        void rf.setViewport(getViewportForBounds(bounds, s.width, s.height, s.minZoom, 1, 0.1));
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
      }));
    });
  }, [doc, specs, byNode, activeNode, store, rf, counts]);

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

  return (
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
      deleteKeyCode={deleteKeys}
      multiSelectionKeyCode={multiSelectKeys}
      selectionKeyCode="Shift"
      onlyRenderVisibleElements={nodes.length > 150}
      minZoom={0.05}
      maxZoom={2}
      proOptions={proOptions}
      className={far ? 'far' : undefined}
    >
      <Background />
      <MiniMap pannable zoomable nodeStrokeWidth={0} nodeBorderRadius={0} />
      <Controls />
    </ReactFlow>
  );
}

export const Canvas = memo(CanvasView);
