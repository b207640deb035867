// End-to-end test of the web chat widget in the machine's Chromium, on the
// demo page that `voronka serve` serves at / (bot "demo": the coffee quiz):
// answer a question and see the old keyboard disabled, message times in the
// browser's time zone, the typing indicator, the «Позвать оператора» button
// that reaches the flow's handoff; then a phone (390×844, touch) where
// opening the chat does not pop the keyboard, and the English widget.
// Screenshots go to artifacts/screenshots/widget.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { launchBrowser, requireChromium, root, startServer } from './lib.mjs';

requireChromium('widget e2e');
const shots = path.join(root, 'artifacts/screenshots/widget');
fs.rmSync(shots, { recursive: true, force: true });
fs.mkdirSync(shots, { recursive: true });

const server = await startServer();
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

const TZ = 'Europe/Moscow';
async function newPage(opts) {
  const ctx = await browser.newContext({ timezoneId: TZ, locale: 'ru-RU', ...opts });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  p.setDefaultTimeout(15000);
  return p;
}

// Playwright's CSS selectors pierce the widget's open shadow root.
const W = '[data-voronka-widget]';
const botMsgs = (p) => p.locator(`${W} .msg.bot`);
const userMsgs = (p) => p.locator(`${W} .msg.user`);
const group = (p, text) => p.locator(`${W} .group`, { has: p.locator('.msg.bot', { hasText: text }) });
const transcript = (p) => p.evaluate(() => window.Voronka.connection.state.transcript);

/** watchTyping counts the times the typing indicator is shown from now on. */
async function watchTyping(p) {
  await p.evaluate(() => {
    const t = document.querySelector('[data-voronka-widget]').shadowRoot.querySelector('.typing');
    window.typingShown = 0;
    new MutationObserver(() => {
      if (!t.hidden) window.typingShown++;
    }).observe(t, { attributes: true, attributeFilter: ['hidden'] });
  });
}

// site is another web site that embeds the widget: /en in English without
// data-lang, /cp1251 a Russian page in windows-1251 (its own text is ASCII).
const site = http.createServer((req, res) => {
  const [lang, charset] = req.url === '/cp1251' ? ['ru', 'windows-1251'] : ['en', 'utf-8'];
  res.writeHead(200, { 'Content-Type': `text/html; charset=${charset}` });
  res.end(`<!doctype html><html lang="${lang}"><head><meta charset="${charset}"></head><body><h1>Shop</h1>` +
    `<script src="${server.url}/widget/voronka-widget.js" data-bot="demo" data-open="true"></script></body></html>`);
});
await new Promise((r) => site.listen(0, '127.0.0.1', r));
site.url = `http://127.0.0.1:${site.address().port}`;

// hold keeps the server's frames from the first page while set: the bot's
// reply is late, as it is when the bot works, and the typing indicator stays.
let hold = false;
const held = [];

try {
  await step('the demo page opens the chat with a greeting, its time and the operator button', async () => {
    page = await newPage({ viewport: { width: 1280, height: 800 } });
    await page.routeWebSocket(/\/ws\/chat/, (ws) => {
      const srv = ws.connectToServer();
      srv.onMessage((m) => (hold ? held.push(() => ws.send(m)) : ws.send(m)));
    });
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.Voronka);
    const intro = group(page, 'Ответьте на 3 вопроса');
    await intro.waitFor();
    await page.locator(`${W} .person`, { hasText: 'Позвать оператора' }).waitFor();
    assert.equal(await intro.locator('button:enabled').count(), 2, 'the greeting\'s buttons are live');
    // HH:MM in the browser's time zone, from the server's time of the message.
    const at = (await transcript(page)).find((m) => m.from === 'bot').at;
    const want = new Intl.DateTimeFormat('ru-RU', { timeZone: TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
    assert.equal(await intro.locator('time').textContent(), want);
  });

  await step('answering disables the old buttons and shows typing until the reply', async () => {
    await watchTyping(page);
    await group(page, 'Ответьте на 3 вопроса').getByRole('button', { name: 'Поехали' }).click();
    const brew = group(page, 'Как вы завариваете кофе дома?');
    await brew.waitFor();
    assert.ok(await page.evaluate(() => window.typingShown) > 0, 'the typing indicator was shown');
    await page.locator(`${W} .typing`).waitFor({ state: 'hidden' });
    const intro = group(page, 'Ответьте на 3 вопроса');
    assert.equal(await intro.locator('button:disabled').count(), 2, 'the answered keyboard is disabled');
    assert.equal(await intro.locator('button.chosen').textContent(), 'Поехали', 'the pressed button is marked');
    assert.equal(await brew.locator('button:enabled').count(), 4, 'the new question is live');
    assert.match(await userMsgs(page).last().locator('time').textContent(), /^\d\d:\d\d$/, 'the person\'s message has a time');
    // A click on the disabled keyboard sends nothing.
    const before = (await transcript(page)).length;
    await intro.getByRole('button', { name: 'Не сейчас' }).click({ force: true });
    await page.waitForTimeout(500);
    assert.equal((await transcript(page)).length, before, 'nothing sent from an old keyboard');
  });

  await step('typing shows while the bot works on the reply', async () => {
    hold = true;
    await group(page, 'Как вы завариваете кофе дома?').getByRole('button', { name: 'Пуровер' }).click();
    await page.locator(`${W} .typing`, { hasText: 'Печатает…' }).waitFor();
    await page.screenshot({ path: path.join(shots, `${String(passed + failed + 1).padStart(2, '0')}-typing.png`) });
    hold = false;
    held.splice(0).forEach((send) => send());
    await group(page, 'Какой кофе вы пьёте?').waitFor();
    await page.locator(`${W} .typing`).waitFor({ state: 'hidden' });
  });

  await step('«Позвать оператора» reaches the flow\'s handoff', async () => {
    await page.locator(`${W} .person`).click();
    await userMsgs(page).filter({ hasText: 'Позвать оператора' }).waitFor();
    await botMsgs(page).filter({ hasText: 'Зову бариста' }).waitFor();
    assert.equal(await group(page, 'Какой кофе вы пьёте?').locator('button:enabled').count(), 0,
      'the question the person left is off');
  });

  await step('phone: opening the chat does not pop the keyboard; the end disables every button', async () => {
    page = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto(`${server.url}/`);
    const intro = group(page, 'Ответьте на 3 вопроса');
    await intro.waitFor();
    const focused = await page.evaluate(() => document.querySelector('[data-voronka-widget]').shadowRoot.activeElement?.tagName ?? null);
    assert.notEqual(focused, 'TEXTAREA', 'the input is not focused on a touch device');
    await page.locator(`${W} .person`).waitFor();
    await page.screenshot({ path: path.join(shots, `${String(passed + failed + 1).padStart(2, '0')}-phone-open.png`) });
    await intro.getByRole('button', { name: 'Не сейчас' }).tap();
    await botMsgs(page).filter({ hasText: 'Напишите /quiz' }).waitFor();
    assert.equal(await page.locator(`${W} .buttons button:enabled`).count(), 0, 'after the end no button is live');
  });

  await step('English from the page language, on another site', async () => {
    page = await newPage({ viewport: { width: 1280, height: 800 }, locale: 'ru-RU' });
    // Another site in English embeds the widget without data-lang.
    await page.goto(`${site.url}/en`);
    await page.locator(`${W} .person`, { hasText: 'Talk to a person' }).waitFor();
    await group(page, 'Ответьте на 3 вопроса').waitFor();
    assert.equal(await page.locator(`${W} textarea`).getAttribute('placeholder'), 'Message…');
  });

  await step('a Russian site in windows-1251 shows the widget\'s text unharmed', async () => {
    page = await newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${site.url}/cp1251`);
    await page.locator(`${W} .person`, { hasText: 'Позвать оператора' }).waitFor();
    await group(page, 'Ответьте на 3 вопроса').waitFor();
    assert.equal(await page.locator(`${W} textarea`).getAttribute('placeholder'), 'Сообщение…');
  });

  assert.deepEqual(pageErrors, [], 'no errors in the page');
} catch (e) {
  failed++;
  console.log(`FAIL ${e?.stack ?? e}`);
} finally {
  await browser.close();
  site.closeAllConnections();
  site.close();
  if (failed) console.log(server.logText().slice(-4000));
  await server.stop();
}
console.log(`widget e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
