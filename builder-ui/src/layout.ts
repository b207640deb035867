// Auto-layout with dagre for flows written by hand (no ui positions), block
// sizes, and where the canvas looks when a flow opens.
import dagre from '@dagrejs/dagre';
import { edges, outputs, type FlowDoc, type NodeDoc, type NodeSpec, type Position } from './model';

export const nodeWidth = 240;
export const nodeHeight = 90;

/**
 * The smallest text in a block is 13 px (FlowNode, styles.css); below this
 * zoom it would be drawn under 12 px, so opening a flow zooms out only to
 * here.
 */
export const readableZoom = 12 / 13;

/** estimateHeight guesses a block's height from what it shows (the canvas measures the real one). */
export function estimateHeight(n: NodeDoc, spec: NodeSpec | undefined): number {
  const text = typeof n.text === 'string' ? n.text : '';
  const lines = Math.min(4, Math.ceil(text.length / 28));
  const detail = n.type === 'question' || n.type === 'handoff' ? 20 : 0;
  return 34 + lines * 20 + detail + outputs(n, spec).length * 27 + 8;
}

/**
 * layout places every node top to bottom along its connections. With
 * onlyMissing, nodes that have a position keep it.
 */
export function layout(doc: FlowDoc, specs: Map<string, NodeSpec>, onlyMissing = false): FlowDoc {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 50, ranksep: 60 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const [id, n] of Object.entries(doc.nodes)) g.setNode(id, { width: nodeWidth, height: estimateHeight(n, specs.get(n.type)) });
  for (const e of edges(doc, specs)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const nodes = { ...doc.nodes };
  for (const id of Object.keys(nodes)) {
    if (onlyMissing && nodes[id].ui) continue;
    const p = g.node(id);
    nodes[id] = { ...nodes[id], ui: { x: Math.round(p.x - nodeWidth / 2), y: Math.round(p.y - p.height / 2) } };
  }
  return { ...doc, nodes };
}

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

/**
 * openingViewport is where the canvas looks when a flow opens: all of it
 * when it fits at a readable zoom (at most 1), else the readable zoom with
 * the start block at the top centre, so the first thing seen is where the
 * conversation begins.
 */
export function openingViewport(blocks: { pos: Position; height: number }[], start: Position | undefined, width: number, height: number): Viewport {
  if (blocks.length === 0 || width <= 0 || height <= 0) return { x: 0, y: 0, zoom: 1 };
  const x0 = Math.min(...blocks.map((b) => b.pos.x));
  const y0 = Math.min(...blocks.map((b) => b.pos.y));
  const x1 = Math.max(...blocks.map((b) => b.pos.x + nodeWidth));
  const y1 = Math.max(...blocks.map((b) => b.pos.y + b.height));
  const pad = 40;
  const fit = Math.min(1, (width - 2 * pad) / (x1 - x0), (height - 2 * pad) / (y1 - y0));
  if (fit >= readableZoom) {
    return { x: width / 2 - ((x0 + x1) / 2) * fit, y: height / 2 - ((y0 + y1) / 2) * fit, zoom: fit };
  }
  const s = start ?? { x: x0, y: y0 };
  const zoom = readableZoom;
  return { x: width / 2 - (s.x + nodeWidth / 2) * zoom, y: pad - s.y * zoom, zoom };
}
