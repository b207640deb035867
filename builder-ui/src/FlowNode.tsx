// A block on the canvas: its type, what it says (the message, the question
// and its answer type, what it does), its problems, and one row per exit
// (each button, branch in words, variant, timeout, next, else, on_fail,
// on_error, resume) with its own handle. A dangling exit's label connects
// by clicks (the label, then a block), and its "+" creates the next block
// there; a click elsewhere selects the block.
import { memo, useContext } from 'react';
import { Handle, Position, type NodeProps, type Node } from '@xyflow/react';
import { target, type NodeDoc, type Output, type Problem } from './model';
import { problemText, useI18n } from './i18n';
import { detailLine, exitLabel, mainText } from './content';
import { CanvasContext } from './canvasContext';
import { Icon } from './icons';
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

/**
 * clip shortens a string to n characters. Labels and texts are cut here
 * rather than by CSS (overflow: hidden + text-overflow), because every
 * element that clips is a paint chunk of its own, and Chromium regroups all
 * of them (a few thousand in a 500-node flow) on every frame of a drag.
 */
function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function FlowNodeView({ id, data, selected }: NodeProps<FlowNodeType>) {
  const { t, tr, lang } = useI18n();
  const ctx = useContext(CanvasContext);
  const errors = data.problems.filter((p) => p.severity === 'error');
  const warnings = data.problems.filter((p) => p.severity !== 'error');
  const cls = [
    'fnode',
    `t-${data.doc.type}`,
    selected ? 'selected' : '',
    errors.length ? 'has-error' : warnings.length ? 'has-warning' : '',
    data.active ? 'active' : '',
  ].join(' ');
  const text = mainText(data.doc, tr);
  const detail = detailLine(data.doc, tr);
  const typeName = tr('type_' + data.doc.type);
  return (
    <div className={cls} data-node-id={id} title={data.problems.map((p) => problemText(lang, p)).join('\n')}>
      <Handle type="target" position={Position.Top} id="in" className="h-in" />
      <div className="fnode-head">
        <Icon name={data.doc.type} size={14} />
        <span className="fnode-type">{typeName}</span>
        {data.start && (
          <span className="fnode-start">
            <Icon name="start" size={12} />
            {t('startBlock')}
          </span>
        )}
      </div>
      {text && <div className="fnode-text">{clip(text, 120)}</div>}
      {detail && <div className="fnode-detail">{clip(detail, 60)}</div>}
      {data.count && <NodeCount count={data.count} />}
      {errors.length > 0 && (
        <div className="fnode-problem" data-testid="node-error">
          <Icon name="warning" size={13} /> {clip(problemText(lang, errors[0]), 90)}
          {errors.length > 1 ? ` (+${errors.length - 1})` : ''}
        </div>
      )}
      {data.outputs.length > 0 && (
        <div className="fnode-outs">
          {data.outputs.map((o) => {
            const label = exitLabel(o, ctx.vars, tr);
            const dangling = !target(data.doc, o.handle);
            return (
              <div className={`fnode-out k-${o.kind}${dangling ? ' dangling' : ''}`} key={o.handle}>
                {dangling ? (
                  <button
                    type="button"
                    className="fnode-out-label nodrag"
                    title={t('connectExit')}
                    data-exit={o.handle}
                    onClick={(e) => {
                      e.stopPropagation();
                      ctx.startConnect(id, o.handle, label);
                    }}
                  >
                    {clip(label, 34)}
                  </button>
                ) : (
                  <span className="fnode-out-label" data-exit={o.handle}>
                    {clip(label, 34)}
                  </span>
                )}
                {dangling && (
                  <button
                    type="button"
                    className="fnode-add nodrag"
                    title={t('createNextHere')}
                    aria-label={`${t('createNextHere')}: ${label}`}
                    data-create={o.handle}
                    onClick={(e) => {
                      e.stopPropagation();
                      const r = e.currentTarget.getBoundingClientRect();
                      ctx.createNext(id, o.handle, { x: r.right, y: r.top });
                    }}
                  >
                    <Icon name="plus" size={12} />
                  </button>
                )}
                <Handle type="source" position={Position.Right} id={o.handle} className="h-out" data-handle={o.handle} />
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}

export const FlowNode = memo(FlowNodeView);
