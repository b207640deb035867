// Unit tests of the widget's protocol logic: node --test adapters/webchat/jstest/
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { protocol: p } = require(path.join(__dirname, "..", "static", "voronka-widget.js"));

test("hello carries session, bot, profile and last_seen", () => {
  const s = p.emptyState();
  s.session = "abc";
  s.lastSeen = 7;
  assert.deepEqual(p.helloFrame(s, "demo", { language: "ru" }), {
    type: "hello", v: 1, session: "abc", bot: "demo", last_seen: 7, profile: { language: "ru" },
  });
});

test("welcome with a new session resets numbering and asks to resend the outbox", () => {
  const s = p.emptyState();
  s.session = "old";
  s.lastSeen = 9;
  p.addOutgoing(s, p.textFrame("c1", "hi"), "hi");
  const fx = p.applyFrame(s, { type: "welcome", session: "new" });
  assert.equal(s.session, "new");
  assert.equal(s.lastSeen, 0);
  assert.deepEqual(fx, [{ kind: "welcome", resend: [{ type: "text", id: "c1", text: "hi" }] }]);

  // Resuming the same session keeps last_seen.
  s.lastSeen = 3;
  p.applyFrame(s, { type: "welcome", session: "new" });
  assert.equal(s.lastSeen, 3);
});

test("messages are shown once: replays by seq and by id are skipped", () => {
  const s = p.emptyState();
  const m = { type: "message", seq: 1, id: "o1", text: "Привет", buttons: [{ label: "Да", payload: "yes" }, { bad: 1 }] };
  const fx = p.applyFrame(s, m);
  assert.equal(fx.length, 1);
  assert.deepEqual(fx[0].message.buttons, [{ label: "Да", payload: "yes" }]);
  assert.equal(s.lastSeen, 1);
  assert.deepEqual(p.applyFrame(s, m), []); // same seq
  assert.deepEqual(p.applyFrame(s, { type: "message", seq: 5, id: "o1", text: "Привет" }), []); // renumbered replay
  assert.equal(s.lastSeen, 5);
  assert.equal(p.applyFrame(s, { type: "message", seq: 6, id: "o2", text: "ещё" }).length, 1);
  assert.equal(s.transcript.length, 2);
});

test("ack removes from the outbox and marks the message sent", () => {
  const s = p.emptyState();
  p.addOutgoing(s, p.textFrame("c1", "hi"), "hi");
  p.addOutgoing(s, p.pressFrame("c2", "yes", "Да"), "Да");
  assert.equal(s.transcript[1].status, "pending");
  p.applyFrame(s, { type: "ack", id: "c2" });
  assert.deepEqual(s.outbox.map((o) => o.id), ["c1"]);
  assert.equal(s.transcript[1].status, "sent");
  assert.equal(s.transcript[0].status, "pending");
});

test("retryable errors keep the message and retry it; final ones mark it failed", () => {
  const s = p.emptyState();
  p.addOutgoing(s, p.textFrame("c1", "hi"), "hi");
  p.addOutgoing(s, p.textFrame("c2", "x".repeat(5000)), "…");
  const [retry] = p.applyFrame(s, { type: "error", code: "handler_failed", id: "c1" });
  assert.equal(retry.kind, "retry");
  assert.deepEqual(retry.frame, { type: "text", id: "c1", text: "hi" });
  assert.ok(retry.delay > 0);
  const [failed] = p.applyFrame(s, { type: "error", code: "too_large", id: "c2" });
  assert.equal(failed.kind, "failed");
  assert.deepEqual(s.outbox.map((o) => o.id), ["c1"]);
  assert.equal(s.transcript[1].status, "failed");
});

test("bad_hello forgets the session", () => {
  const s = p.emptyState();
  s.session = "x";
  s.lastSeen = 4;
  assert.deepEqual(p.applyFrame(s, { type: "error", code: "bad_hello", message: "no" }), [{ kind: "rehello" }]);
  assert.equal(s.session, "");
  assert.equal(s.lastSeen, 0);
});

test("unknown and malformed frames are ignored", () => {
  const s = p.emptyState();
  assert.equal(p.parseFrame("{"), null);
  assert.equal(p.parseFrame("[]"), null);
  assert.equal(p.parseFrame("null"), null);
  assert.deepEqual(p.applyFrame(s, p.parseFrame('{"type":"hologram"}')), []);
  assert.deepEqual(p.applyFrame(s, { type: "pong" }), []);
  assert.deepEqual(p.applyFrame(s, { type: "typing" }), [{ kind: "typing" }]);
});

test("state survives a round trip through storage and ignores junk", () => {
  const s = p.emptyState();
  s.session = "abc";
  p.applyFrame(s, { type: "message", seq: 3, id: "o", text: "t" });
  p.addOutgoing(s, p.textFrame("c1", "hi"), "hi");
  const back = p.loadState(p.saveState(s));
  assert.equal(back.session, "abc");
  assert.equal(back.lastSeen, 3);
  assert.equal(back.transcript.length, 2);
  assert.deepEqual(back.outbox.map((o) => o.frame), [{ type: "text", id: "c1", text: "hi" }]);
  for (const junk of [null, "", "{", "[]", '{"v":99}', '{"v":1,"transcript":[1,{"from":"x"}],"outbox":[{}]}']) {
    const st = p.loadState(junk);
    assert.equal(st.session, "");
    assert.deepEqual(st.transcript, []);
    assert.deepEqual(st.outbox, []);
  }
});

test("transcript and outbox are bounded", () => {
  const s = p.emptyState();
  for (let i = 1; i <= 150; i++) p.applyFrame(s, { type: "message", seq: i, id: "o" + i, text: "t" });
  assert.equal(s.transcript.length, 100);
  assert.equal(s.transcript[0].id, "o51");
  let accepted = 0;
  for (let i = 0; i < 60; i++) if (p.addOutgoing(s, p.textFrame("c" + i, "x"), "x")) accepted++;
  assert.equal(accepted, 50);
});

test("backoff grows, is capped and jittered", () => {
  assert.equal(p.backoffDelay(0, 1), 500);
  assert.equal(p.backoffDelay(1, 1), 1000);
  assert.equal(p.backoffDelay(20, 1), 30000);
  assert.equal(p.backoffDelay(20, 0), 15000);
  assert.ok(p.backoffDelay(3, 0.3) < p.backoffDelay(3, 0.9));
});

test("client ids are distinct and printable", () => {
  const a = p.newClientId(1700000000000, [1, 2, 3, 255]);
  assert.match(a, /^c[0-9a-z]+-010203ff$/);
  assert.notEqual(a, p.newClientId(1700000000000, [1, 2, 3, 254]));
});

test("linkify finds links without swallowing punctuation", () => {
  assert.deepEqual(p.linkify("Сайт: https://example.com/a?b=1. Пишите!"), [
    { text: "Сайт: " },
    { text: "https://example.com/a?b=1", href: "https://example.com/a?b=1" },
    { text: ". Пишите!" },
  ]);
  assert.deepEqual(p.linkify("<b>no</b> javascript:alert(1)"), [{ text: "<b>no</b> javascript:alert(1)" }]);
});

test("server URL and language", () => {
  assert.equal(p.serverURL("", "https://shop.example/widget/voronka-widget.js", "https://shop.example/"), "wss://shop.example/ws/chat");
  assert.equal(p.serverURL("", "/widget/voronka-widget.js", "http://localhost:8080/"), "ws://localhost:8080/ws/chat");
  assert.equal(p.serverURL("ws://x/ws", "", "http://y/"), "ws://x/ws");
  assert.equal(p.pickLang("", "ru-RU"), "ru");
  assert.equal(p.pickLang("EN", "ru-RU"), "en");
  assert.equal(p.pickLang("de", ""), "en");
  assert.deepEqual(Object.keys(p.STRINGS.ru).sort(), Object.keys(p.STRINGS.en).sort());
});

test("language: the page's lang before the browser's, Russian when nothing says", () => {
  assert.equal(p.pickLang("", "en-US", "ru"), "ru");
  assert.equal(p.pickLang("", "ru-RU", "en"), "en");
  assert.equal(p.pickLang("en", "ru-RU", "ru"), "en");
  assert.equal(p.pickLang("", "", ""), "ru");
  assert.equal(p.pickLang(undefined, undefined, undefined), "ru");
});

test("only the latest keyboard is live: pressed, answered or replaced ones are not", () => {
  const s = p.emptyState();
  p.addOutgoing(s, p.textFrame("c0", "/start"), "/start", true, 1);
  assert.equal(p.liveButtons(s), null, "nothing to press yet");
  p.applyFrame(s, { type: "message", seq: 1, id: "o1", text: "Начнём?", buttons: [{ label: "Да", payload: "y" }] });
  const first = s.transcript[1];
  assert.equal(p.liveButtons(s), first);
  // A reminder without buttons keeps the question open.
  p.applyFrame(s, { type: "message", seq: 2, id: "o2", text: "Вы здесь?" });
  assert.equal(p.liveButtons(s), first);
  // The person typed instead of pressing: the question is answered.
  p.addOutgoing(s, p.textFrame("c1", "да"), "да", false, 2);
  assert.equal(p.liveButtons(s), null);
  p.applyFrame(s, { type: "message", seq: 3, id: "o3", text: "Как?", buttons: [{ label: "A", payload: "a" }] });
  const second = s.transcript[4];
  assert.equal(p.liveButtons(s), second);
  second.chosen = "a"; // pressed, the reply not here yet
  assert.equal(p.liveButtons(s), null);
  // A newer keyboard replaces an unanswered one.
  second.chosen = undefined;
  p.applyFrame(s, { type: "message", seq: 4, id: "o4", text: "Ещё раз?", buttons: [{ label: "B", payload: "b" }] });
  assert.equal(p.liveButtons(s), s.transcript[5]);
  // The chosen button survives a reload.
  s.transcript[5].chosen = "b";
  assert.equal(p.loadState(p.saveState(s)).transcript[5].chosen, "b");
});

test("messages keep a time: the server's, else the time they arrived", () => {
  const s = p.emptyState();
  const at = new Date(2026, 11, 3, 9, 5).getTime();
  p.applyFrame(s, { type: "message", seq: 1, id: "o1", text: "a", at: at }, at + 5000);
  p.applyFrame(s, { type: "message", seq: 2, id: "o2", text: "b" }, at + 60000);
  p.addOutgoing(s, p.textFrame("c1", "hi"), "hi", false, at + 120000);
  assert.deepEqual(s.transcript.map((m) => p.formatTime(m.at)), ["09:05", "09:06", "09:07"]);
  assert.equal(p.formatTime(undefined), "");
  assert.equal(p.formatTime(new Date(2026, 0, 1, 23, 59).getTime()), "23:59");
  assert.equal(p.loadState(p.saveState(s)).transcript[0].at, at);
});

test("welcome tells whether the bot can hand over to a person", () => {
  const s = p.emptyState();
  p.applyFrame(s, { type: "welcome", session: "abc", handoff: "оператор" });
  assert.equal(s.handoff, "оператор");
  assert.equal(p.loadState(p.saveState(s)).handoff, "оператор");
  // A later welcome without it (the flow changed, an older server) drops it.
  p.applyFrame(s, { type: "welcome", session: "abc" });
  assert.equal(s.handoff, "");
});

test("a press the server refuses for good gives its keyboard back", () => {
  const s = p.emptyState();
  p.applyFrame(s, { type: "message", seq: 1, id: "o1", text: "Начнём?", buttons: [{ label: "Да", payload: "y" }] });
  const q = s.transcript[0];
  q.chosen = "y";
  p.addOutgoing(s, p.pressFrame("c1", "y", "Да"), "Да", false, 1);
  assert.equal(p.liveButtons(s), null);
  assert.deepEqual(p.applyFrame(s, { type: "error", code: "bad_frame", id: "c1" }), [{ kind: "failed", id: "c1", code: "bad_frame" }]);
  assert.equal(q.chosen, undefined);
  assert.equal(p.liveButtons(s), q, "the failed press answered nothing");
});

test("an operator's message keeps its author, a joined notice its kind", () => {
  const s = p.emptyState();
  const fx = p.applyFrame(s, { type: "message", seq: 1, id: "j1", text: "", author: "Анна", notice: "operator_joined" });
  assert.equal(fx[0].message.author, "Анна");
  assert.equal(fx[0].message.notice, "operator_joined");
  const op = p.applyFrame(s, { type: "message", seq: 2, id: "o1", text: "Здравствуйте", author: "Анна" });
  assert.equal(op[0].message.author, "Анна");
  assert.equal(op[0].message.notice, undefined);
  const restored = p.loadState(p.saveState(s));
  assert.deepEqual(restored.transcript.map((m) => [m.author, m.notice || ""]), [["Анна", "operator_joined"], ["Анна", ""]]);
});
