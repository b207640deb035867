// The preview: a chat with the draft over the web chat socket (the same
// protocol as the widget), with the signed bot id the API hands out for this
// user's session ("preview~<bot>~<flow>~<user>~<session>~<expiry>~<sig>",
// good for 24 h and until sign-out; a new one for every run), which the
// server runs through the real engine. It polls the conversation to highlight the
// current node and show variables, score and tags.
import { useEffect, useMemo, useRef, useState } from 'react';
import { getConversation, previewBot as getPreviewBot, type Conversation } from './api';
import { useI18n } from './i18n';
import type { FlowDoc } from './model';

interface Line {
  from: 'bot' | 'me';
  text: string;
  buttons?: { label: string; payload: string }[];
  id: string;
}

interface Props {
  bot: string;
  flow: string;
  enabled: boolean;
  /** draft is the document being edited; a change to it (other than moving nodes) is announced. */
  draft: FlowDoc;
  /** prepare saves the draft before a conversation starts. */
  prepare: () => Promise<void>;
  onNode: (node: string | undefined) => void;
}

type ServerFrame =
  | { type: 'welcome'; session: string }
  | { type: 'message'; id: string; text: string; buttons?: { label: string; payload: string }[] }
  | { type: 'ack'; id: string }
  | { type: 'error'; code: string; message: string }
  | { type: 'pong' | 'typing' };

/**
 * behaviour is what a conversation can notice of a draft: all of it but the
 * node positions, so moving nodes does not call for a restart.
 */
function behaviour(d: FlowDoc): string {
  return JSON.stringify(d, (k, v: unknown) => (k === 'ui' ? undefined : v));
}

// The server keeps a preview conversation on the draft it started on (as a
// published one keeps its version), so an edit never lands mid-conversation
// on a node that is gone; the panel says the draft changed and offers a
// restart, which starts a new conversation on the newest draft.
export function Preview({ bot, flow, enabled, draft, prepare, onNode }: Props) {
  const { t } = useI18n();
  const now = useMemo(() => behaviour(draft), [draft]);
  const nowRef = useRef(now);
  nowRef.current = now;
  const [startedOn, setStartedOn] = useState('');
  const [lines, setLines] = useState<Line[]>([]);
  const [conv, setConv] = useState<Conversation | null>(null);
  const [input, setInput] = useState('');
  const [run, setRun] = useState(0);
  const [error, setError] = useState('');
  const ws = useRef<WebSocket | null>(null);
  const session = useRef('');
  const seq = useRef(0);

  useEffect(() => {
    if (!enabled) return;
    let closed = false;
    let poll: number | undefined;
    setLines([]);
    setConv(null);
    setError('');
    session.current = '';
    setStartedOn('');
    const start = async () => {
      await prepare();
      setStartedOn(nowRef.current);
      const previewBot = await getPreviewBot(bot, flow);
      if (closed) return;
      const proto = location.protocol === 'https:' ? 'wss' : 'ws';
      const sock = new WebSocket(`${proto}://${location.host}/ws/chat`);
      ws.current = sock;
      sock.onopen = () => sock.send(JSON.stringify({ type: 'hello', v: 1, session: '', bot: previewBot, profile: { first_name: 'Preview', language: 'ru' } }));
      sock.onmessage = (ev: MessageEvent<string>) => {
        const f = JSON.parse(ev.data) as ServerFrame;
        if (f.type === 'welcome') {
          session.current = f.session;
          sock.send(JSON.stringify({ type: 'text', id: `m${++seq.current}`, text: '/start' }));
        } else if (f.type === 'message') {
          setLines((l) => (l.some((x) => x.id === f.id) ? l : [...l, { from: 'bot', text: f.text, buttons: f.buttons, id: f.id }]));
        } else if (f.type === 'error') {
          setError(f.message);
        }
      };
      sock.onerror = () => setError('WebSocket');
      poll = window.setInterval(async () => {
        if (!session.current) return;
        try {
          const c = await getConversation(`${previewBot}:web:${session.current}`);
          setConv(c);
          onNode(c.node);
        } catch {
          /* not created yet */
        }
      }, 600);
    };
    start().catch((e: unknown) => setError(String(e)));
    return () => {
      closed = true;
      window.clearInterval(poll);
      ws.current?.close();
      ws.current = null;
      onNode(undefined);
    };
    // prepare and onNode change every render; a new run restarts on purpose only.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [enabled, bot, flow, run]);

  const sendText = (text: string) => {
    if (!ws.current || !text.trim()) return;
    ws.current.send(JSON.stringify({ type: 'text', id: `m${++seq.current}`, text }));
    setLines((l) => [...l, { from: 'me', text, id: `me${seq.current}` }]);
    setInput('');
  };
  const press = (label: string, payload: string) => {
    if (!ws.current) return;
    ws.current.send(JSON.stringify({ type: 'press', id: `m${++seq.current}`, payload, label }));
    setLines((l) => [...l, { from: 'me', text: label, id: `me${seq.current}` }]);
  };

  return (
    <div className="preview" data-testid="preview">
      <div className="preview-head">
        <b>{t('preview')}</b>
        <button onClick={() => setRun((r) => r + 1)} data-action="restart">
          ↺ {t('restart')}
        </button>
      </div>
      {!enabled && <div className="muted">{t('previewBlocked')}</div>}
      {enabled && startedOn !== '' && startedOn !== now && (
        <div className="preview-notice" data-testid="preview-stale">
          <span>{t('previewDraftChanged')}</span>
          <button className="primary" onClick={() => setRun((r) => r + 1)} data-action="restart-new">
            ↺ {t('previewRestartNew')}
          </button>
        </div>
      )}
      {error && <div className="err">{error}</div>}
      <div className="chat" data-testid="chat">
        {lines.map((l, i) => (
          <div key={l.id} className={`bubble ${l.from}`} data-from={l.from}>
            <div>{l.text}</div>
            {l.buttons && i === lines.length - 1 && (
              <div className="bubble-buttons">
                {l.buttons.map((b) => (
                  <button key={b.payload} onClick={() => press(b.label, b.payload)}>
                    {b.label}
                  </button>
                ))}
              </div>
            )}
          </div>
        ))}
      </div>
      <form
        className="chat-input"
        onSubmit={(e) => {
          e.preventDefault();
          sendText(input);
        }}
      >
        <input value={input} placeholder={t('typeMessage')} onChange={(e) => setInput(e.target.value)} data-field="chat-input" />
        <button type="submit">{t('send')}</button>
      </form>
      <div className="state" data-testid="preview-state">
        <div>
          {t('currentNode')}: <b data-testid="current-node">{conv?.node ?? t('none')}</b>
        </div>
        <div>
          {t('score')}: <b data-testid="score">{conv?.score ?? 0}</b> {conv?.segment ? `(${conv.segment})` : ''}
        </div>
        <div>
          {t('tags')}: {(conv?.tags ?? []).join(', ') || t('none')}
        </div>
        <div>
          {t('vars')}:
          <pre>{JSON.stringify(conv?.vars ?? {}, null, 1)}</pre>
        </div>
      </div>
    </div>
  );
}
