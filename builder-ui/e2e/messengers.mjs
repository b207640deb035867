// Browser story of WhatsApp in the builder (issue 17): a marketer creates a
// bot with a funnel, picks WhatsApp on the bot's channels, pastes the phone
// number id, token and app secret of a fake Cloud API (cmd/msgrfake), sees
// the webhook URL and verify token to paste into Meta's console, connects;
// the fake's console check (GET hub.challenge) passes with that verify
// token; a customer's message gets the funnel's reply with reply buttons,
// and a press goes on. A broadcast reaches someone silent for over 24
// hours only with the WhatsApp template typed into the broadcast form.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { admin, launchBrowser, requireChromium, root, startServer, stories } from './lib.mjs';

requireChromium('messengers e2e');
const s = stories('messengers');
const { step, pageErrors } = s;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'voronka-msgr-e2e-'));
const fakeBin = path.join(tmp, 'msgrfake');
execFileSync('go', ['build', '-o', fakeBin, './cmd/msgrfake'], { cwd: root, stdio: 'inherit' });
const fake = spawn(fakeBin, ['-type', 'whatsapp', '-unlimited', '-retry-scale', '0.01'], { stdio: ['ignore', 'pipe', 'inherit'] });
const [fakeURL, creds] = await new Promise((resolve, reject) => {
  const lines = [];
  readline.createInterface({ input: fake.stdout }).on('line', (l) => {
    lines.push(l.trim());
    if (lines.length === 2) resolve([lines[0], JSON.parse(lines[1])]);
  });
  fake.once('exit', (code) => reject(new Error(`msgrfake exited: ${code}`)));
});
const emptyFlows = fs.mkdtempSync(path.join(tmp, 'flows-'));
const server = await startServer({ env: { VORONKA_FLOWS: emptyFlows } });

async function fakeCall(method, route, body) {
  const r = await fetch(`${fakeURL}/_fake/${route}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`fake ${route}: ${r.status} ${text}`);
  return JSON.parse(text);
}

const flowYaml = [
  'voronka: 1',
  'id: shop',
  'start: hello',
  'nodes:',
  '  hello: {type: message, text: "Здравствуйте!", next: pick}',
  '  pick:',
  '    type: buttons',
  '    text: "Что вас интересует?"',
  '    buttons:',
  '      - {label: "Цены", next: prices}',
  '      - {label: "Доставка", next: delivery}',
  '  prices: {type: end, text: "Цены от 990 ₽"}',
  '  delivery: {type: end, text: "Доставим завтра"}',
  '',
].join('\n');

const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
s.watch(page);
page.setDefaultTimeout(20000);

// api calls the API from the signed-in page (its cookie and CSRF token).
const api = (method, p, body, type = 'application/json') =>
  page.evaluate(async ([method, p, body, type]) => {
    const s = await (await fetch('/api/session')).json();
    const r = await fetch(p, { method, body, headers: { 'Content-Type': type, 'X-CSRF-Token': s.csrf } });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, p, body, type]);

let callback = '';
let verify = '';
try {
  await step('sign in; a bot with a published funnel', async () => {
    await page.goto(`${server.url}/app/#/bots`);
    await page.fill('input[name=login]', admin.login);
    await page.fill('input[name=password]', admin.password);
    await page.click('[data-testid=signin] button[type=submit]');
    await page.waitForSelector('[data-testid=bots-page]');
    for (const [m, p, b, t] of [
      ['POST', '/api/bots', JSON.stringify({ id: 'shop', name: 'Магазин' })],
      ['POST', '/api/import?bot=shop', flowYaml, 'application/yaml'],
      ['POST', '/api/bots/shop/flows/shop/publish', '{}'],
      ['PUT', '/api/bots/shop', JSON.stringify({ flow_id: 'shop' })],
    ]) {
      const r = await api(m, p, b, t);
      assert.ok(r.status < 300, `${m} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    }
  });

  await step('WhatsApp form: the webhook URL and a verify token to paste into Meta', async () => {
    await page.goto(`${server.url}/app/#/bots/shop`);
    await page.reload(); // the bots list was read before the API made the bot
    await page.click('[data-action=pick-whatsapp]');
    await page.waitForSelector('[data-testid=connect-whatsapp]');
    callback = await page.locator('[data-testid=connect-whatsapp] [data-testid=callback-url]').innerText();
    assert.equal(callback, `${server.url}/whatsapp/shop`);
    verify = await page.locator('[data-field=whatsapp-verify_token]').inputValue();
    assert.match(verify, /^[A-Za-z0-9_-]{16,}$/);
    // Missing fields are named before anything is sent.
    await page.click('[data-action=connect-whatsapp]');
    await page.waitForSelector('[data-testid=messenger-error]:has-text("ID номера телефона")');
  });

  await step('connect: the number is checked with the Cloud API and shown', async () => {
    await page.fill('[data-field=whatsapp-phone_number_id]', creds.phone_number_id);
    await page.fill('[data-field=whatsapp-token]', creds.token);
    await page.fill('[data-field=whatsapp-app_secret]', creds.app_secret);
    await page.fill('[data-field=whatsapp-api_url]', fakeURL);
    await page.click('[data-action=connect-whatsapp]');
    await page.waitForSelector('[data-channel=whatsapp] [data-testid=channel-state]');
    const card = await page.locator('[data-channel=whatsapp]').innerText();
    assert.match(card, /Voronka Test/);
    assert.ok(!card.includes(creds.token), 'the page does not show the whole token');
    assert.ok(card.includes(verify), 'the card keeps the verify token to paste');
    assert.ok(card.includes(callback), 'the card keeps the webhook URL');
  });

  await step("Meta's check passes with the verify token; a message gets the funnel with reply buttons", async () => {
    await fakeCall('POST', 'webhook', { url: callback, verify_token: verify });
    await fakeCall('POST', 'message', { from: '79990001122', name: 'Иван', text: 'Привет' });
    const got = await fakeCall('GET', 'sent/wait?to=79990001122&n=2&timeout=20s');
    assert.equal(got[0].text, 'Здравствуйте!');
    assert.equal(got[1].type, 'interactive');
    assert.deepEqual(got[1].buttons.map((b) => b.title), ['Цены', 'Доставка']);
    await fakeCall('POST', 'press', { from: '79990001122', title: 'Доставка' });
    const after = await fakeCall('GET', 'sent/wait?to=79990001122&n=3&timeout=20s');
    assert.equal(after[2].text, 'Доставим завтра');
    await page.reload();
    await page.waitForSelector('[data-channel=whatsapp][data-state=connected]');
  });

  await step('a broadcast: someone silent for over 24 hours is skipped without a WhatsApp template', async () => {
    // Пётр's message is dated 25 hours back (WhatsApp delivers late and
    // keeps the message's time): his free-form window has closed.
    await fakeCall('POST', 'message', { from: '79990003344', name: 'Пётр', text: 'Привет', ago_seconds: 25 * 3600 });
    for (let i = 0; ; i++) {
      const r = await api('POST', '/api/bots/shop/segments/count', '{}');
      if (r.body?.members === 2) break;
      assert.ok(i < 200, `the second contact never arrived: ${JSON.stringify(r.body)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    await page.click('nav.appnav a[data-nav="/broadcasts"]');
    await page.waitForSelector('[data-bc=compose]');
    await page.selectOption('[data-bc=bot]', 'shop');
    await page.fill('[data-bc=name]', 'Новинки');
    await page.fill('[data-bc=text-0]', 'Новинки недели для {{ contact.first_name }}');
    await page.click('[data-bc=send]');
    await page.waitForSelector('[data-bc=view] [data-bc-status=done]', { timeout: 60000 });
    assert.equal(await page.locator('[data-bc=progress]').getAttribute('data-sent'), '1');
    assert.match(await page.textContent('[data-bc=skipped]'), /WhatsApp: прошло 24 часа, нет шаблона — 1/);
    const ivan = await fakeCall('GET', 'sent/wait?to=79990001122&n=4&timeout=20s');
    assert.equal(ivan[3].text, 'Новинки недели для Иван');
    assert.ok(ivan[3].buttons.some((b) => b.title === 'Отписаться'), 'the broadcast carries its unsubscribe button');
    assert.equal((await fakeCall('GET', 'sent?to=79990003344')).length, 0, 'nothing free-form went to Пётр');
  });

  await step('with a WhatsApp template in the form, he gets the template with his name', async () => {
    await page.click('a:text("+ Новая рассылка")');
    await page.fill('[data-bc=name]', 'Новинки с шаблоном');
    await page.fill('[data-bc=text-0]', 'Новинки недели для {{ contact.first_name }}');
    await page.fill('[data-bc=template-name]', 'weekly_news');
    await page.click('[data-bc=send]');
    // A template without its language is named by the server.
    await page.waitForSelector('.bc-problems [data-problem="template.language"]:has-text("Язык шаблона")');
    await page.fill('[data-bc=template-language]', 'ru');
    await page.fill('[data-bc=template-params]', '{{ contact.first_name }}\nнеделя 49');
    await page.click('[data-bc=send]');
    await page.waitForSelector('[data-bc=view] [data-bc=template]:has-text("weekly_news (ru)")');
    await page.waitForSelector('[data-bc=view] [data-bc-status=done]', { timeout: 60000 });
    assert.equal(await page.locator('[data-bc=progress]').getAttribute('data-sent'), '2');
    const petr = await fakeCall('GET', 'sent/wait?to=79990003344&n=1&timeout=20s');
    assert.equal(petr[0].type, 'template');
    assert.deepEqual(petr[0].template, { name: 'weekly_news', language: 'ru', params: ['Пётр', 'неделя 49'] });
    const ivan = await fakeCall('GET', 'sent/wait?to=79990001122&n=5&timeout=20s');
    assert.equal(ivan[4].type, 'interactive', 'inside the window the message itself goes');
    await page.click('nav.appnav [data-action=lang]');
    await page.waitForSelector('[data-bc=view] [data-bc=template]:has-text("WhatsApp template: weekly_news (ru)")');
    await page.click('nav.appnav [data-action=lang]');
  });

  await step('no page errors', async () => {
    assert.deepEqual(pageErrors, []);
  });
} finally {
  await browser.close();
  await server.stop();
  fake.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
s.done();
