// Auto-layout with dagre for flows written by hand (no ui positions).
import dagre from '@dagrejs/dagre';
import { edges, type FlowDoc, type NodeSpec } from './model';

export const nodeWidth = 220;
export const nodeHeight = 90;

/**
 * layout places every node top to bottom along its connections. With
 * onlyMissing, nodes that have a position keep it.
 */
export function layout(doc: FlowDoc, specs: Map<string, NodeSpec>, onlyMissing = false): FlowDoc {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: 70 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of Object.keys(doc.nodes)) g.setNode(id, { width: nodeWidth, height: nodeHeight });
  for (const e of edges(doc, specs)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const nodes = { ...doc.nodes };
  for (const id of Object.keys(nodes)) {
    if (onlyMissing && nodes[id].ui) continue;
    const p = g.node(id);
    nodes[id] = { ...nodes[id], ui: { x: Math.round(p.x - nodeWidth / 2), y: Math.round(p.y - nodeHeight / 2) } };
  }
  return { ...doc, nodes };
}
