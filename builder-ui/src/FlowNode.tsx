// A node on the canvas: its type, id, a line of text, an outgoing handle per
// button, branch, variant, timeout, on_fail, else, on_error, and its problems.
import { memo } from 'react';
import { Handle, Position, type NodeProps, type Node } from '@xyflow/react';
import type { NodeDoc, Output, Problem } from './model';
import { problemText, useI18n } from './i18n';
import { NodeCount } from './analytics/CanvasCounts';

export interface FlowNodeData extends Record<string, unknown> {
  doc: NodeDoc;
  outputs: Output[];
  problems: Problem[];
  start: boolean;
  active: boolean;
  count?: { entered: number; percent: number | null };
}

export type FlowNodeType = Node<FlowNodeData, 'flow'>;

function summary(doc: NodeDoc): string {
  for (const k of ['text', 'url', 'name', 'for', 'queue']) {
    const v = doc[k];
    if (typeof v === 'string' && v) return v;
  }
  if (typeof doc.add === 'number') return `+${doc.add}`;
  return '';
}

/**
 * clip shortens a string to n characters. Labels and ids are cut here rather
 * than by CSS (overflow: hidden + text-overflow), because every element that
 * clips is a paint chunk of its own, and Chromium regroups all of them (a
 * few thousand in a 500-node flow) on every frame of a drag.
 */
function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function FlowNodeView({ id, data, selected }: NodeProps<FlowNodeType>) {
  const { tr, lang } = useI18n();
  const errors = data.problems.filter((p) => p.severity === 'error');
  const warnings = data.problems.filter((p) => p.severity !== 'error');
  const cls = [
    'fnode',
    `t-${data.doc.type}`,
    selected ? 'selected' : '',
    errors.length ? 'has-error' : warnings.length ? 'has-warning' : '',
    data.active ? 'active' : '',
  ].join(' ');
  const text = summary(data.doc);
  return (
    <div className={cls} data-node-id={id} title={data.problems.map((p) => problemText(lang, p)).join('\n')}>
      <Handle type="target" position={Position.Top} id="in" className="h-in" />
      <div className="fnode-head">
        <span className="fnode-type">{tr('type_' + data.doc.type)}</span>
        {data.start && <span className="fnode-start">▶</span>}
        <span className="fnode-id" title={id.length > 16 ? id : undefined}>
          {clip(id, 16)}
        </span>
      </div>
      {text && <div className="fnode-text">{clip(text, 91)}</div>}
      {data.count && <NodeCount count={data.count} />}
      {errors.length > 0 && (
        <div className="fnode-problem" data-testid="node-error">
          ⚠ {problemText(lang, errors[0])}
          {errors.length > 1 ? ` (+${errors.length - 1})` : ''}
        </div>
      )}
      {data.outputs.length > 0 && (
        <div className="fnode-outs">
          {data.outputs.map((o) => (
            <div className="fnode-out" key={o.handle}>
              <span className="fnode-out-label">{clip(o.label, 24)}</span>
              <Handle type="source" position={Position.Bottom} id={o.handle} className="h-out" data-handle={o.handle} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export const FlowNode = memo(FlowNodeView);
