// Browser story of "Bots and channels" (issue 13), from an empty store: a
// marketer creates a bot, imports and publishes a funnel in the builder,
// makes it the bot's funnel beside Publish, connects Telegram (against the
// fake Bot API, cmd/tgfake) by pasting its token; a customer's /start gets
// the greeting without a restart; v2 reaches a new chat while a chat in
// the middle of v1 stays on v1; the deep link's payload is on the contact;
// the Share panel builds the links; the hosted page chats; removing the
// channel stops it.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { admin, launchBrowser, requireChromium, root, startServer, stories } from './lib.mjs';

requireChromium('bots e2e');
const s = stories('bots');
const { step, pageErrors, shots } = s;
for (const f of fs.readdirSync(shots)) if (f.endsWith('.png')) fs.rmSync(path.join(shots, f));

// The fake Telegram, as its own process (what a tester runs by hand).
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'voronka-bots-e2e-'));
const fakeBin = path.join(tmp, 'tgfake');
execFileSync('go', ['build', '-o', fakeBin, './cmd/tgfake'], { cwd: root, stdio: 'inherit' });
const token = '7654321:E2E-bots-token';
const fake = spawn(fakeBin, ['-addr', '127.0.0.1:0', '-token', token, '-username', 'e2e_coffee_bot', '-realistic-limits=false'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const fakeURL = await new Promise((resolve, reject) => {
  readline.createInterface({ input: fake.stdout }).once('line', (l) => resolve(l.trim()));
  fake.once('exit', (code) => reject(new Error(`tgfake exited: ${code}`)));
});
const emptyFlows = fs.mkdtempSync(path.join(tmp, 'flows-'));
const server = await startServer({ env: { VORONKA_FLOWS: emptyFlows, VORONKA_TELEGRAM_API: `${fakeURL}/bot%s/%s` } });

async function fakeCall(method, route, body) {
  const r = await fetch(`${fakeURL}/_fake/${route}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`fake ${route}: ${r.status} ${await r.text()}`);
  return (await r.json()).result; // the fake answers as the Bot API does: {ok, result}
}
const say = (user, text) => fakeCall('POST', 'message', { user_id: user, text });
const sent = (chat, n) => fakeCall('GET', `sent/wait?chat_id=${chat}&n=${n}&timeout=20s`);

const flowYaml = (v) =>
  [
    'voronka: 1',
    'id: greet',
    'name: Приветствие',
    'vars:',
    '  name: string',
    'start: hello',
    'nodes:',
    `  hello: {type: message, text: "Привет ${v}", next: ask}`,
    '  ask: {type: question, text: "Как вас зовут?", save: name, next: bye}',
    `  bye: {type: end, text: "Пока, {{ name }} (${v})"}`,
    '',
  ].join('\n');

const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
s.watch(page);
page.on('console', (m) => {
  if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
});
page.setDefaultTimeout(20000);

const api = (p, init) => page.evaluate(async ([p, init]) => {
  const r = await fetch(p, init);
  return { status: r.status, body: await r.json().catch(() => null) };
}, [p, init]);
const saved = () => page.waitForSelector('[data-testid=save-state][data-state=saved]');
/** write calls the API from the signed-in page with its CSRF token. */
const write = (method, p, body) =>
  page.evaluate(
    async ([method, p, body]) => {
      const csrf = (await (await fetch('/api/session')).json()).csrf;
      const r = await fetch(p, { method, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify(body) });
      return { status: r.status, body: await r.json().catch(() => null) };
    },
    [method, p, body],
  );

try {
  await step('an empty store: sign in, no bots yet', async () => {
    await page.goto(`${server.url}/app/#/bots`);
    await page.fill('input[name=login]', admin.login);
    await page.fill('input[name=password]', admin.password);
    await page.click('[data-testid=signin] button[type=submit]');
    await page.waitForSelector('[data-testid=bots-page]');
    await page.waitForSelector('text=Ботов пока нет');
    assert.match(await page.locator('nav').innerText(), /Боты и каналы/);
  });

  await step('create a bot: it comes with a web chat', async () => {
    await page.fill('[data-field=bot-id]', 'bad id');
    await page.click('[data-action=create-bot]');
    await page.waitForSelector('[data-testid=bots-error]:has-text("Идентификатор")');
    await page.fill('[data-field=bot-id]', 'coffee');
    await page.fill('[data-field=bot-name]', 'Кофейня');
    await page.click('[data-action=create-bot]');
    await page.waitForSelector('[data-testid=bot-detail][data-bot=coffee]');
    await page.waitForSelector('[data-channel=web][data-state=connected]');
    assert.match(await page.locator('[data-bot=coffee] b').first().innerText(), /Кофейня/);
  });

  await step('import and publish a funnel in the builder, make it the bot\'s funnel beside Publish', async () => {
    await page.goto(`${server.url}/app/#/flows/coffee`);
    await page.click('[data-action=import]');
    await page.fill('[data-testid=yaml]', flowYaml('v1'));
    await page.click('[data-action=do-import]');
    await page.waitForFunction(() => location.hash.endsWith('/greet'));
    await saved();
    await page.click('[data-action=publish]');
    await page.waitForSelector('[data-testid=message]:has-text("v1")');
    await page.click('[data-action=make-bot-flow]');
    await page.waitForSelector('[data-testid=bot-flow]');
    const b = await api('/api/bots/coffee');
    assert.equal(b.body.flow_id, 'greet');
  });

  await step('connect Telegram by pasting the token: a wrong one is refused, the right one shows @username', async () => {
    await page.goto(`${server.url}/app/#/bots/coffee`);
    await page.waitForSelector('[data-testid=connect-telegram]');
    assert.equal(await page.locator('[data-field=entry-flow]').inputValue(), 'greet');
    await page.fill('[data-field=telegram-token]', '7654321:not-the-token');
    await page.click('[data-action=connect-telegram]');
    await page.waitForSelector('[data-testid=bots-error]:has-text("Telegram не принял токен")');
    await page.fill('[data-field=telegram-token]', token);
    await page.click('[data-action=connect-telegram]');
    await page.waitForSelector('[data-channel=telegram] [data-testid=channel-account]:has-text("@e2e_coffee_bot")');
    await page.waitForSelector('[data-channel=telegram][data-state=connected]', { timeout: 30000 });
    const card = await page.locator('[data-channel=telegram]').innerText();
    assert.ok(!card.includes(token), 'the page does not show the whole token');
    assert.match(card, /опрос/);
  });

  await step("a customer's /start with a deep-link payload gets the greeting, without a restart", async () => {
    await say(501, '/start ad_autumn');
    const got = await sent(501, 2);
    assert.deepEqual(got.map((m) => m.text), ['Привет v1', 'Как вас зовут?']);
  });

  await step('v2 goes to a new chat while the chat in the middle of v1 continues on v1', async () => {
    await page.goto(`${server.url}/app/#/flows/coffee/greet`);
    await page.waitForSelector('[data-testid=bot-flow]');
    await page.click('[data-action=import]');
    await page.fill('[data-testid=yaml]', flowYaml('v2'));
    await page.click('[data-action=do-import]');
    await saved();
    await page.click('[data-action=publish]');
    await page.waitForSelector('[data-testid=message]:has-text("v2")');
    await say(502, '/start');
    assert.equal((await sent(502, 1))[0].text, 'Привет v2');
    await say(501, 'Анна');
    assert.equal((await sent(501, 3))[2].text, 'Пока, Анна (v1)');
  });

  await step('the deep-link payload is on the contact', async () => {
    const c = await api('/api/conversations/coffee:telegram:501');
    assert.equal(c.status, 200);
    assert.equal(c.body.conversation.contact.source, 'ad_autumn');
    assert.equal((await api('/api/conversations/coffee:telegram:502')).body.conversation.contact.source, undefined);
  });

  await step('the channel shows its last update; the Share panel builds the snippet and a Telegram link with a source', async () => {
    await page.goto(`${server.url}/app/#/bots/coffee`);
    await page.waitForSelector('[data-channel=telegram][data-state=connected]');
    assert.doesNotMatch(await page.locator('[data-channel=telegram] [data-testid=channel-last-update]').innerText(), /ещё не было/);
    await page.fill('[data-field=web-title]', 'Кофейня на углу');
    await page.fill('[data-field=web-greeting]', 'Спросите про зёрна!');
    await page.click('[data-action=save-look]');
    await page.waitForSelector('[data-testid=bots-notice]');
    await page.fill('[data-field=share-source]', 'insta_bio');
    assert.equal(await page.locator('[data-testid=telegram-link]').getAttribute('href'), 'https://t.me/e2e_coffee_bot?start=insta_bio');
    const snippet = await page.locator('[data-testid=embed-snippet]').inputValue();
    assert.match(snippet, /data-bot="coffee"/);
    assert.match(snippet, /data-title="Кофейня на углу"/);
    assert.match(snippet, /data-source="insta_bio"/);
    assert.match(await page.locator('[data-testid=hosted-link]').innerText(), /\/c\/coffee\?source=insta_bio$/);
    // The live preview shows the look being edited, and starts no conversation.
    const frame = page.frameLocator('[data-testid=share-preview]');
    await frame.locator('text=Спросите про зёрна!').waitFor();
    await frame.locator('text=Кофейня на углу').waitFor();
  });

  await step('the hosted page chats, and keeps its source on the contact', async () => {
    const p = await browser.newPage();
    await p.goto(`${server.url}/c/coffee?source=insta_bio&utm_source=instagram`);
    await p.locator('text=Привет v2').waitFor({ timeout: 20000 });
    await p.locator('text=Спросите про зёрна!').waitFor();
    await p.screenshot({ path: path.join(shots, 'hosted-page.png') });
    await p.close();
    const inbox = await api('/api/bots/coffee/conversations');
    const web = (inbox.body?.conversations ?? []).find((c) => c.channel === 'web');
    assert.ok(web, `the hosted page's conversation is in the list: ${JSON.stringify(inbox)}`);
    assert.equal(web.contact.source, 'insta_bio');
    assert.equal(web.contact.utm.utm_source, 'instagram');
  });

  await step('settings: working hours and English one click away', async () => {
    await page.check('[data-field=hours-on]');
    await page.fill('[data-day=mon] input.time >> nth=0', '9:00');
    assert.ok(await page.locator('[data-action=save-settings]').isDisabled(), 'a malformed time blocks saving');
    await page.fill('[data-day=mon] input.time >> nth=0', '10:00');
    await page.fill('[data-field=time-zone]', 'Europe/Moscow');
    await page.click('[data-action=save-settings]');
    await page.waitForSelector('[data-testid=bots-notice]:has-text("Сохранено")');
    const b = await api('/api/bots/coffee');
    assert.deepEqual(b.body.settings.working_hours.mon, [{ start: '10:00', end: '18:00' }]);
    assert.equal(b.body.settings.working_hours.sat, undefined);
    assert.equal(b.body.settings.time_zone, 'Europe/Moscow');
    await page.click('[data-action=lang]');
    await page.waitForSelector('[data-action=save-settings]:has-text("Save settings")');
    assert.match(await page.locator('[data-testid=bot-channels] h3').innerText(), /Channels/);
    await page.click('[data-action=lang]');
    await page.waitForSelector('[data-action=save-settings]:has-text("Сохранить настройки")');
  });

  await step("an operator's reply on Telegram carries their name; the switch on the Telegram card turns it off", async () => {
    const me = (await api('/api/session')).body.user;
    const name = me.name || me.login;
    const sw = page.locator('[data-channel=telegram] [data-field=operator-names]');
    assert.ok(await sw.isChecked(), 'names are on by default');
    assert.equal(await page.locator('[data-testid=connect-telegram] [data-field=telegram-operator_names]').count(), 0, 'the switch is no text field');
    assert.equal((await write('POST', '/api/conversations/coffee:telegram:502/messages', { text: 'Здравствуйте, подскажу с зёрнами' })).status, 201);
    assert.equal((await sent(502, 3))[2].text, `${name}:\nЗдравствуйте, подскажу с зёрнами`);
    await sw.click(); // the switch follows the saved setting, not the click
    await page.waitForSelector('[data-testid=bots-notice]:has-text("от имени бота")');
    await page.waitForSelector('[data-channel=telegram] [data-field=operator-names]:not(:checked)');
    await page.waitForSelector('[data-channel=telegram][data-state=connected]', { timeout: 30000 });
    assert.ok(!(await sw.isChecked()));
    const tg = (await api('/api/bots/coffee/channels')).body.channels.find((c) => c.type === 'telegram');
    assert.equal(tg.settings.operator_names, 'off');
    assert.equal((await write('POST', '/api/conversations/coffee:telegram:502/messages', { text: 'Есть эфиопия и кения' })).status, 201);
    assert.equal((await sent(502, 4))[3].text, 'Есть эфиопия и кения');
  });

  await step('a settings form left open while someone else changes the bot says so instead of overwriting', async () => {
    const before = (await api('/api/bots/coffee')).body;
    // Someone renames the bot in another tab; this page still shows the old revision.
    const other = await write('PUT', '/api/bots/coffee', { name: 'Кофейня на Невском' });
    assert.equal(other.body.rev, before.rev + 1);
    await page.fill('[data-field=time-zone]', 'Asia/Yekaterinburg');
    await page.click('[data-action=save-settings]');
    await page.waitForSelector('[data-testid=bots-error]:has-text("изменил кто-то другой")');
    let b = (await api('/api/bots/coffee')).body;
    assert.equal(b.settings.time_zone, 'Europe/Moscow', 'the stale form changed nothing');
    assert.equal(b.name, 'Кофейня на Невском');
    // Reloaded, the same change saves, and the rename stays.
    await page.reload();
    await page.waitForSelector('[data-testid=bot-settings]');
    await page.fill('[data-field=time-zone]', 'Asia/Yekaterinburg');
    await page.click('[data-action=save-settings]');
    await page.waitForSelector('[data-testid=bots-notice]:has-text("Сохранено")');
    b = (await api('/api/bots/coffee')).body;
    assert.equal(b.settings.time_zone, 'Asia/Yekaterinburg');
    assert.equal(b.name, 'Кофейня на Невском');
  });

  await step('removing the Telegram channel deletes it', async () => {
    page.once('dialog', (d) => d.accept());
    await page.click('[data-channel=telegram] [data-action=remove-channel]');
    await page.waitForSelector('[data-channel=telegram]', { state: 'detached' });
    await page.waitForSelector('[data-testid=connect-telegram]');
    const chs = await api('/api/bots/coffee/channels');
    assert.deepEqual(chs.body.channels.map((c) => c.type), ['web']);
  });

  assert.deepEqual(pageErrors, [], 'no errors in the page');
} catch (e) {
  s.failed++;
  console.log(`FAIL ${e?.stack ?? e}`);
} finally {
  await browser.close();
  if (s.failed) console.log(server.logText().slice(-4000));
  await server.stop();
  fake.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
s.done();
