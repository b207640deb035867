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
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { admin, launchBrowser, requireChromium, signIn, startServer, startTgFake, stories } from './lib.mjs';

requireChromium('analytics e2e');
const s = stories('analytics', { fullPage: true });
const { step, pageErrors } = s;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'voronka-an-e2e-'));
const token = '123456789:E2E-analytics';
const tg = await startTgFake(token);
const { fake, waitSent } = tg;
const say = (id, text) => fake('POST', 'message', { user_id: id, text, first_name: `Гость${id}` });
const press = (id, text) => fake('POST', 'press', { user_id: id, text });

const server = await startServer({
  env: { VORONKA_TELEGRAM_TOKEN: token, VORONKA_TELEGRAM_API: tg.botAPI, VORONKA_FLOW: 'lead-qualification' },
});
const browser = await launchBrowser();
let page;

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
  page = s.watch(await ctx.newPage());
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

  await step('the leads of a tag save as a segment that counts the same people', async () => {
    await page.fill('[data-ct=tag]', 'buyer');
    await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-contact]').length === 3);
    // The channel, segment and status columns speak Russian.
    const cells = await page.$$eval('tbody tr[data-contact]', (rows) => rows.flatMap((r) => [1, 6, 8].map((i) => r.children[i]?.textContent ?? '')));
    assert.deepEqual([...new Set(cells)].sort(), ['Telegram', 'горячий', 'ждём ответа', 'у оператора', 'холодный'], cells.join(', '));
    await page.click('[data-ct=save-segment]');
    await page.fill('[data-ct=segment-name]', 'Покупатели из таблицы');
    await page.click('[data-ct=segment-save]');
    await page.waitForSelector('[data-ct=segment-saved]');
    assert.match(await page.textContent('[data-ct=segment-saved]'), /«Покупатели из таблицы» сохранён: 3 чел/);
    await page.click('[data-ct=segment-saved]');
    await page.waitForSelector('[data-bc=segment-form]');
    await page.click('[data-bc-segment="Покупатели из таблицы"]');
    await page.waitForFunction(() => /^В сегменте: 3,/.test(document.querySelector('[data-bc=count]')?.textContent ?? ''));
    assert.equal(await page.inputValue('[data-bc=tags]'), 'buyer');
  });

  assert.deepEqual(pageErrors, [], 'page errors');
} finally {
  await browser.close();
  await server.stop();
  tg.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
s.done(` (signed in as ${admin.login})`);
