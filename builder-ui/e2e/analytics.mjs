// End-to-end test of leads and funnel analytics in the machine's Chromium,
// against a real `voronka serve` and the fake Telegram (cmd/tgfake): five
// people play the lead-qualification funnel along known paths (two to the
// handoff with a phone, one gives an invalid budget and stops, two only
// start); a marketer opens the analytics page and sees the charts (funnel,
// peak hours) with the counts those paths imply, the funnel's counts on the
// flow's canvas, n/a for Telegram's delivery and reads, downloads a table as
// CSV; then the leads page lists the leads with their variables in the lead
// card and exports them as CSV. Screenshots go to artifacts/screenshots/analytics.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { admin, launchBrowser, requireChromium, root, signIn, startServer } from './lib.mjs';

requireChromium('analytics e2e');
const shots = path.join(root, 'artifacts/screenshots/analytics');
fs.rmSync(shots, { recursive: true, force: true });
fs.mkdirSync(shots, { recursive: true });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'voronka-an-e2e-'));
const fakeBin = path.join(tmp, 'tgfake');
const built = spawnSync('go', ['build', '-o', fakeBin, './cmd/tgfake'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) throw new Error('go build ./cmd/tgfake failed');
const token = '123456789:E2E-analytics';
const fakeProc = spawn(fakeBin, ['-addr', '127.0.0.1:0', '-token', token], { stdio: ['ignore', 'pipe', 'inherit'] });
const fakeURL = await new Promise((resolve, reject) => {
  readline.createInterface({ input: fakeProc.stdout }).once('line', (l) => resolve(l.trim()));
  fakeProc.once('exit', () => reject(new Error('tgfake exited')));
});
const fake = async (method, p, body) => {
  const r = await fetch(`${fakeURL}/_fake/${p}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await r.json();
  if (!j.ok) throw new Error(`${method} ${p}: ${JSON.stringify(j)}`);
  return j.result;
};
const waitSent = (id, n) => fake('GET', `sent/wait?chat_id=${id}&n=${n}&timeout=60s`);
const say = (id, text) => fake('POST', 'message', { user_id: id, text, first_name: `Гость${id}` });
const press = (id, text) => fake('POST', 'press', { user_id: id, text });

const server = await startServer({
  env: { VORONKA_TELEGRAM_TOKEN: token, VORONKA_TELEGRAM_API: `${fakeURL}/bot%s/%s`, VORONKA_FLOW: 'lead-qualification' },
});
const browser = await launchBrowser();
const pageErrors = [];
let passed = 0;
let failed = 0;
let page;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  } finally {
    const file = `${String(passed + failed).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-')}.png`;
    await page?.screenshot({ path: path.join(shots, file), fullPage: true }).catch(() => {});
  }
}

// The API as the marketer's browser sees it (the session cookie), as bytes
// decoded keeping a byte order mark.
const apiText = async (p) => {
  const bytes = await page.evaluate(async (u) => [...new Uint8Array(await (await fetch(u, { credentials: 'same-origin' })).arrayBuffer())], p);
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array(bytes));
};

try {
  await step('five people play the funnel along known paths', async () => {
    for (const id of [201, 202]) {
      await say(id, '/start');
      await waitSent(id, 2);
      await press(id, 'Хочу купить');
      await waitSent(id, 3);
      await say(id, '150 000');
      await waitSent(id, 4);
      await say(id, `+7 999 000-00-${id - 150}`);
      await waitSent(id, 5);
    }
    await say(203, '/start');
    await waitSent(203, 2);
    await press(203, 'Хочу купить');
    await waitSent(203, 3);
    await say(203, 'не скажу');
    await waitSent(203, 4);
    for (const id of [204, 205]) {
      await say(id, '/start');
      await waitSent(id, 2);
    }
  });

  const ctx = await browser.newContext({ locale: 'ru-RU', acceptDownloads: true });
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(20000);

  await step('the analytics page shows the figures and the charts', async () => {
    await signIn(page, server.url);
    await page.click('nav.appnav a[data-nav="/analytics"]');
    await page.waitForSelector('[data-an=bot]');
    await page.selectOption('[data-an=bot]', 'lead-qualification');
    // The rollups are folded every second: wait for all five runs.
    for (let i = 0; i < 40; i++) {
      await page.waitForSelector('[data-card=started] .an-card-value');
      if ((await page.textContent('[data-card=started] .an-card-value')) === '5') break;
      await page.waitForTimeout(500);
      await page.selectOption('[data-an=flow]', i % 2 ? '' : 'lead-qualification');
    }
    await page.selectOption('[data-an=flow]', 'lead-qualification');
    await page.waitForSelector('[data-card=started] .an-card-value:text-is("5")');
    assert.equal(await page.textContent('[data-card=dialogs] .an-card-value'), '5');
    assert.equal(await page.textContent('[data-card=handoffs] .an-card-value'), '2');
    assert.equal(await page.textContent('[data-card=in] .an-card-value'), '13');
    assert.equal(await page.textContent('[data-goal=qualified_lead] td:nth-child(2)'), '2');
    assert.equal(await page.textContent('[data-goal=qualified_lead] td:nth-child(3)'), '40%');
    assert.equal(await page.textContent('.an-funnel [data-node=ask_goal] td:nth-child(2)'), '5');
    assert.equal(await page.textContent('.an-funnel [data-node=ask_budget] td:nth-child(2)'), '3');
    assert.equal(await page.textContent('.an-funnel [data-node=ask_budget] td:nth-child(3)'), '60%');
    assert.equal(await page.textContent('.an-funnel [data-node=ask_phone] td:nth-child(4)'), '0');
    assert.equal(await page.textContent('[data-channel=telegram] [data-delivered]'), 'н/д');
    assert.equal(await page.textContent('[data-channel=telegram] [data-read]'), 'н/д');
    // The charts are drawn (ECharts, SVG).
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=funnel-chart] svg path').length >= 5);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=peak-chart] svg path, [data-testid=peak-chart] svg rect').length >= 24);
    const funnelText = await page.textContent('[data-testid=funnel-chart]');
    assert.match(funnelText, /ask_budget: 3/);
  });

  await step('the canvas shows each node entered and each edge count', async () => {
    await page.waitForSelector('[data-testid=analytics-canvas] .react-flow__node');
    const count = page.locator('[data-testid=analytics-canvas] [data-node-id=ask_budget] [data-testid=node-count]');
    assert.equal((await count.textContent()).replace(/\s/g, ''), '3·60%');
    const welcome = page.locator('[data-testid=analytics-canvas] [data-node-id=welcome] [data-testid=node-count]');
    assert.equal((await welcome.textContent()).replace(/\s/g, ''), '5·100%');
    const labels = await page.$$eval('[data-testid=analytics-canvas] .react-flow__edge-text', (ts) => ts.map((t) => t.textContent));
    assert.ok(labels.includes('3') && labels.includes('5') && labels.includes('2'), `edge labels ${labels}`);
  });

  await step('a table downloads as CSV, Excel-ready', async () => {
    const href = await page.getAttribute('[data-csv=funnel]', 'href');
    const csv = await apiText(href);
    assert.ok(csv.startsWith('\ufeffnode;entered;percent_of_started;next;exits;drop_off\r\n'), csv.slice(0, 80));
    assert.match(csv, /\r\nask_goal;5;100;ask_budget;3;2\r\n/);
  });

  await step('English one click away', async () => {
    await page.click('nav.appnav [data-action=lang]');
    await page.waitForSelector('[data-channel=telegram] [data-delivered]:text-is("n/a")');
    await page.click('nav.appnav [data-action=lang]');
    await page.waitForSelector('[data-channel=telegram] [data-delivered]:text-is("н/д")');
  });

  await step('the leads page lists the leads with their variables', async () => {
    await page.click('nav.appnav a[data-nav="/contacts"]');
    await page.waitForSelector('[data-ct=bot]');
    await page.selectOption('[data-ct=bot]', 'lead-qualification');
    await page.waitForSelector('tr[data-contact="201"]');
    assert.equal(await page.locator('tbody tr[data-contact]').count(), 5);
    await page.fill('[data-ct=q]', '79990000051');
    await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-contact]').length === 1);
    await page.click('tr[data-contact="201"]');
    await page.waitForSelector('[data-ct=card]');
    const vars = await page.textContent('[data-ct=vars]');
    assert.match(vars, /budget150000/);
    assert.match(vars, /phone\+79990000051/);
    await page.fill('[data-ct=q]', '');
    await page.selectOption('[data-ct=sort]', '-score');
    await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-contact]').length === 5);
  });

  await step('the leads export as CSV with the variables', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-ct=export]')]);
    const file = path.join(tmp, 'contacts.csv');
    await download.saveAs(file);
    const csv = fs.readFileSync(file, 'utf8');
    const lines = csv.replace(/\r\n$/, '').split('\r\n');
    assert.ok(csv.startsWith('\ufeffid;name;channel;'), csv.slice(0, 60));
    assert.equal(lines.length, 6, csv);
    assert.ok(lines[0].split(';').includes('budget') && lines[0].split(';').includes('phone'), lines[0]);
    const lead = lines.find((l) => l.includes(';201;'));
    assert.ok(lead && lead.includes('+79990000051') && lead.includes(';150000;'), lead);
  });

  assert.deepEqual(pageErrors, [], 'page errors');
} finally {
  await browser.close();
  await server.stop();
  fakeProc.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`analytics e2e: ${passed} passed, ${failed} failed (signed in as ${admin.login})`);
process.exit(failed ? 1 : 0);
