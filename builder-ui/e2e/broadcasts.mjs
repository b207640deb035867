// End-to-end test of broadcasts in the machine's Chromium, against a real
// `voronka serve` and the fake Telegram (cmd/tgfake): twelve people start the
// bot, ten press «Хочу купить» (tagged buyer), one of them says «стоп»; a
// marketer makes a segment of buyers and sees its live count, composes a
// broadcast to it, sends it, pauses and resumes it, watches the progress to
// the end, and the fake shows that each consenting member got it once and
// nobody else got it. Screenshots go to artifacts/screenshots/broadcasts.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { launchBrowser, requireChromium, root, signIn, startServer } from './lib.mjs';

requireChromium('broadcasts e2e');
const shots = path.join(root, 'artifacts/screenshots/broadcasts');
fs.rmSync(shots, { recursive: true, force: true });
fs.mkdirSync(shots, { recursive: true });

// The fake Telegram, as its own process.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'voronka-bc-e2e-'));
const fakeBin = path.join(tmp, 'tgfake');
const built = spawnSync('go', ['build', '-o', fakeBin, './cmd/tgfake'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) throw new Error('go build ./cmd/tgfake failed');
const token = '123456789:E2E-broadcasts';
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
const sentTo = (id) => fake('GET', `sent?chat_id=${id}`);
const waitSent = (id, n) => fake('GET', `sent/wait?chat_id=${id}&n=${n}&timeout=60s`);

// A slow bot (2 messages a second) so the broadcast takes long enough to pause.
const server = await startServer({
  env: {
    VORONKA_TELEGRAM_TOKEN: token,
    VORONKA_TELEGRAM_API: `${fakeURL}/bot%s/%s`,
    VORONKA_FLOW: 'lead-qualification',
    VORONKA_TELEGRAM_RATE: '2',
  },
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
    await page?.screenshot({ path: path.join(shots, file) }).catch(() => {});
  }
}

const users = Array.from({ length: 12 }, (_, i) => 101 + i);
const buyers = users.slice(0, 10);
const stopper = 103;
const TEXT = 'Скидка 20% для покупателей';
const copies = async (id) => (await sentTo(id)).filter((m) => m.text.startsWith(TEXT)).length;

try {
  await step('people start the bot, buyers press a button, one says стоп', async () => {
    for (const id of users) await fake('POST', 'message', { user_id: id, text: '/start', first_name: `Гость${id}` });
    for (const id of users) await waitSent(id, 2);
    for (const id of buyers) await fake('POST', 'press', { user_id: id, text: 'Хочу купить' });
    for (const id of buyers) await waitSent(id, 3);
    await fake('POST', 'message', { user_id: stopper, text: 'стоп' });
    await waitSent(stopper, 4);
  });

  const ctx = await browser.newContext({ locale: 'ru-RU' });
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(20000);

  await step('a segment of buyers with its live count', async () => {
    await signIn(page, server.url);
    await page.click('nav.appnav a[data-nav="/broadcasts"]');
    await page.waitForSelector('[data-bc=segment-form]');
    await page.selectOption('[data-bc=bot]', 'lead-qualification');
    await page.fill('[data-bc=segment-name]', 'Покупатели');
    await page.fill('[data-bc=tags]', 'buyer');
    await page.waitForFunction(() => document.querySelector('[data-bc=count]')?.textContent?.includes('В сегменте: 10'));
    const count = await page.textContent('[data-bc=count]');
    assert.match(count, /В сегменте: 10, из них можно отправить: 9/);
    await page.click('[data-bc=save-segment]');
    await page.waitForSelector('[data-bc-segment="Покупатели"]');
  });

  await step('a bad condition is shown by its field', async () => {
    await page.fill('[data-bc=expr]', 'budjet > 1');
    await page.waitForSelector('.bc-problems code:text("expr")');
    await page.fill('[data-bc=expr]', '');
    await page.waitForFunction(() => document.querySelector('[data-bc=count]')?.textContent?.includes('В сегменте: 10'));
  });

  await step('compose, send, pause and resume', async () => {
    await page.fill('[data-bc=name]', 'Скидка покупателям');
    const segValue = await page.$eval('[data-bc=audience]', (s) => [...s.options].find((o) => o.text === 'Покупатели').value);
    await page.selectOption('[data-bc=audience]', segValue);
    await page.fill('[data-bc=text-0]', `${TEXT}, {{ contact.first_name }}!`);
    await page.click('[data-bc=send]');
    await page.click('[data-bc-action=pause]');
    await page.waitForSelector('[data-bc-status=paused]');
    // Nothing more goes out while it is paused.
    await new Promise((r) => setTimeout(r, 1500));
    let before = 0;
    for (const id of buyers) before += await copies(id);
    await new Promise((r) => setTimeout(r, 2000));
    let after = 0;
    for (const id of buyers) after += await copies(id);
    assert.equal(after, before, 'sends went on while paused');
    assert.ok(before < 9, `all ${before} were sent before the pause`);
    await page.click('[data-bc-action=resume]');
  });

  await step('progress watched to the end', async () => {
    await page.waitForSelector('[data-bc=view] [data-bc-status=done]', { timeout: 60000 });
    const p = page.locator('[data-bc=progress]');
    assert.equal(await p.getAttribute('data-sent'), '9');
    assert.equal(await p.getAttribute('data-total'), '10');
    assert.match(await page.textContent('[data-bc=skipped]'), /нет согласия — 1/);
    await page.waitForSelector('.bc-results td');
  });

  await step('the fake shows each consenting buyer got it once, nobody else', async () => {
    for (const id of users) {
      const want = buyers.includes(id) && id !== stopper ? 1 : 0;
      assert.equal(await copies(id), want, `user ${id}`);
    }
    const one = (await sentTo(104)).find((m) => m.text.startsWith(TEXT));
    assert.equal(one.text, `${TEXT}, Гость104!`);
    assert.ok(JSON.stringify(one.reply_markup).includes('Отписаться'), 'no unsubscribe button');
  });

  await step('English one click away', async () => {
    await page.click('nav.appnav [data-action=lang]');
    await page.waitForSelector('[data-bc=progress]:text("Sent 9 of 10")');
    assert.match(await page.textContent('[data-bc=skipped]'), /no consent — 1/);
    await page.click('nav.appnav [data-action=lang]');
    await page.waitForSelector('[data-bc=progress]:text("Отправлено 9 из 10")');
  });

  assert.deepEqual(pageErrors, [], 'page errors');
} finally {
  await browser.close();
  await server.stop();
  fakeProc.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`broadcasts e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
