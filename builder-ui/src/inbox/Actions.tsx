// What an operator does to a chat: take it, transfer it (to a person or a
// queue), resolve it (asking for a rating or not), hand it back to the bot at
// a node they pick by what it says.
import { useEffect, useMemo, useState } from 'react';
import { useI18n } from '../i18n';
import { filterChoices, nodeWords, type NodeChoice } from './nodes';
import type { CardNode, ConversationDetail, Operator, Queue } from './types';
import { fill } from './util';

export interface ActionHandlers {
  take: () => void;
  transfer: (to: { user?: string; queue?: string }) => void;
  unassign: () => void;
  resolve: (csat: boolean) => void;
  handback: (node: string) => void;
}

interface Props {
  conversation: ConversationDetail;
  me: string;
  isAdmin: boolean;
  operators: readonly Operator[];
  queues: readonly Queue[];
  nodes: readonly CardNode[];
  busy: boolean;
  on: ActionHandlers;
}

type Open = '' | 'transfer' | 'resolve' | 'handback';

export function Actions({ conversation, me, isAdmin, operators, queues, nodes, busy, on }: Props) {
  const { t } = useI18n();
  const [open, setOpen] = useState<Open>('');
  useEffect(() => setOpen(''), [conversation.id]);
  const ib = conversation.inbox;
  const mine = ib?.assignee === me;
  const resolved = !ib || ib.state === 'resolved';
  const handedOff = conversation.status === 'handoff';
  const toggle = (o: Open) => setOpen((cur) => (cur === o ? '' : o));
  const mayMove = isAdmin || mine || ib?.state === 'unassigned';

  return (
    <div className="ibx-actions" data-testid="chat-actions">
      {!mine && ib?.state !== 'assigned' && (
        <button className="primary" disabled={busy} onClick={on.take} data-action="take">
          {t('inboxTake')}
        </button>
      )}
      <span className="ibx-pop-anchor">
        <button disabled={busy || !mayMove} className={open === 'transfer' ? 'on' : ''} onClick={() => toggle('transfer')} data-action="transfer">
          {t('inboxTransfer')} ▾
        </button>
        {open === 'transfer' && (
          <Transfer
            me={me}
            current={ib?.assignee ?? ''}
            operators={operators}
            queues={queues}
            canUnassign={!!ib?.assignee}
            onPick={(to) => {
              setOpen('');
              if (to.unassign) on.unassign();
              else on.transfer(to);
            }}
          />
        )}
      </span>
      {!resolved && handedOff && (
        <span className="ibx-pop-anchor">
          <button disabled={busy} className={open === 'resolve' ? 'on' : ''} onClick={() => toggle('resolve')} data-action="resolve">
            {t('inboxResolve')} ▾
          </button>
          {open === 'resolve' && (
            <Resolve
              onResolve={(csat) => {
                setOpen('');
                on.resolve(csat);
              }}
            />
          )}
        </span>
      )}
      {handedOff && (
        <span className="ibx-pop-anchor">
          <button disabled={busy} className={open === 'handback' ? 'on' : ''} onClick={() => toggle('handback')} data-action="handback">
            {t('inboxHandback')} ▾
          </button>
          {open === 'handback' && (
            <Handback
              nodes={nodes}
              onPick={(node) => {
                setOpen('');
                on.handback(node);
              }}
            />
          )}
        </span>
      )}
    </div>
  );
}

function Transfer({
  me,
  current,
  operators,
  queues,
  canUnassign,
  onPick,
}: {
  me: string;
  current: string;
  operators: readonly Operator[];
  queues: readonly Queue[];
  canUnassign: boolean;
  onPick: (to: { user?: string; queue?: string; unassign?: boolean }) => void;
}) {
  const { t } = useI18n();
  const people = operators.filter((o) => o.id !== current);
  return (
    <div className="ibx-pop" data-testid="transfer-pop">
      <div className="ibx-pop-h">{t('inboxTransferUser')}</div>
      {people.map((o) => (
        <button key={o.id} className="ibx-pop-item" onClick={() => onPick({ user: o.id })} data-user={o.login}>
          <span className={`ibx-dot${o.online ? ' on' : ''}`} title={o.online ? t('inboxOnline') : t('inboxOfflineUser')} />
          {o.name || o.login}
          {o.id === me ? ` (${t('inboxYou')})` : ''}
          <span className="muted small"> {fill(t('inboxOpenChats'), { n: o.open ?? 0, cap: o.capacity ?? 10 })}</span>
        </button>
      ))}
      <div className="ibx-pop-h">{t('inboxTransferQueue')}</div>
      {queues.map((q) => (
        <button key={q.name} className="ibx-pop-item" onClick={() => onPick({ queue: q.name })} data-queue={q.name}>
          {q.name || t('inboxDefaultQueue')}
          <span className="muted small"> {q.unassigned ?? 0}</span>
        </button>
      ))}
      {canUnassign && (
        <button className="ibx-pop-item" onClick={() => onPick({ unassign: true })} data-action="unassign">
          {t('inboxUnassign')}
        </button>
      )}
    </div>
  );
}

function Resolve({ onResolve }: { onResolve: (csat: boolean) => void }) {
  const { t } = useI18n();
  const [csat, setCsat] = useState(() => {
    try {
      return localStorage.getItem('voronka-inbox-csat') !== 'off';
    } catch {
      return true;
    }
  });
  return (
    <div className="ibx-pop" data-testid="resolve-pop">
      <label className="row">
        <input
          type="checkbox"
          checked={csat}
          onChange={(e) => {
            setCsat(e.target.checked);
            try {
              localStorage.setItem('voronka-inbox-csat', e.target.checked ? 'on' : 'off');
            } catch {
              /* storage unavailable */
            }
          }}
          data-field="csat"
        />
        {t('inboxResolveCsat')}
      </label>
      <button className="primary" onClick={() => onResolve(csat)} data-action="resolve-do">
        {t('inboxResolveDo')}
      </button>
    </div>
  );
}

function Handback({ nodes, onPick }: { nodes: readonly CardNode[]; onPick: (node: string) => void }) {
  const { t, tr } = useI18n();
  const [q, setQ] = useState('');
  const resume = nodes.find((n) => n.resume)?.id ?? '';
  const [chosen, setChosen] = useState(resume);
  const choices = useMemo<NodeChoice[]>(
    () => nodes.map((n) => ({ id: n.id, type: n.type, words: nodeWords({ ...n, type: n.type }) })),
    [nodes],
  );
  const shown = filterChoices(choices, q, (ty) => tr('type_' + ty));
  return (
    <div className="ibx-pop wide" data-testid="handback-pop">
      <div className="ibx-pop-h">{t('inboxHandbackAt')}</div>
      <input value={q} onChange={(e) => setQ(e.target.value)} placeholder={t('inboxHandbackFilter')} data-field="node-filter" autoFocus />
      <div className="ibx-nodes" role="radiogroup">
        {shown.map((c) => (
          <label key={c.id} className={`ibx-node${chosen === c.id ? ' on' : ''}`} data-node={c.id}>
            <input type="radio" name="handback-node" checked={chosen === c.id} onChange={() => setChosen(c.id)} />
            <span className={`ibx-node-type t-${c.type}`}>{tr('type_' + c.type)}</span>
            <span className="ibx-node-words">{c.words || c.id}</span>
            {c.id === resume && <span className="muted small"> ({t('inboxHandbackResume')})</span>}
          </label>
        ))}
      </div>
      <button className="primary" onClick={() => onPick(chosen)} data-action="handback-do">
        {t('inboxHandbackDo')}
      </button>
    </div>
  );
}
