// End-to-end test of the builder in the machine's Chromium: sign in, draw a
// four-node funnel on an empty canvas, connect it, fix the validation error
// the builder shows, publish, talk to it in the preview, export the YAML,
// import it back (byte-identical), delete a draft, open a hand-written flow
// laid out.
// Screenshots go to artifacts/screenshots (kept as CI artifacts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, requireChromium, root, signIn, startFakeTelegram, startServer } from './lib.mjs';

requireChromium('builder e2e');
const shots = path.join(root, 'artifacts/screenshots');
fs.mkdirSync(shots, { recursive: true });
// Screenshots of an earlier run would mix with this one's under other numbers.
for (const f of fs.readdirSync(shots)) if (f.endsWith('.png')) fs.rmSync(path.join(shots, f));

// The default bot (lead-qualification) is also on Telegram, which is down
// (502) until the channel step brings it up: the builder works regardless.
const telegram = await startFakeTelegram();
const server = await startServer({ env: { VORONKA_TELEGRAM_TOKEN: '123456:e2e-token', VORONKA_TELEGRAM_API: telegram.api } });
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
// The builder runs under a strict Content-Security-Policy: a violation
// (an inline script, a style or socket it forbids) is a console error.
page.on('console', (m) => {
  if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
});
page.setDefaultTimeout(15000);

let passed = 0;
let failed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  } finally {
    await page.screenshot({ path: path.join(shots, `${String(passed + failed).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-')}.png`) }).catch(() => {});
  }
}

const node = (id) => page.locator(`.fnode[data-node-id="${id}"]`);
/** drag drags with the mouse in small steps, as a person would. */
async function drag(from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  assert.ok(a && b, 'both ends are on screen');
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 12 });
  await page.mouse.up();
}
/** select clicks a node and waits until the properties panel shows it. */
async function select(id) {
  // The head: a click on a dangling exit's label would start connecting it.
  const head = node(id).locator('.fnode-head');
  // A block the canvas has panned away from is behind the top bar or
  // outside the pane: show the whole flow first, as a user would.
  const hidden = await head.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    return !hit || !el.contains(hit);
  });
  if (hidden) {
    await page.click('[data-action=fit]');
    await page.waitForTimeout(300);
  }
  await head.click();
  await page.waitForFunction((want) => document.querySelector('[data-testid=properties] input[data-field=id]')?.value === want, id);
}
const saved = () => page.waitForSelector('[data-testid=save-state][data-state=saved]');
const edgeCount = () => page.locator('.react-flow__edge').count();
/**
 * connectHandle draws an edge from a handle to a node. It waits until the
 * draft is saved and validated first: the problems shown on a node change
 * its height, and so where its handles are.
 */
async function connectHandle(src, handle, dst) {
  for (let attempt = 0; ; attempt++) {
    await saved();
    await page.waitForTimeout(100);
    const before = await edgeCount();
    await drag(node(src).locator(`.h-out[data-handle="${handle}"]`), node(dst).locator('.h-in'));
    try {
      await page.waitForFunction((n) => document.querySelectorAll('.react-flow__edge').length > n, before, { timeout: 3000 });
      return;
    } catch (e) {
      if (attempt >= 2) throw e;
      console.log(`     retrying the connection ${src}.${handle} -> ${dst}`);
    }
  }
}

try {
  await step('sign in is required and works', async () => {
    const r = await fetch(`${server.url}/api/bots`);
    assert.equal(r.status, 401);
    await page.goto(`${server.url}/app/`);
    await page.fill('input[name=login]', 'admin');
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('[data-testid=signin] button[type=submit]');
    await page.waitForSelector('[data-testid=signin] .err');
    await signIn(page, server.url, '#/flows/faq-bot/faq-bot');
    await page.waitForSelector('.fnode');
  });

  await step('the bot header shows Telegram down, then connected without a restart', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    await signIn(p, server.url, '#/flows/lead-qualification/lead-qualification');
    const tg = p.locator('[data-testid=channels] [data-channel=telegram]');
    await p.waitForSelector('[data-testid=channels] [data-channel=telegram][data-state=degraded]');
    assert.match(await tg.innerText(), /Telegram: нет связи/);
    assert.match((await tg.getAttribute('title')) ?? '', /502/, 'the tooltip says what Telegram answered');
    assert.match(await p.locator('[data-testid=channels] [data-channel=web]').innerText(), /Веб-чат: работает/);
    const ready = await (await fetch(`${server.url}/readyz`)).json();
    assert.equal(ready.channels_ok, false);
    assert.equal(ready.channels.find((c) => c.bot === 'lead-qualification' && c.type === 'telegram').state, 'degraded');
    await p.screenshot({ path: path.join(shots, `${String(passed + failed + 1).padStart(2, '0')}-telegram-down.png`) });
    telegram.up();
    // The server retries with back-off (1 s doubling) and the header asks every 3 s.
    await p.waitForSelector('[data-testid=channels] [data-channel=telegram][data-state=connected]', { timeout: 60000 });
    assert.match(await tg.innerText(), /Telegram: работает/);
    assert.match((await tg.getAttribute('title')) ?? '', /@e2e_shop_bot/);
    await p.screenshot({ path: path.join(shots, `${String(passed + failed + 1).padStart(2, '0')}-telegram-connected.png`) });
    await ctx.close();
  });

  await step('a new flow opens from the dialog; its one block deleted', async () => {
    await page.click('[data-action=new-flow]');
    await page.fill('[data-field=new-flow-name]', 'E2E funnel');
    assert.match(await page.locator('[data-testid=new-flow-id]').innerText(), /e2e-funnel/);
    await page.click('[data-action=create-flow]');
    await page.waitForFunction(() => location.hash.endsWith('/e2e-funnel'));
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 1);
    await select('welcome');
    await page.keyboard.press('Delete');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 0);
  });

  await step('four nodes dragged from the palette, each connected to the one selected before', async () => {
    const spots = [
      ['message', 500, 120],
      ['question', 500, 330],
      ['buttons', 500, 540],
      ['end', 500, 760],
    ];
    for (const [type, x, y] of spots) {
      await page.dragAndDrop(`.palette-item[data-type=${type}]`, '[data-testid=canvas]', { targetPosition: { x, y } });
    }
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 4);
    for (const id of ['message_1', 'question_1', 'buttons_1', 'end_1']) await node(id).waitFor();
    // message -> question -> buttons (next) -> end (the first button).
    await page.waitForFunction(() => document.querySelectorAll('.react-flow__edge').length === 3);
  });

  await step('the builder shows the validation errors and blocks publishing', async () => {
    await page.waitForSelector('.fnode[data-node-id=buttons_1].has-error');
    await node('buttons_1').locator('[data-testid=node-error]').waitFor();
    // The interface is in Russian, and so are the validator's words.
    const said = await node('buttons_1').locator('[data-testid=node-error]').innerText();
    assert.match(said, /[а-яё]{3}/i, `the problem on the node is worded in Russian: ${said}`);
    assert.doesNotMatch(said, /\bnext\b|buttons\[/, `no field names in the problem: ${said}`);
    assert.ok(await page.locator('[data-action=publish]').isDisabled(), 'publish is disabled while there are errors');
    await node('buttons_1').click();
    await page.waitForSelector('[data-testid=properties] [data-testid=field-problem]');
  });

  await step('the last button connected on the canvas, errors fixed', async () => {
    await connectHandle('buttons_1', 'buttons[1].next', 'end_1');
    assert.equal(await edgeCount(), 4);
    await page.waitForFunction(() => document.querySelector('[data-testid=problems]')?.getAttribute('data-errors') === '0');
    await page.waitForFunction(() => document.querySelectorAll('.fnode.has-error').length === 0);
  });

  await step('texts edited in the properties panel', async () => {
    // select waits for the panel to show the node: typing right after the
    // click went into the previously selected node now and then.
    await select('message_1');
    await page.fill('[data-testid=properties] textarea[data-field=text]', 'Привет! Это тестовая воронка.');
    await select('question_1');
    await page.fill('[data-testid=properties] textarea[data-field=text]', 'Как вас зовут?');
    await select('buttons_1');
    await page.fill('[data-testid=properties] textarea[data-field=text]', 'Хотите скидку?');
    await saved();
  });

  await step('publish', async () => {
    await page.click('[data-action=publish]');
    await page.waitForSelector('[data-testid=message]:has-text("v1")');
    const r = await page.evaluate(async () => (await fetch('/api/bots/faq-bot/flows/e2e-funnel/versions')).json());
    assert.equal(r.versions.length, 1);
    assert.equal(r.versions[0].published_by, 'admin');
  });

  await step('talk to the draft in the preview', async () => {
    await page.click('[data-action=preview]');
    await page.waitForSelector('.bubble.bot:has-text("Привет! Это тестовая воронка.")');
    await page.waitForSelector('.bubble.bot:has-text("Как вас зовут?")');
    await page.waitForSelector('.fnode[data-node-id=question_1].active');
    await page.fill('[data-field=chat-input]', 'Анна');
    await page.click('.chat-input button[type=submit]');
    await page.waitForSelector('.bubble.bot:has-text("Хотите скидку?")');
    await page.waitForSelector('[data-testid=current-node]:has-text("buttons_1")');
    await page.click('.bubble-buttons button:has-text("Да")');
    await page.waitForSelector('.bubble.bot:has-text("Спасибо!")');
    await page.click('[data-action=restart]');
    await page.waitForSelector('.bubble.bot:has-text("Как вас зовут?")');
    assert.equal(await page.locator('.bubble.me').count(), 0, 'restart starts a new conversation');
  });

  await step('an edit mid-conversation keeps the preview on its draft and offers a restart', async () => {
    await page.waitForSelector('[data-testid=current-node]:has-text("question_1")');
    await select('buttons_1');
    await page.fill('[data-testid=properties] textarea[data-field=text]', 'Хотите скидку 20%?');
    await saved();
    await page.waitForSelector('[data-testid=preview-stale]');
    await page.screenshot({ path: path.join(shots, `${String(passed + failed + 1).padStart(2, '0')}-preview-draft-changed.png`) });
    // Moving on in this conversation still runs the draft it started on.
    await page.fill('[data-field=chat-input]', 'Борис');
    await page.click('.chat-input button[type=submit]');
    await page.waitForSelector('.bubble.bot:has-text("Хотите скидку?")');
    assert.equal(await page.locator('.bubble.bot:has-text("20%")').count(), 0, 'no jump to the edited draft');
    await page.click('[data-action=restart-new]');
    await page.waitForSelector('[data-testid=preview-stale]', { state: 'detached' });
    await page.waitForSelector('.bubble.bot:has-text("Как вас зовут?")');
    await page.fill('[data-field=chat-input]', 'Вера');
    await page.click('.chat-input button[type=submit]');
    await page.waitForSelector('.bubble.bot:has-text("Хотите скидку 20%?")');
    // Moving a node changes nothing a conversation notices: no notice.
    const box = await node('end_1').boundingBox();
    await page.mouse.move(box.x + 30, box.y + 10);
    await page.mouse.down();
    await page.mouse.move(box.x + 90, box.y + 40, { steps: 5 });
    await page.mouse.up();
    await saved();
    assert.equal(await page.locator('[data-testid=preview-stale]').count(), 0, 'moving a node is no change to announce');
    await page.click('[data-action=preview]');
  });

  await step('a preview id works only while its user stays signed in', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await signIn(p, server.url, '#/flows/faq-bot/faq-bot');
    // hello opens the chat socket with the id and answers the first frame
    // and, when the server refuses, the close code.
    const tryPreview = (id) =>
      p.evaluate(
        (id) =>
          new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws/chat`);
            let first = null;
            ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', v: 1, bot: id }));
            ws.onmessage = (ev) => {
              first ??= JSON.parse(ev.data);
              if (first.type === 'welcome') {
                ws.close();
                resolve({ type: 'welcome' });
              }
            };
            ws.onclose = (ev) => resolve({ type: first?.type, code: first?.code, close: ev.code });
          }),
        id,
      );
    const { id, csrf } = await p.evaluate(async () => {
      const s = await (await fetch('/api/session')).json();
      const r = await (await fetch('/api/bots/faq-bot/flows/e2e-funnel/preview')).json();
      return { id: r.bot, csrf: s.csrf };
    });
    assert.deepEqual(await tryPreview(id), { type: 'welcome' });
    assert.deepEqual(await tryPreview(id.replace('~e2e-funnel~', '~faq-bot~')), { type: 'error', code: 'unknown_bot', close: 1008 }, 'the id names its flow');
    const out = await p.evaluate(async (csrf) => (await fetch('/api/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrf } })).status, csrf);
    assert.equal(out, 200);
    assert.deepEqual(await tryPreview(id), { type: 'error', code: 'unknown_bot', close: 1008 }, 'signed out: the id runs nothing');
    await ctx.close();
  });

  await step('the builder and the API carry their security headers', async () => {
    const app = await fetch(`${server.url}/app/`);
    const csp = app.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.equal(app.headers.get('x-content-type-options'), 'nosniff');
    const widget = await fetch(`${server.url}/widget/voronka-widget.js`);
    assert.equal(widget.headers.get('content-security-policy'), null, 'the widget script stays embeddable');
    assert.equal(widget.headers.get('x-frame-options'), null);
    const login = (headers) =>
      fetch(`${server.url}/api/login`, { method: 'POST', headers, body: JSON.stringify({ login: 'admin', password: 'wrong-password' }) }).then((r) => r.status);
    assert.equal(await login({ 'Content-Type': 'text/plain' }), 415, 'sign-in only as JSON');
    assert.equal(await login({ 'Content-Type': 'application/json', Origin: 'https://evil.example' }), 403, 'no sign-in from another site');
  });

  let exported = '';
  await step('export YAML', async () => {
    await page.click('[data-action=export]');
    const box = page.locator('[data-testid=yaml]');
    await box.waitFor();
    exported = await box.inputValue();
    for (const want of ['voronka: 1', 'id: e2e-funnel', 'start: message_1', 'type: question', 'next: buttons_1', 'label: Да', 'next: end_1', 'ui: {x:']) {
      assert.ok(exported.includes(want), `the YAML has ${want}:\n${exported}`);
    }
    fs.writeFileSync(path.join(shots, 'e2e-funnel.yaml'), exported);
    await page.click('[data-action=close-modal]');
  });

  await step('import the export back: export is byte-identical, the flow in view', async () => {
    // Look away from the flow first: the import must bring it into view.
    const zoomIn = page.locator('.zoom-buttons button').first();
    for (let i = 0; i < 6; i++) await zoomIn.click();
    const viewport = () => page.locator('.react-flow__viewport').evaluate((el) => el.style.transform);
    const away = await viewport();
    await page.click('[data-action=import]');
    await page.fill('[data-testid=yaml]', exported);
    await page.click('[data-action=do-import]');
    await page.waitForSelector('[data-testid=message]:has-text("e2e-funnel")');
    await saved();
    await page.waitForFunction((was) => document.querySelector('.react-flow__viewport')?.style.transform !== was, away);
    const startInView = await page.evaluate(() => {
      const start = document.querySelector('.fnode-head:has(.fnode-start)');
      if (!start) return false;
      const r = start.getBoundingClientRect();
      const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      return !!hit && start.contains(hit);
    });
    assert.ok(startInView, 'after the import the flow is in view');
    const again = await page.evaluate(async () => (await fetch('/api/bots/faq-bot/flows/e2e-funnel/export?format=yaml')).text());
    assert.equal(again, exported);
  });

  await step('publish v2, roll back to v1', async () => {
    const api = (p) => page.evaluate(async (u) => (await fetch(u)).json(), p);
    await select('message_1');
    await page.fill('[data-testid=properties] textarea[data-field=text]', 'Версия вторая.');
    await saved();
    await page.click('[data-action=publish]');
    await page.waitForSelector('[data-testid=message]:has-text("v2")');
    let v = await api('/api/bots/faq-bot/flows/e2e-funnel/versions');
    assert.deepEqual(v.versions.map((x) => x.version), [2, 1]);
    assert.ok((await api('/api/bots/faq-bot/flows/e2e-funnel/versions/2')).doc.includes('Версия вторая.'));

    await page.click('[data-action=versions]');
    await page.click('[data-testid=versions] [data-version="1"]');
    await page.waitForSelector('[data-testid=diff]:has-text("message_1")');
    await page.click('[data-testid=diff] [data-action=rollback]');
    await page.waitForSelector('[data-testid=versions-message]:has-text("v3")');
    v = await api('/api/bots/faq-bot/flows/e2e-funnel/versions');
    assert.deepEqual(v.versions.map((x) => x.version), [3, 2, 1]);
    const live = await api('/api/bots/faq-bot/flows/e2e-funnel/versions/3');
    assert.ok(live.doc.includes('Привет! Это тестовая воронка.') && !live.doc.includes('Версия вторая.'), live.doc);
    const flows = await api('/api/bots/faq-bot/flows');
    assert.equal(flows.flows.find((f) => f.id === 'e2e-funnel').latest_version, 3);
    // The draft is the rolled-back version again.
    await page.click('.tabs button:first-child');
    await select('message_1');
    assert.equal(await page.inputValue('[data-testid=properties] textarea[data-field=text]'), 'Привет! Это тестовая воронка.');
    await saved();
    const draft = await api('/api/bots/faq-bot/flows/e2e-funnel/draft');
    assert.equal(draft.json.nodes.message_1.text, 'Привет! Это тестовая воронка.');
  });

  await step('delete the draft after a confirmation: the published versions stay', async () => {
    const get = (u) =>
      page.evaluate(async (url) => {
        const r = await fetch(url);
        return { status: r.status, body: r.ok ? await r.json() : null };
      }, u);
    const textArea = '[data-testid=properties] textarea[data-field=text]';
    await select('message_1');
    await page.fill(textArea, 'Черновик, который удалят.');
    await saved();
    assert.equal((await get('/api/bots/faq-bot/flows/e2e-funnel/draft')).body.json.nodes.message_1.text, 'Черновик, который удалят.');
    // Cancelling the confirmation deletes nothing.
    page.once('dialog', (d) => d.dismiss());
    await page.click('[data-action=delete-draft]:has-text("Удалить черновик")');
    assert.equal((await get('/api/bots/faq-bot/flows/e2e-funnel/draft')).status, 200);
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await page.click('[data-action=delete-draft]');
    await page.waitForSelector('[data-testid=message]:has-text("Черновик удалён")');
    assert.match(asked, /опубликованные версии останутся/);
    assert.equal((await get('/api/bots/faq-bot/flows/e2e-funnel/draft')).status, 404);
    const v = (await get('/api/bots/faq-bot/flows/e2e-funnel/versions')).body;
    assert.deepEqual(v.versions.map((x) => x.version), [3, 2, 1]);
    const listed = (await get('/api/bots/faq-bot/flows')).body.flows.find((f) => f.id === 'e2e-funnel');
    assert.equal(listed.draft, false);
    assert.equal(listed.latest_version, 3);
    // The canvas shows the latest version, and nothing is saved back until
    // the next edit, so the button is gone.
    await page.waitForSelector('[data-action=delete-draft]', { state: 'detached' });
    await select('message_1');
    assert.equal(await page.inputValue(textArea), 'Привет! Это тестовая воронка.');
    assert.equal((await get('/api/bots/faq-bot/flows/e2e-funnel/draft')).status, 404);
  });

  await step('a hand-written flow without positions opens laid out', async () => {
    const hand = [
      'voronka: 1',
      'id: hand-made',
      'start: a',
      'nodes:',
      '  a: {type: message, text: one, next: b}',
      '  b: {type: buttons, text: two, buttons: [{label: x, next: c}, {label: y, next: d}]}',
      '  c: {type: end, text: three}',
      '  d: {type: end, text: four}',
      '',
    ].join('\n');
    await page.click('[data-action=import]');
    await page.fill('[data-testid=yaml]', hand);
    await page.click('[data-action=do-import]');
    await page.waitForFunction(() => location.hash.endsWith('/hand-made'));
    // The builder lays the nodes out once it has measured them: wait for
    // four nodes that no longer overlap, then check the arrangement (a
    // layout that never separates them fails here by timeout).
    await page.waitForFunction(() => {
      const r = [...document.querySelectorAll('.fnode')].map((e) => e.getBoundingClientRect());
      return r.length === 4 && r.every((p, i) => r.every((q, j) => i === j ||
        !(p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom)));
    }, null, { timeout: 10000 });
    const boxes = await Promise.all(['a', 'b', 'c', 'd'].map((id) => node(id).boundingBox()));
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [p, q] = [boxes[i], boxes[j]];
        const overlap = p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height;
        assert.ok(!overlap, `nodes ${i} and ${j} overlap`);
      }
    assert.ok(boxes[1].y > boxes[0].y && boxes[2].y > boxes[1].y, 'laid out top to bottom');
  });

  await step('undo and redo', async () => {
    await page.locator('[data-testid=canvas]').click({ position: { x: 20, y: 20 } });
    await select('d');
    await page.keyboard.press('Delete');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 3);
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 4);
    await page.keyboard.press('Control+Shift+z');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 3);
  });

  await step('copy and paste nodes', async () => {
    await page.locator('[data-testid=canvas]').click({ position: { x: 20, y: 20 } });
    await select('b');
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 4);
    const ids = await page.$$eval('.fnode', (ns) => ns.map((n) => n.getAttribute('data-node-id')));
    const pasted = ids.find((id) => !['a', 'b', 'c'].includes(id));
    assert.ok(pasted, `a new node among ${ids}`);
    await saved();
    const d = await page.evaluate(async () => (await fetch('/api/bots/faq-bot/flows/hand-made/draft')).json());
    assert.equal(d.json.nodes[pasted].type, 'buttons');
    assert.equal(d.json.nodes[pasted].text, 'two');
    // Several at once: select all, copy, paste doubles the flow.
    await page.locator('[data-testid=canvas]').click({ position: { x: 20, y: 20 } });
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 8);
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 4);
  });

  await step('node descriptions in Russian', async () => {
    await select('a');
    await page.waitForSelector('[data-testid=node-doc]:has-text("Отправляет сообщение и идёт дальше")');
    assert.match(await page.getAttribute('.palette-item[data-type=delay]', 'title'), /Ждёт/);
  });

  await step('English interface', async () => {
    await page.click('[data-action=lang]');
    await page.waitForSelector('[data-action=publish]:has-text("Publish")');
    await page.waitForSelector('.palette-item:has-text("Question")');
    await page.waitForSelector('[data-testid=node-doc]:has-text("Sends a message and goes on")');
    assert.match(await page.getAttribute('.palette-item[data-type=delay]', 'title'), /Waits/);
  });

  const users = { mira: 'mira-password-1', oleg: 'oleg-password-1' };
  const row = (login) => page.locator(`[data-testid=users-table] tr[data-login="${login}"]`);
  await step('users page: add users, change a role, reset a password (English)', async () => {
    await page.click('[data-action=users]');
    await page.waitForSelector('[data-testid=users-page]');
    await row('admin').waitFor();
    assert.ok(await row('admin').locator('[data-action=delete-user]').isDisabled(), 'an admin cannot delete themself');
    for (const [login, role] of [['mira', 'marketer'], ['oleg', 'admin']]) {
      await page.fill('[data-field=new-login]', login);
      await page.selectOption('[data-field=new-role]', role);
      await page.fill('[data-field=new-password-add]', users[login]);
      await page.click('[data-action=add-user]');
      await row(login).waitFor();
    }
    // A mistake corrected: oleg is an operator.
    await row('oleg').locator('[data-field=role]').selectOption('operator');
    await page.waitForSelector('[data-testid=users-notice]:has-text("oleg: Operator")');
    await row('mira').locator('[data-action=reset-password]').click();
    users.mira = 'mira-password-2';
    await row('mira').locator('[data-field=new-password]').fill(users.mira);
    await row('mira').locator('[data-action=save-password]').click();
    await page.waitForSelector('[data-testid=users-notice]:has-text("mira: password changed")');
    const list = await page.evaluate(async () => (await fetch('/api/users')).json());
    assert.deepEqual(list.users.map((u) => `${u.login}:${u.role}`).sort(), ['admin:admin', 'mira:marketer', 'oleg:operator']);
    // A duplicate login is refused with the server's message.
    await page.fill('[data-field=new-login]', 'mira');
    await page.fill('[data-field=new-password-add]', 'whatever-long');
    await page.click('[data-action=add-user]');
    await page.waitForSelector('[data-testid=users-error]:has-text("exists")');
  });

  await step('users page in Russian', async () => {
    await page.click('[data-action=lang]');
    await page.waitForSelector('[data-testid=users-page] th:has-text("Роль")');
    // The refusal already on the page follows the language.
    await page.waitForSelector('[data-testid=users-error]:has-text("уже есть")');
    const shown = await row('oleg').locator('select[data-field=role]').evaluate((el) => el.selectedOptions[0].textContent);
    assert.equal(shown, 'Оператор');
  });

  await step('roles: a marketer and an operator get no admin things', async () => {
    for (const login of ['mira', 'oleg']) {
      const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const p = await ctx.newPage();
      p.setDefaultTimeout(15000);
      await p.goto(`${server.url}/app/`);
      await p.fill('input[name=login]', login);
      await p.fill('input[name=password]', users[login]);
      await p.click('[data-testid=signin] button[type=submit]');
      // A marketer gets the builder, an operator the inbox.
      await p.waitForSelector(login === 'mira' ? '.topbar' : '[data-testid=inbox]');
      assert.equal(await p.locator('[data-action=users]').count(), 0, `${login} sees no users link`);
      const codes = await p.evaluate(async () => {
        const csrf = (await (await fetch('/api/session')).json()).csrf;
        const h = { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf };
        return [
          (await fetch('/api/users')).status,
          (await fetch('/api/users', { method: 'POST', headers: h, body: JSON.stringify({ login: 'x', role: 'admin', password: 'long-enough' }) })).status,
          (await fetch('/api/users/whoever', { method: 'DELETE', headers: h })).status,
          (await fetch('/api/spec')).status,
        ];
      });
      // Marketers use the builder (spec 200); operators do not (403).
      assert.deepEqual(codes, [403, 403, 403, login === 'mira' ? 200 : 403], `${login}: ${codes}`);
      if (login === 'mira') await p.waitForSelector('[data-testid=palette] .palette-item');
      await p.screenshot({ path: path.join(shots, `${String(passed + failed + 1).padStart(2, '0')}-signed-in-as-${login}.png`) });
      await ctx.close();
    }
  });

  await step('deleting a user signs them out at once', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${server.url}/app/`);
    await p.fill('input[name=login]', 'oleg');
    await p.fill('input[name=password]', users.oleg);
    await p.click('[data-testid=signin] button[type=submit]');
    await p.waitForSelector('[data-testid=inbox]');
    assert.equal(await p.evaluate(async () => (await fetch('/api/session')).status), 200);
    page.once('dialog', (d) => d.accept());
    await row('oleg').locator('[data-action=delete-user]').click();
    await row('oleg').waitFor({ state: 'detached' });
    assert.equal(await p.evaluate(async () => (await fetch('/api/session')).status), 401);
    await ctx.close();
    await page.click('[data-action=back]');
    await page.waitForSelector('[data-testid=palette] .palette-item');
  });

  await step('sessions survive a server restart', async () => {
    await server.restart();
    // The same store, another process: the browser is still signed in and
    // its CSRF token still works.
    await page.reload();
    await page.waitForSelector('[data-testid=palette] .palette-item');
    await select('a');
    await page.fill('[data-testid=properties] textarea[data-field=text]', 'После перезапуска.');
    await saved();
    const d = await page.evaluate(async () => (await fetch('/api/bots/faq-bot/flows/hand-made/draft')).json());
    assert.equal(d.json.nodes.a.text, 'После перезапуска.');
  });

  await step('repeated wrong passwords are refused for a while', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${server.url}/app/`);
    for (let i = 0; i < 6; i++) {
      await p.fill('input[name=login]', 'mira');
      await p.fill('input[name=password]', `wrong-${i}`);
      await p.click('[data-testid=signin] button[type=submit]');
      await p.waitForSelector(`[data-testid=signin-error]`);
      if (i < 5) await p.waitForTimeout(50);
    }
    await p.waitForSelector('[data-testid=signin-error]:has-text("Слишком много")');
    await p.fill('input[name=password]', users.mira);
    await p.click('[data-testid=signin] button[type=submit]');
    await p.waitForTimeout(300);
    assert.equal(await p.locator('[data-testid=palette]').count(), 0, 'even the right password waits');
    const r = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ login: 'mira', password: users.mira }),
    });
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After says how long');
    await p.screenshot({ path: path.join(shots, `${String(passed + failed + 1).padStart(2, '0')}-sign-in-refused.png`) });
    await ctx.close();
  });

  assert.deepEqual(pageErrors, [], 'no errors in the page');
} catch (e) {
  failed++;
  console.log(`FAIL ${e?.stack ?? e}`);
} finally {
  await browser.close();
  if (failed) console.log(server.logText().slice(-4000));
  await server.stop();
  await telegram.close();
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
