// A node on the canvas: its type, id, a line of text, an outgoing handle per
// button, branch, variant, timeout, on_fail, else, on_error, and its problems.
import { memo } from 'react';
import { Handle, Position, useStore, type NodeProps, type Node } from '@xyflow/react';
import type { NodeDoc, Output, Problem } from './model';
import { useI18n } from './i18n';

export interface FlowNodeData extends Record<string, unknown> {
  doc: NodeDoc;
  outputs: Output[];
  problems: Problem[];
  start: boolean;
  active: boolean;
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

/** zoomedOut: below this zoom the text is unreadable, so nodes draw less. */
const farZoom = 0.45;
const isFar = (s: { transform: [number, number, number] }) => s.transform[2] < farZoom;

function FlowNodeView({ id, data, selected }: NodeProps<FlowNodeType>) {
  const { tr } = useI18n();
  const far = useStore(isFar);
  const errors = data.problems.filter((p) => p.severity === 'error');
  const warnings = data.problems.filter((p) => p.severity !== 'error');
  const cls = [
    'fnode',
    `t-${data.doc.type}`,
    selected ? 'selected' : '',
    errors.length ? 'has-error' : warnings.length ? 'has-warning' : '',
    data.active ? 'active' : '',
    far ? 'far' : '',
  ].join(' ');
  const text = summary(data.doc);
  return (
    <div className={cls} data-node-id={id} title={data.problems.map((p) => p.message).join('\n')}>
      <Handle type="target" position={Position.Top} id="in" className="h-in" />
      <div className="fnode-head">
        <span className="fnode-type">{tr('type_' + data.doc.type)}</span>
        {data.start && <span className="fnode-start">▶</span>}
        <span className="fnode-id">{id}</span>
      </div>
      {text && !far && <div className="fnode-text">{text.length > 90 ? text.slice(0, 90) + '…' : text}</div>}
      {errors.length > 0 && !far && (
        <div className="fnode-problem" data-testid="node-error">
          ⚠ {errors[0].message}
          {errors.length > 1 ? ` (+${errors.length - 1})` : ''}
        </div>
      )}
      {data.outputs.length > 0 && (
        <div className="fnode-outs">
          {data.outputs.map((o) => (
            <div className="fnode-out" key={o.handle}>
              <span className="fnode-out-label">{far ? '\u00a0' : o.label}</span>
              <Handle type="source" position={Position.Bottom} id={o.handle} className="h-out" data-handle={o.handle} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export const FlowNode = memo(FlowNodeView);
