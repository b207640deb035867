/*
 * Voronka web chat widget, protocol v1 (see the Go package adapters/webchat).
 *
 *   <script src="/widget/voronka-widget.js" data-bot="demo"
 *           data-server="wss://example.com/ws/chat" data-lang="ru"></script>
 *
 * Attributes: data-bot (required), data-server (default: ws[s]://<script host>/ws/chat),
 * data-lang ("ru" or "en"; default from the page's <html lang>, then the browser, then
 * Russian), data-open="true" to open the panel at once, data-title for the panel's title, data-name for the person's first name,
 * data-accent for the colour, data-start for the command a new conversation starts with
 * (default "/start", sent unseen when a new visitor first opens the chat; "" for none),
 * data-greeting for a line shown above the conversation (not sent, not stored),
 * data-position="left" for the bubble in the left corner, data-layout="page" to fill the
 * window (the hosted page /c/<bot>), data-source for where the visitor came from (kept on
 * the lead with the page's utm_* parameters).
 *
 * API: window.Voronka.open(), .close(), .toggle(), .reset() (a new conversation),
 * .send(text), .askPerson() (sends the bot's handoff text, when it has one),
 * .onMessage(fn) -> unsubscribe, .on(event, fn) -> unsubscribe,
 * and .protocol / .Connection for the builder's preview panel.
 *
 * The file has three layers so the first two run (and are tested) in Node
 * without a DOM: pure protocol functions, a Connection that owns the socket,
 * the queue and the stored state, and the UI in a shadow root.
 */
(function () {
  "use strict";

  const PROTOCOL_VERSION = 1;
  const MAX_TRANSCRIPT = 100; // entries kept in localStorage
  const MAX_OUTBOX = 50; // unacknowledged messages kept for resending
  const PING_MS = 25000; // the hub drops a connection silent for 75 s
  const DEAD_MS = 60000; // no frame for this long: the socket is dead, reconnect
  const RETRYABLE = { rate_limited: true, handler_failed: true };

  // ---------------------------------------------------------------------
  // Protocol: pure functions of their arguments.

  function emptyState() {
    return { session: "", lastSeen: 0, transcript: [], outbox: [], handoff: "" };
  }

  // loadState turns what localStorage held into a state, ignoring anything
  // malformed: a broken entry must not break the page.
  function loadState(text) {
    const s = emptyState();
    if (!text) return s;
    let v;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return s;
    }
    if (!v || typeof v !== "object" || v.v !== PROTOCOL_VERSION) return s;
    if (typeof v.session === "string") s.session = v.session;
    if (typeof v.lastSeen === "number" && v.lastSeen >= 0) s.lastSeen = v.lastSeen;
    if (typeof v.handoff === "string") s.handoff = v.handoff;
    if (Array.isArray(v.transcript)) {
      s.transcript = v.transcript.filter(function (m) {
        return m && typeof m.text === "string" && (m.from === "bot" || m.from === "user");
      });
    }
    if (Array.isArray(v.outbox)) {
      s.outbox = v.outbox.filter(function (o) {
        return o && typeof o.id === "string" && o.frame && typeof o.frame.type === "string";
      });
    }
    return s;
  }

  function saveState(state) {
    return JSON.stringify({
      v: PROTOCOL_VERSION,
      session: state.session,
      lastSeen: state.lastSeen,
      handoff: state.handoff,
      transcript: state.transcript.slice(-MAX_TRANSCRIPT),
      outbox: state.outbox.map(function (o) {
        return { id: o.id, frame: o.frame };
      }),
    });
  }

  function helloFrame(state, bot, profile) {
    const f = { type: "hello", v: PROTOCOL_VERSION, session: state.session, bot: bot, last_seen: state.lastSeen };
    if (profile) f.profile = profile;
    return f;
  }

  function textFrame(id, text) {
    return { type: "text", id: id, text: text };
  }

  function pressFrame(id, payload, label) {
    return { type: "press", id: id, payload: payload, label: label };
  }

  // addOutgoing records a message the person sent: queued until acked, and
  // shown at once. display is what the transcript shows (a press shows the
  // button's label); at is when it was sent (ms since the epoch).
  function addOutgoing(state, frame, display, hidden, at) {
    if (state.outbox.length >= MAX_OUTBOX) return false;
    state.outbox.push({ id: frame.id, frame: frame, tries: 0 });
    const m = { from: "user", id: frame.id, text: display, status: "pending" };
    if (typeof at === "number" && at > 0) m.at = at;
    if (hidden) m.hidden = true;
    state.transcript.push(m);
    trimTranscript(state);
    return true;
  }

  function trimTranscript(state) {
    if (state.transcript.length > MAX_TRANSCRIPT) {
      state.transcript.splice(0, state.transcript.length - MAX_TRANSCRIPT);
    }
  }

  function findUser(state, id) {
    for (let i = state.transcript.length - 1; i >= 0; i--) {
      const m = state.transcript[i];
      if (m.from === "user" && m.id === id) return m;
    }
    return null;
  }

  function removeOutbox(state, id) {
    const i = state.outbox.findIndex(function (o) {
      return o.id === id;
    });
    if (i < 0) return null;
    return state.outbox.splice(i, 1)[0];
  }

  // parseFrame reads one server frame; null for anything that is not an
  // object with a type (a newer server's extra frames are skipped later).
  function parseFrame(data) {
    if (typeof data !== "string") return null;
    try {
      const f = JSON.parse(data);
      return f && typeof f === "object" && typeof f.type === "string" ? f : null;
    } catch (e) {
      return null;
    }
  }

  // liveButtons returns the bot message whose buttons still answer
  // something, or null: the latest message with buttons, as long as nothing
  // was pressed there and the person has not written since (a reminder from
  // the bot without buttons keeps them live; a message that failed to send
  // answered nothing). Older keyboards are shown disabled: pressing one
  // would answer a question that is no longer asked.
  function liveButtons(state) {
    for (let i = state.transcript.length - 1; i >= 0; i--) {
      const m = state.transcript[i];
      if (m.from === "user") {
        if (m.status === "failed") continue;
        return null;
      }
      if (m.buttons && m.buttons.length) return m.chosen ? null : m;
    }
    return null;
  }

  // formatTime shows a message time as HH:MM in the browser's time zone;
  // "" for a message without one (kept from an older widget).
  function formatTime(at) {
    if (typeof at !== "number" || !(at > 0)) return "";
    const d = new Date(at);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  // applyFrame updates the state with one server frame and returns what the
  // caller has to do, as a list of effects:
  //   {kind:"welcome", resend:[frames]}  send these, in order
  //   {kind:"message", message}          a new bot message to show
  //   {kind:"ack", id} / {kind:"failed", id, code}
  //   {kind:"retry", id, frame, delay}   send frame again after delay ms
  //   {kind:"typing"} / {kind:"error", code, message} / {kind:"rehello"}
  // now is the local time, for a message from a server that sends no time.
  function applyFrame(state, f, now) {
    switch (f.type) {
      case "welcome": {
        if (typeof f.session !== "string" || !f.session) return [];
        // What to send to reach a person; absent from servers before it.
        state.handoff = typeof f.handoff === "string" ? f.handoff : "";
        if (f.session !== state.session) {
          // A conversation the server started afresh: numbering starts over.
          state.session = f.session;
          state.lastSeen = 0;
        }
        return [{ kind: "welcome", resend: state.outbox.map(function (o) { return o.frame; }) }];
      }
      case "message": {
        const seq = typeof f.seq === "number" ? f.seq : 0;
        if (seq > 0 && seq <= state.lastSeen) return []; // replayed, already shown
        if (f.id && state.transcript.some(function (m) { return m.from === "bot" && m.id === f.id; })) {
          state.lastSeen = Math.max(state.lastSeen, seq);
          return [];
        }
        const msg = {
          from: "bot",
          id: typeof f.id === "string" ? f.id : "",
          seq: seq,
          at: typeof f.at === "number" && f.at > 0 ? f.at : now || 0,
          text: typeof f.text === "string" ? f.text : "",
          buttons: Array.isArray(f.buttons)
            ? f.buttons.filter(function (b) {
                return b && typeof b.label === "string" && typeof b.payload === "string";
              }).map(function (b) {
                return { label: b.label, payload: b.payload };
              })
            : [],
        };
        // An operator's message names them; a notice says one joined.
        if (typeof f.author === "string" && f.author) msg.author = f.author;
        if (typeof f.notice === "string" && f.notice) msg.notice = f.notice;
        state.lastSeen = Math.max(state.lastSeen, seq);
        state.transcript.push(msg);
        trimTranscript(state);
        return [{ kind: "message", message: msg }];
      }
      case "ack": {
        removeOutbox(state, f.id);
        const m = findUser(state, f.id);
        if (m) m.status = "sent";
        return [{ kind: "ack", id: f.id }];
      }
      case "error": {
        if (f.code === "bad_hello") {
          // The server refused our session: forget it and start a new one.
          state.session = "";
          state.lastSeen = 0;
          return [{ kind: "rehello" }];
        }
        if (f.id) {
          const o = state.outbox.find(function (x) { return x.id === f.id; });
          if (o && RETRYABLE[f.code]) {
            o.tries = (o.tries || 0) + 1;
            return [{ kind: "retry", id: f.id, frame: o.frame, delay: backoffDelay(o.tries, 0.5) }];
          }
          if (o) {
            removeOutbox(state, f.id);
            const m = findUser(state, f.id);
            if (m) m.status = "failed";
            if (o.frame.type === "press") {
              // The press never got through: its keyboard is live again.
              const b = state.transcript.slice().reverse().find(function (x) {
                return x.from === "bot" && x.chosen === o.frame.payload;
              });
              if (b) delete b.chosen;
            }
            return [{ kind: "failed", id: f.id, code: f.code || "" }];
          }
          return [];
        }
        return [{ kind: "error", code: f.code || "", message: f.message || "" }];
      }
      case "typing":
        return [{ kind: "typing" }];
      default:
        return []; // pong, and frame types of later versions
    }
  }

  // backoffDelay: exponential from 0.5 s to 30 s with jitter, so that a
  // server restart is not met by every browser at the same instant.
  function backoffDelay(attempt, random) {
    const base = Math.min(30000, 500 * Math.pow(2, Math.min(attempt, 10)));
    return Math.round(base * (0.5 + random / 2));
  }

  // newClientId: unique within a session; the server builds the update id
  // from it, so a resend is recognised as the same message.
  function newClientId(now, randomBytes) {
    let r = "";
    for (let i = 0; i < randomBytes.length; i++) r += (randomBytes[i] & 0xff).toString(16).padStart(2, "0");
    return "c" + now.toString(36) + "-" + r;
  }

  // linkify splits text into plain parts and http(s) links, so links become
  // <a> elements without ever parsing the text as HTML.
  function linkify(text) {
    const parts = [];
    const re = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]}'»]/g;
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) parts.push({ text: text.slice(last, m.index) });
      parts.push({ text: m[0], href: m[0] });
      last = m.index + m[0].length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  // serverURL: data-server as given, else the /ws/chat endpoint on the host
  // the script came from.
  function serverURL(dataServer, scriptSrc, pageHref) {
    if (dataServer) return dataServer;
    const u = new URL(scriptSrc || pageHref, pageHref);
    return (u.protocol === "https:" ? "wss:" : "ws:") + "//" + u.host + "/ws/chat";
  }

  // pickLang: data-lang, else the page's <html lang>, else the browser's;
  // Russian unless one of them says another language.
  function pickLang(attr, browserLang, pageLang) {
    const l = String(attr || pageLang || browserLang || "ru").toLowerCase();
    return l.slice(0, 2) === "ru" ? "ru" : "en";
  }

  const STRINGS = {
    ru: {
      title: "Чат",
      open: "Открыть чат",
      close: "Закрыть чат",
      reset: "Начать новый диалог",
      placeholder: "Сообщение…",
      send: "Отправить",
      connecting: "Подключаемся…",
      offline: "Нет связи. Сообщения уйдут, когда связь вернётся.",
      typing: "Печатает…",
      pending: "отправляется",
      failed: "не отправлено",
      full: "Слишком много неотправленных сообщений.",
      messages: "Сообщения",
      unread: "Новые сообщения",
      person: "Позвать оператора",
      joined: "Оператор {name} в чате",
    },
    en: {
      title: "Chat",
      open: "Open chat",
      close: "Close chat",
      reset: "Start a new conversation",
      placeholder: "Message…",
      send: "Send",
      connecting: "Connecting…",
      offline: "Offline. Messages will be sent when the connection is back.",
      typing: "Typing…",
      pending: "sending",
      failed: "not sent",
      full: "Too many unsent messages.",
      messages: "Messages",
      unread: "New messages",
      person: "Talk to a person",
      joined: "{name} joined the chat",
    },
  };

  const protocol = {
    PROTOCOL_VERSION: PROTOCOL_VERSION,
    emptyState: emptyState,
    loadState: loadState,
    saveState: saveState,
    helloFrame: helloFrame,
    textFrame: textFrame,
    pressFrame: pressFrame,
    addOutgoing: addOutgoing,
    parseFrame: parseFrame,
    applyFrame: applyFrame,
    liveButtons: liveButtons,
    formatTime: formatTime,
    backoffDelay: backoffDelay,
    newClientId: newClientId,
    linkify: linkify,
    serverURL: serverURL,
    pickLang: pickLang,
    STRINGS: STRINGS,
  };

  // ---------------------------------------------------------------------
  // Connection: the socket, reconnects, the outbox and the stored state.
  // Everything from the environment comes in through options, so Node tests
  // drive it with their own WebSocket, storage and timers.

  class Connection {
    // o: {url, bot, profile, WebSocket, storage: {get, set}, key,
    //     random(): [0,1), randomBytes(n), now(), setTimeout, clearTimeout}
    constructor(o) {
      this.o = o;
      this.state = loadState(o.storage.get(o.key));
      this.ws = null;
      this.ready = false; // welcomed on the current socket
      this.attempt = 0;
      this.stopped = true;
      this.reconnectTimer = null;
      this.pingTimer = null;
      this.lastHeard = 0;
      this.listeners = {};
    }

    on(event, fn) {
      (this.listeners[event] = this.listeners[event] || []).push(fn);
      const list = this.listeners[event];
      return function () {
        const i = list.indexOf(fn);
        if (i >= 0) list.splice(i, 1);
      };
    }

    emit(event, arg) {
      (this.listeners[event] || []).slice().forEach(function (fn) {
        try {
          fn(arg);
        } catch (e) {
          // A listener's bug must not break the chat.
          if (typeof console !== "undefined") console.error("voronka:", e);
        }
      });
    }

    status() {
      if (this.ready) return "online";
      return this.ws ? "connecting" : "offline";
    }

    persist() {
      try {
        this.o.storage.set(this.o.key, saveState(this.state));
      } catch (e) {
        // Storage full or disabled: the chat still works for this page.
      }
      this.emit("state", this.state);
    }

    start() {
      this.stopped = false;
      if (!this.ws && !this.reconnectTimer) this.connect();
    }

    stop() {
      this.stopped = true;
      this.o.clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.drop();
    }

    // connectNow skips a pending back-off (the page became visible, the
    // browser is online again).
    connectNow() {
      if (this.stopped || this.ws) return;
      this.o.clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.connect();
    }

    connect() {
      this.reconnectTimer = null;
      let ws;
      try {
        ws = new this.o.WebSocket(this.o.url);
      } catch (e) {
        this.scheduleReconnect();
        return;
      }
      this.ws = ws;
      this.ready = false;
      this.emit("status", this.status());
      ws.onopen = () => {
        if (this.ws !== ws) return;
        this.lastHeard = this.o.now();
        this.write(helloFrame(this.state, this.o.bot, this.o.profile));
      };
      ws.onmessage = (ev) => {
        if (this.ws !== ws) return;
        this.lastHeard = this.o.now();
        const f = parseFrame(ev.data);
        if (f) this.apply(f);
      };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.drop();
        if (!this.stopped) this.scheduleReconnect();
      };
      ws.onerror = function () {}; // onclose follows
    }

    // drop forgets the current socket.
    drop() {
      const ws = this.ws;
      this.ws = null;
      this.ready = false;
      this.o.clearTimeout(this.pingTimer);
      this.pingTimer = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close();
        } catch (e) {
          // already closed
        }
      }
      this.emit("status", this.status());
    }

    scheduleReconnect() {
      const delay = backoffDelay(this.attempt++, this.o.random());
      this.reconnectTimer = this.o.setTimeout(() => this.connect(), delay);
    }

    write(frame) {
      if (!this.ws) return false;
      try {
        this.ws.send(JSON.stringify(frame));
        return true;
      } catch (e) {
        return false;
      }
    }

    ping() {
      this.pingTimer = this.o.setTimeout(() => {
        if (!this.ready) return;
        if (this.o.now() - this.lastHeard > DEAD_MS) {
          // No pong for two rounds: the socket is dead without knowing it.
          this.drop();
          this.scheduleReconnect();
          return;
        }
        this.write({ type: "ping" });
        this.ping();
      }, PING_MS);
    }

    apply(f) {
      const effects = applyFrame(this.state, f, this.o.now());
      this.persist();
      effects.forEach((e) => {
        switch (e.kind) {
          case "welcome":
            this.ready = true;
            this.attempt = 0;
            e.resend.forEach((fr) => this.write(fr));
            this.ping();
            this.emit("status", this.status());
            break;
          case "retry":
            this.o.setTimeout(() => {
              if (this.ready && this.state.outbox.some((o) => o.id === e.id)) this.write(e.frame);
            }, e.delay);
            break;
          case "rehello":
            this.drop();
            if (!this.stopped) this.scheduleReconnect();
            break;
          default:
            this.emit(e.kind, e.message || e);
        }
      });
    }

    newId() {
      return newClientId(this.o.now(), this.o.randomBytes(6));
    }

    queue(frame, display, hidden) {
      if (!addOutgoing(this.state, frame, display, hidden, this.o.now())) {
        this.emit("error", { code: "outbox_full", message: "" });
        return false;
      }
      this.persist();
      this.emit("queued", frame);
      if (this.ready) this.write(frame);
      else this.start();
      return true;
    }

    // sendText sends what the person typed. A hidden message is not shown
    // in the transcript: the widget's automatic "/start" for a new visitor.
    sendText(text, hidden) {
      text = String(text).trim();
      if (!text) return false;
      return this.queue(textFrame(this.newId(), text), text, hidden === true);
    }

    isEmpty() {
      return this.state.transcript.length === 0 && this.state.outbox.length === 0;
    }

    // press sends a button of message (a bot message of the transcript).
    // Only the live keyboard (liveButtons) answers: a press on an older
    // one is refused here, and the server would ignore it anyway.
    press(button, message) {
      if (message) {
        if (liveButtons(this.state) !== message) return false;
        message.chosen = button.payload;
      }
      return this.queue(pressFrame(this.newId(), button.payload, button.label), button.label);
    }

    // askPerson sends the bot's handoff text (from the welcome), shown as
    // display ("Позвать оператора"). False when the bot has no handoff.
    askPerson(display) {
      const text = this.state.handoff;
      if (!text) return false;
      return this.queue(textFrame(this.newId(), text), display || text);
    }

    // reset forgets the conversation here; the next hello starts a new one.
    reset() {
      const wasRunning = !this.stopped;
      this.stop();
      this.state = emptyState();
      this.persist();
      this.emit("reset");
      if (wasRunning) this.start();
    }
  }

  // ---------------------------------------------------------------------
  // UI: a bubble and a panel in a shadow root, so neither the host page's
  // CSS reaches in nor ours out.

  const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c1e21; }
button { font: inherit; cursor: pointer; }
button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 3px solid #7aa7ff; outline-offset: 2px; }
.bubble { position: relative; width: 60px; height: 60px; border-radius: 50%; border: 0;
  background: var(--accent); color: #fff; box-shadow: 0 4px 16px rgba(0,0,0,.25);
  display: flex; align-items: center; justify-content: center; margin-left: auto; }
.bubble svg { width: 28px; height: 28px; }
.badge { position: absolute; top: 2px; right: 2px; min-width: 20px; height: 20px; padding: 0 5px;
  border-radius: 10px; background: #e5484d; color: #fff; font-size: 12px; line-height: 20px; }
.panel { display: flex; flex-direction: column; width: 370px; height: min(600px, calc(100vh - 110px));
  margin-bottom: 12px; background: #fff; border-radius: 16px; overflow: hidden;
  box-shadow: 0 12px 40px rgba(0,0,0,.25); }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px;
  background: var(--accent); color: #fff; }
header h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 600; }
header button { width: 36px; height: 36px; border: 0; border-radius: 8px; background: transparent;
  color: #fff; font-size: 20px; line-height: 1; }
header button:hover { background: rgba(255,255,255,.18); }
.status { padding: 6px 16px; font-size: 13px; background: #fff4d6; color: #6b4e00; }
.status[hidden] { display: none; }
.log { flex: 1; overflow-y: auto; padding: 16px 12px; display: flex; flex-direction: column; gap: 8px;
  background: #f4f5f7; overscroll-behavior: contain; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.bot { align-self: flex-start; background: #fff; border-bottom-left-radius: 4px;
  box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.user { align-self: flex-end; background: var(--accent); color: #fff; border-bottom-right-radius: 4px; }
.user.pending { opacity: .7; }
.user.failed { background: #e5484d; }
.note { display: block; font-size: 11px; opacity: .85; margin-top: 2px; }
.msg a { color: inherit; }
.group { display: contents; }
.joined { align-self: center; font-size: 12px; color: #555; background: #e9ebef; padding: 3px 10px; border-radius: 10px; }
.author { display: block; font-size: 11px; font-weight: 600; color: var(--accent); margin-bottom: 2px; }
.buttons { display: flex; flex-wrap: wrap; gap: 6px; align-self: flex-start; max-width: 95%; }
.buttons button { padding: 7px 12px; border-radius: 18px; border: 1.5px solid var(--accent);
  background: #fff; color: var(--accent); font-weight: 500; }
.buttons button:hover:enabled { background: var(--accent); color: #fff; }
.buttons button:disabled { cursor: default; opacity: .45; border-color: #b8bcc4; color: #4b4f56; }
.buttons button.chosen:disabled { opacity: .8; border-color: var(--accent); background: var(--accent); color: #fff; }
.time { display: block; margin-top: 2px; font-size: 11px; line-height: 1.2; text-align: right; opacity: .6; }
.user .time { opacity: .8; }
.typing { padding: 0 16px 6px; font-size: 13px; color: #65676b; background: #f4f5f7; min-height: 0; }
.typing[hidden] { display: none; }
.typing .dots::after { content: ""; }
@media (prefers-reduced-motion: no-preference) {
  .typing .dots::after { content: "•••"; display: inline-block; margin-left: 6px; letter-spacing: 2px;
    animation: blink 1.2s infinite; }
  @keyframes blink { 50% { opacity: .3; } }
}
.composer { border-top: 1px solid #e4e6eb; background: #fff; }
.actions { display: flex; justify-content: flex-start; padding: 6px 10px 0; }
.actions[hidden] { display: none; }
.person { display: inline-flex; align-items: center; gap: 6px; border: 1px solid #d6d9de; border-radius: 16px;
  background: #fff; color: #1c1e21; font-size: 13px; padding: 4px 12px 4px 8px; }
.person svg { width: 16px; height: 16px; color: var(--accent); }
.person:hover { border-color: var(--accent); }
form { display: flex; gap: 8px; padding: 10px; background: #fff; }
textarea { flex: 1; min-width: 0; resize: none; overflow: hidden; border: 1px solid #ccd0d5; border-radius: 18px;
  padding: 8px 14px; font: inherit; line-height: 20px; height: 38px; max-height: 120px; color: inherit;
  background: #fff; }
textarea.scroll { overflow-y: auto; }
form button { border: 0; border-radius: 18px; padding: 0 16px; background: var(--accent); color: #fff;
  font-weight: 600; }
.greeting { align-self: flex-start; max-width: 85%; padding: 8px 12px; border-radius: 14px;
  background: #fff; border-bottom-left-radius: 4px; box-shadow: 0 1px 2px rgba(0,0,0,.08); white-space: pre-wrap; }
.root.left { right: auto; left: 20px; }
.root.left .bubble { margin-left: 0; }
.root.page { inset: 0; }
.root.page .bubble { display: none; }
.root.page .panel { width: 100%; height: 100%; height: 100dvh; max-width: 760px; margin: 0 auto; border-radius: 0; }
.root.page header button.close { display: none; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
@media (max-width: 480px) {
  .root { right: 12px; bottom: 12px; }
  .root.open { inset: 0; }
  .root.open .bubble { display: none; }
  .panel { width: 100vw; height: 100%; height: 100dvh; margin: 0; border-radius: 0; }
  textarea { font-size: 16px; } /* no zoom on focus in iOS */
}
@media (prefers-reduced-motion: no-preference) {
  .panel:not([hidden]) { animation: pop .18s ease-out; }
  @keyframes pop { from { opacity: 0; transform: translateY(12px); } }
}
`;

  const PERSON_ICON =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">' +
    '<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/></svg>';

  const ICON =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">' +
    '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/></svg>';

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      e.appendChild(c);
    });
    return e;
  }

  class Widget {
    constructor(conn, t, opts) {
      this.conn = conn;
      this.t = t;
      this.rendered = new Map(); // transcript entry -> element
      this.rows = new Map(); // bot message -> its row of buttons
      this.unread = 0;
      this.typingTimer = null;
      this.startText = opts.start;

      this.host = document.createElement("div");
      this.host.setAttribute("data-voronka-widget", "");
      const shadow = this.host.attachShadow({ mode: "open" });
      const style = document.createElement("style");
      style.textContent = CSS;
      shadow.appendChild(style);

      this.badge = el("span", { class: "badge", hidden: "" });
      this.bubble = el("button", { class: "bubble", type: "button", "aria-label": t.open, "aria-expanded": "false",
        "aria-controls": "voronka-panel" });
      this.bubble.innerHTML = ICON; // a constant, not user data
      this.bubble.appendChild(this.badge);

      const title = el("h2", { id: "voronka-title", text: opts.title || t.title });
      const resetBtn = el("button", { type: "button", "aria-label": t.reset, title: t.reset, text: "↺" });
      const closeBtn = el("button", { type: "button", class: "close", "aria-label": t.close, title: t.close, text: "×" });
      this.statusLine = el("div", { class: "status", role: "status", hidden: "" });
      this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t.messages, tabindex: "0" });
      this.typing = el("div", { class: "typing", hidden: "", role: "status" },
        [el("span", { class: "dots", text: t.typing })]);
      this.personBtn = el("button", { type: "button", class: "person" });
      this.personBtn.innerHTML = PERSON_ICON; // a constant, not user data
      this.personBtn.appendChild(document.createTextNode(t.person));
      this.actions = el("div", { class: "actions", hidden: "" }, [this.personBtn]);
      this.input = el("textarea", { rows: "1", placeholder: t.placeholder, "aria-label": t.placeholder,
        enterkeyhint: "send", maxlength: "4000" });
      const form = el("form", {}, [this.input, el("button", { type: "submit", text: t.send })]);
      this.panel = el("section", { class: "panel", id: "voronka-panel", role: "dialog",
        "aria-labelledby": "voronka-title", hidden: "" },
        [el("header", {}, [title, resetBtn, closeBtn]), this.statusLine, this.log, this.typing,
          el("div", { class: "composer" }, [this.actions, form])]);
      if (opts.greeting) this.log.appendChild(el("div", { class: "greeting", text: opts.greeting }));
      this.root = el("div", { class: "root" }, [this.panel, this.bubble]);
      if (opts.position === "left") this.root.classList.add("left");
      if (opts.layout === "page") this.root.classList.add("page");
      this.root.style.setProperty("--accent", opts.accent || "#2f6fed");
      shadow.appendChild(this.root);

      this.bubble.addEventListener("click", () => this.toggle());
      closeBtn.addEventListener("click", () => this.close());
      resetBtn.addEventListener("click", () => this.conn.reset());
      this.personBtn.addEventListener("click", () => this.conn.askPerson(t.person));
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        this.submit();
      });
      this.input.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
          ev.preventDefault();
          this.submit();
        }
      });
      this.input.addEventListener("input", () => this.autosize());
      this.panel.addEventListener("keydown", (ev) => {
        if (ev.key === "Escape") {
          this.close();
          this.bubble.focus();
        }
      });

      conn.on("state", () => this.render());
      conn.on("reset", () => {
        this.rendered.forEach((node) => node.remove());
        this.rendered.clear();
        this.render();
        if (this.isOpen()) this.greet();
      });
      conn.on("status", () => this.renderStatus());
      conn.on("message", () => {
        this.setTyping(false);
        if (this.panel.hidden) {
          this.unread++;
          this.badge.textContent = String(this.unread);
          this.badge.hidden = false;
          this.badge.setAttribute("aria-label", t.unread);
        }
      });
      conn.on("typing", () => this.setTyping(true));
      // Between the person's message and the bot's reply: shown at once,
      // not only when the server's typing frame arrives (it may be off, or
      // the message may wait for the connection).
      conn.on("queued", () => this.setTyping(true));
      conn.on("failed", () => this.setTyping(false));
      conn.on("error", (e) => {
        if (e && e.code === "outbox_full") this.flash(t.full);
      });
      this.render();
    }

    isOpen() {
      return !this.panel.hidden;
    }

    // open shows the panel; focus puts the cursor in the input (not when
    // the page opens the chat by itself: an embedded preview must not take
    // the focus from the page around it).
    open(focus = true) {
      this.panel.hidden = false;
      this.root.classList.add("open");
      this.bubble.setAttribute("aria-expanded", "true");
      this.bubble.setAttribute("aria-label", this.t.close);
      this.unread = 0;
      this.badge.hidden = true;
      this.conn.start();
      this.greet();
      this.renderStatus();
      this.scrollDown();
      // On a phone, focusing the input pops the keyboard over half the
      // chat before the person has read it: focus only with a mouse.
      if (focus && !isTouch()) this.input.focus({ preventScroll: true });
    }

    // greet starts a new visitor's conversation the way Telegram does, with
    // an unseen start command (data-start, "/start" unless set to ""), so
    // the bot speaks first.
    greet() {
      if (this.startText && this.conn.isEmpty()) this.conn.sendText(this.startText, true);
    }

    close() {
      this.panel.hidden = true;
      this.root.classList.remove("open");
      this.bubble.setAttribute("aria-expanded", "false");
      this.bubble.setAttribute("aria-label", this.t.open);
    }

    toggle() {
      if (this.isOpen()) this.close();
      else this.open();
    }

    submit() {
      if (this.conn.sendText(this.input.value)) {
        this.input.value = "";
        this.autosize();
      }
      this.input.focus();
    }

    autosize() {
      this.input.style.height = "auto";
      const h = this.input.scrollHeight + 2;
      this.input.style.height = Math.min(h, 120) + "px";
      this.input.classList.toggle("scroll", h > 120);
    }

    setTyping(on) {
      clearTimeout(this.typingTimer);
      // The indicator sits below the log and shortens it: keep the last
      // message in view.
      const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
      this.typing.hidden = !on;
      if (nearBottom) this.scrollDown();
      // Shown until the next bot message; a bot that stays silent (an
      // operator answers later) must not leave it on, so it fades.
      if (on) this.typingTimer = setTimeout(() => this.setTyping(false), 8000);
    }

    flash(text) {
      this.statusLine.textContent = text;
      this.statusLine.hidden = false;
      setTimeout(() => this.renderStatus(), 4000);
    }

    renderStatus() {
      const s = this.conn.status();
      if (s === "online" || this.conn.stopped) {
        this.statusLine.hidden = true;
        return;
      }
      this.statusLine.textContent = s === "connecting" && this.conn.attempt === 0 ? this.t.connecting : this.t.offline;
      this.statusLine.hidden = false;
    }

    // render appends entries not shown yet and updates the status of the
    // person's own messages. It never rebuilds the list, so a screen reader
    // announces only what is new.
    render() {
      this.actions.hidden = !this.conn.state.handoff;
      const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
      const live = new Set(this.conn.state.transcript);
      this.rendered.forEach((node, m) => {
        if (!live.has(m)) {
          node.remove();
          this.rendered.delete(m);
        }
      });
      let added = false;
      this.conn.state.transcript.forEach((m) => {
        let node = this.rendered.get(m);
        if (!node && m.hidden) return;
        if (!node) {
          node = m.from === "bot" ? this.botNode(m) : el("div", { class: "msg user" });
          this.rendered.set(m, node);
          this.log.appendChild(node);
          added = true;
        }
        if (m.from === "user") this.fillUser(node, m);
      });
      this.renderButtons();
      if (added && (nearBottom || this.isOpen())) this.scrollDown();
    }

    botNode(m) {
      if (m.notice === "operator_joined") {
        return el("div", { class: "joined", role: "status", text: this.t.joined.replace("{name}", m.author || "") });
      }
      const bubble = el("div", { class: "msg bot" });
      if (m.author) bubble.appendChild(el("span", { class: "author", text: m.author }));
      linkify(m.text).forEach(function (p) {
        bubble.appendChild(p.href ? el("a", { href: p.href, target: "_blank", rel: "noopener noreferrer", text: p.text })
          : document.createTextNode(p.text));
      });
      const time = formatTime(m.at);
      if (time) bubble.appendChild(el("time", { class: "time", text: time, datetime: new Date(m.at).toISOString() }));
      const group = el("div", { class: "group" }, [bubble]);
      if (m.buttons && m.buttons.length) {
        const row = el("div", { class: "buttons" });
        m.buttons.forEach((b) => {
          const btn = el("button", { type: "button", text: b.label });
          btn.addEventListener("click", () => this.conn.press(b, m));
          row.appendChild(btn);
        });
        group.appendChild(row);
        this.rows.set(m, row);
      }
      return group;
    }

    // renderButtons disables every keyboard but the live one (liveButtons)
    // and marks the button that was pressed.
    renderButtons() {
      const live = liveButtons(this.conn.state);
      this.rows.forEach((row, m) => {
        if (!this.rendered.has(m)) {
          this.rows.delete(m);
          return;
        }
        const key = (m === live ? "live" : "off") + "\u0000" + (m.chosen || "");
        if (row.dataset.key === key) return;
        row.dataset.key = key;
        Array.prototype.forEach.call(row.children, (btn, i) => {
          btn.disabled = m !== live;
          const chosen = m.buttons[i] && m.buttons[i].payload === m.chosen;
          btn.classList.toggle("chosen", !!chosen);
          if (chosen) btn.setAttribute("aria-pressed", "true");
          else btn.removeAttribute("aria-pressed");
        });
      });
    }

    fillUser(node, m) {
      const key = m.text + "\u0000" + m.status;
      if (node.dataset.key === key) return;
      node.dataset.key = key;
      node.className = "msg user " + (m.status || "");
      node.textContent = m.text;
      if (m.status === "pending" || m.status === "failed") {
        node.appendChild(el("span", { class: "note", text: m.status === "failed" ? this.t.failed : this.t.pending }));
      } else {
        const time = formatTime(m.at);
        if (time) node.appendChild(el("time", { class: "time", text: time, datetime: new Date(m.at).toISOString() }));
      }
    }

    scrollDown() {
      this.log.scrollTop = this.log.scrollHeight;
    }
  }

  // isTouch: a phone or tablet, where focus brings up the on-screen keyboard.
  function isTouch() {
    return !!(window.matchMedia && window.matchMedia("(pointer: coarse)").matches);
  }

  function browserStorage() {
    try {
      const ls = window.localStorage;
      const probe = "voronka:probe";
      ls.setItem(probe, "1");
      ls.removeItem(probe);
      return {
        get: function (k) { return ls.getItem(k); },
        set: function (k, v) { ls.setItem(k, v); },
      };
    } catch (e) {
      // Storage disabled (privacy settings): keep the conversation for
      // this page only.
      const mem = {};
      return {
        get: function (k) { return mem[k] || null; },
        set: function (k, v) { mem[k] = v; },
      };
    }
  }

  // leadOrigin: the data-source attribute, else the page's ?source=, and the
  // page's utm_* parameters as a query string.
  function leadOrigin(attr, search) {
    const params = new URLSearchParams(search || "");
    const utm = new URLSearchParams();
    params.forEach(function (v, k) {
      if (k.indexOf("utm_") === 0 && v) utm.append(k, v);
    });
    return { source: attr || params.get("source") || "", utm: utm.toString() };
  }

  function randomBytes(n) {
    const b = new Uint8Array(n);
    if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(b);
    else for (let i = 0; i < n; i++) b[i] = Math.floor(Math.random() * 256);
    return b;
  }

  function mount(script) {
    const data = script ? script.dataset : {};
    const bot = data.bot || "demo";
    const lang = pickLang(data.lang, navigator.language, document.documentElement.lang);
    const t = STRINGS[lang];
    const profile = { language: lang };
    if (data.name) profile.first_name = data.name;
    const origin = leadOrigin(data.source, location.search);
    if (origin.source) profile.source = origin.source;
    if (origin.utm) profile.utm = origin.utm;
    const conn = new Connection({
      url: serverURL(data.server, script && script.src, location.href),
      bot: bot,
      profile: profile,
      WebSocket: window.WebSocket,
      storage: browserStorage(),
      key: "voronka:" + bot,
      random: Math.random,
      randomBytes: randomBytes,
      now: Date.now,
      setTimeout: window.setTimeout.bind(window),
      clearTimeout: window.clearTimeout.bind(window),
    });
    const widget = new Widget(conn, t, {
      title: data.title,
      accent: data.accent,
      start: data.start === undefined ? "/start" : data.start,
      greeting: data.greeting,
      position: data.position,
      layout: data.layout,
    });
    document.body.appendChild(widget.host);

    // A returning visitor reconnects at once to get what was sent while
    // away; a new one connects when the chat is first opened.
    if (conn.state.session || conn.state.outbox.length) conn.start();
    if (data.open === "true") widget.open(data.layout === "page");
    window.addEventListener("online", () => conn.connectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") conn.connectNow();
    });

    return {
      open: () => widget.open(),
      close: () => widget.close(),
      toggle: () => widget.toggle(),
      reset: () => conn.reset(),
      send: (text) => conn.sendText(text),
      askPerson: () => conn.askPerson(t.person),
      onMessage: (fn) => conn.on("message", fn),
      on: (event, fn) => conn.on(event, fn),
      connection: conn,
      protocol: protocol,
      Connection: Connection,
    };
  }

  if (typeof module === "object" && module.exports) {
    module.exports = { protocol: protocol, Connection: Connection };
  } else if (typeof window !== "undefined" && typeof document !== "undefined" && !window.Voronka) {
    const script = document.currentScript;
    const start = function () {
      window.Voronka = mount(script);
      window.dispatchEvent(new CustomEvent("voronka:ready"));
    };
    if (document.body) start();
    else document.addEventListener("DOMContentLoaded", start);
  }
})();
