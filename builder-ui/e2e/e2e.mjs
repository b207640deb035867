// End-to-end test of the builder in the machine's Chromium: sign in, draw a
// four-node funnel on an empty canvas, connect it, fix the validation error
// the builder shows, publish, talk to it in the preview, export the YAML,
// import it back (byte-identical), open a hand-written flow laid out.
// Screenshots go to artifacts/screenshots (kept as CI artifacts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, requireChromium, root, signIn, startServer } from './lib.mjs';

requireChromium('builder e2e');
const shots = path.join(root, 'artifacts/screenshots');
fs.mkdirSync(shots, { recursive: true });

const server = await startServer();
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
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
    await signIn(page, server.url, '#/faq-bot/faq-bot');
    await page.waitForSelector('.fnode');
  });

  await step('a new flow opens on an empty canvas', async () => {
    page.once('dialog', (d) => d.accept('e2e-funnel'));
    await page.click('[data-action=new-flow]');
    await page.waitForFunction(() => location.hash.endsWith('/e2e-funnel'));
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 0);
  });

  await step('four nodes dragged from the palette', async () => {
    const canvas = page.locator('[data-testid=canvas]');
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
    void canvas;
  });

  await step('the builder shows the validation errors and blocks publishing', async () => {
    await page.waitForSelector('.fnode[data-node-id=question_1].has-error');
    await node('question_1').locator('[data-testid=node-error]').waitFor();
    assert.ok(await page.locator('[data-action=publish]').isDisabled(), 'publish is disabled while there are errors');
    await node('question_1').click();
    await page.waitForSelector('[data-testid=properties] [data-testid=field-problem]');
  });

  await step('nodes connected on the canvas, errors fixed', async () => {
    await connectHandle('message_1', 'next', 'question_1');
    await connectHandle('question_1', 'next', 'buttons_1');
    await connectHandle('buttons_1', 'buttons[0].next', 'end_1');
    await connectHandle('buttons_1', 'buttons[1].next', 'end_1');
    assert.equal(await edgeCount(), 4);
    await page.waitForFunction(() => document.querySelector('[data-testid=problems]')?.getAttribute('data-errors') === '0');
    assert.equal(await page.locator('.fnode.has-error').count(), 0);
  });

  await step('texts edited in the properties panel', async () => {
    await node('message_1').click();
    await page.fill('[data-testid=properties] textarea[data-field=text]', 'Привет! Это тестовая воронка.');
    await node('question_1').click();
    await page.fill('[data-testid=properties] textarea[data-field=text]', 'Как вас зовут?');
    await node('buttons_1').click();
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

  await step('import the export back: export is byte-identical', async () => {
    await page.click('[data-action=import]');
    await page.fill('[data-testid=yaml]', exported);
    await page.click('[data-action=do-import]');
    await page.waitForSelector('[data-testid=message]:has-text("e2e-funnel")');
    await saved();
    const again = await page.evaluate(async () => (await fetch('/api/bots/faq-bot/flows/e2e-funnel/export?format=yaml')).text());
    assert.equal(again, exported);
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
    await node('d').click();
    await page.keyboard.press('Delete');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 3);
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 4);
    await page.keyboard.press('Control+Shift+z');
    await page.waitForFunction(() => document.querySelectorAll('.fnode').length === 3);
  });

  await step('English interface', async () => {
    await page.click('[data-action=lang]');
    await page.waitForSelector('[data-action=publish]:has-text("Publish")');
    await page.waitForSelector('.palette-item:has-text("Question")');
  });

  assert.deepEqual(pageErrors, [], 'no errors in the page');
} catch (e) {
  failed++;
  console.log(`FAIL ${e?.stack ?? e}`);
} finally {
  await browser.close();
  if (failed) console.log(server.logText().slice(-4000));
  await server.stop();
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
