// End-to-end run of the widget's Connection against a real Hub. The Go test
// TestWidgetAgainstHub starts the hub and runs: node e2e.js <ws url>
// The hub's handler (Go side) answers "echo: <text>" with two buttons to
// texts, "pressed: <payload>" to presses, fails "flaky" once, and answers
// "later" only after 300 ms. Its welcome names "оператор" as the handoff text.
"use strict";

const path = require("node:path");
const crypto = require("node:crypto");
const { Connection } = require(path.join(__dirname, "..", "static", "voronka-widget.js"));

const url = process.argv[2];
const store = new Map();
const storage = { get: (k) => store.get(k) || null, set: (k, v) => store.set(k, v) };

function make() {
  return new Connection({
    url, bot: "demo", profile: { first_name: "Тест", language: "ru" },
    WebSocket, storage, key: "voronka:demo",
    random: Math.random, randomBytes: (n) => crypto.randomBytes(n), now: Date.now,
    setTimeout, clearTimeout,
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, cond, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await sleep(10);
  }
}
function check(ok, what) {
  if (!ok) throw new Error("check failed: " + what);
}
const bots = (c) => c.state.transcript.filter((m) => m.from === "bot");
const texts = (c) => bots(c).map((m) => m.text);

async function main() {
  const a = make();
  const seen = [];
  a.on("message", (m) => seen.push(m.text));
  let typing = 0;
  a.on("typing", () => typing++);

  // Typed before the socket is even open: queued, sent after the welcome.
  a.sendText("hi");
  await waitFor("echo of hi", () => a.state.outbox.length === 0 && bots(a).length === 1);
  check(bots(a)[0].text === "echo: hi" && bots(a)[0].buttons.length === 2, "echo with buttons");
  const session = a.state.session;
  check(/^[A-Za-z0-9_-]{22}$/.test(session), "session id " + session);

  check(a.state.handoff === "оператор", "the welcome named the handoff text: " + a.state.handoff);
  check(typeof bots(a)[0].at === "number" && Math.abs(bots(a)[0].at - Date.now()) < 60000, "message time " + bots(a)[0].at);
  check(typing > 0, "the hub said it was typing");
  check(a.press(bots(a)[0].buttons[0], bots(a)[0]), "the live keyboard takes a press");
  await waitFor("press reply", () => bots(a).length === 2);
  check(bots(a)[0].chosen === "yes", "the pressed button is remembered");
  // The answered keyboard is off: a second press is refused, nothing sent.
  check(!a.press(bots(a)[0].buttons[1], bots(a)[0]), "an answered keyboard refuses a press");
  check(a.state.outbox.length === 0, "nothing queued for the refused press");
  check(a.askPerson("Позвать оператора"), "the bot has a handoff");
  await waitFor("handoff reply", () => bots(a).length === 3);
  check(texts(a)[1] === "pressed: yes" && texts(a)[2] === "echo: оператор", "replies " + texts(a));
  const shown = a.state.transcript.filter((m) => m.from === "user" && !m.hidden).map((m) => m.text);
  check(shown[shown.length - 1] === "Позвать оператора", "the person sees the button's words: " + shown);

  a.sendText("flaky"); // refused once by the handler, retried with the same id
  await waitFor("flaky acked", () => a.state.outbox.length === 0 && bots(a).length === 4, 8000);

  // A reply arrives while the page is closed; the reloaded page gets it.
  a.sendText("later");
  await waitFor("later acked", () => a.state.outbox.length === 0);
  a.stop();
  check(seen.length === 4, "onMessage saw " + seen.length);
  await sleep(500);

  const b = make(); // the reload: same storage
  check(b.state.session === session && bots(b).length === 4, "state restored from storage");
  b.start();
  await waitFor("late reply replayed", () => bots(b).length === 5);
  check(texts(b)[4] === "late reply", "late reply " + texts(b));

  // The socket dies under us; a message typed meanwhile is not lost.
  b.ws.close();
  b.sendText("while offline");
  await waitFor("offline message delivered", () => b.state.outbox.length === 0 && bots(b).length === 6, 8000);
  check(texts(b)[5] === "echo: while offline", "offline echo " + texts(b));
  const ids = bots(b).map((m) => m.id);
  check(new Set(ids).size === ids.length, "no duplicate messages " + ids);
  check(b.state.transcript.filter((m) => m.from === "user").every((m) => m.status === "sent"), "all sent");

  b.reset();
  b.sendText("hi again");
  await waitFor("new conversation", () => bots(b).length === 1);
  check(b.state.session !== session, "reset gives a new session");
  b.stop();
  console.log("ok");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err.stack || String(err));
    process.exit(1);
  },
);
