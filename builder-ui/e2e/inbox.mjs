// End-to-end story of the operator inbox in the machine's Chromium, against
// a real `voronka serve`, with no page reloads: a web chat customer (the demo
// page's widget, bot "demo": the coffee quiz) asks for a person; an operator
// signed in on another page is told (notification), sees the chat arrive,
// opens it, replies with a canned reply picked with "/", the customer gets
// the reply; a note stays private; the operator edits the lead card, resolves
// with a rating question, and the customer's rating shows. A second customer
// is handed back to the bot, which goes on at the handoff's resume node. Then
// the same inbox on a phone-sized screen, in English, and a marketer who has
// no inbox. Screenshots go to artifacts/screenshots/inbox.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { admin, launchBrowser, requireChromium, root, startServer } from './lib.mjs';

requireChromium('inbox e2e');
const shots = path.join(root, 'artifacts/screenshots/inbox');
fs.rmSync(shots, { recursive: true, force: true });
fs.mkdirSync(shots, { recursive: true });

const server = await startServer();
const browser = await launchBrowser();
const pageErrors = [];
let passed = 0;
let failed = 0;
let shotPage;
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
    await shotPage?.screenshot({ path: path.join(shots, file) }).catch(() => {});
  }
}

async function newPage(opts = {}) {
  const ctx = await browser.newContext({ timezoneId: 'Europe/Moscow', locale: 'ru-RU', viewport: { width: 1440, height: 900 }, ...opts });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  p.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text());
  });
  p.setDefaultTimeout(15000);
  return p;
}

async function signIn(p, login, password) {
  await p.goto(`${server.url}/app/`);
  await p.fill('input[name=login]', login);
  await p.fill('input[name=password]', password);
  await p.click('[data-testid=signin] button[type=submit]');
}

/** api calls the API from a signed-in page, with its CSRF token. */
function api(p, method, url, body) {
  return p.evaluate(
    async ([method, url, body]) => {
      const csrf = (await (await fetch('/api/session')).json()).csrf;
      const r = await fetch(url, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: await r.json().catch(() => null) };
    },
    [method, url, body],
  );
}

// The widget (Playwright's CSS selectors pierce its open shadow root).
const W = '[data-voronka-widget]';
const botSays = (p, text) => p.locator(`${W} .msg.bot`, { hasText: text });
/** customer opens the demo page, asks for a person and writes `text` while waiting. */
async function customer(text) {
  const p = await newPage({ viewport: { width: 1000, height: 800 } });
  await p.goto(`${server.url}/`);
  await p.waitForFunction(() => window.Voronka);
  await botSays(p, 'Ответьте на 3 вопроса').waitFor();
  await p.locator(`${W} .person`).click();
  await botSays(p, 'Зову бариста').waitFor();
  await say(p, text);
  return p;
}
async function say(p, text) {
  await p.locator(`${W} textarea`).fill(text);
  await p.locator(`${W} textarea`).press('Enter');
}

const operator = { login: 'olga', password: 'olga-password-1', name: 'Ольга' };
const row = (p, text) => p.locator('.ibx-row', { hasText: text });
const line = (p, dir, text) => p.locator(`[data-testid=transcript] [data-dir=${dir}]`, { hasText: text });

let adminPage;
let op;
let anna;
let boris;
try {
  await step('an admin gives an operator the support queue on the users page and adds a canned reply', async () => {
    adminPage = shotPage = await newPage();
    await signIn(adminPage, admin.login, admin.password);
    await adminPage.waitForSelector('.appnav');
    await adminPage.click('.appnav a[data-nav="/users"]');
    await adminPage.fill('[data-field=new-login]', operator.login);
    await adminPage.fill('[data-field=new-name]', operator.name);
    await adminPage.selectOption('[data-field=new-role]', 'operator');
    await adminPage.fill('[data-field=new-queues]', 'support');
    await adminPage.fill('[data-field=new-capacity]', '3');
    await adminPage.fill('[data-field=new-password-add]', operator.password);
    await adminPage.click('[data-action=add-user]');
    const olga = adminPage.locator(`[data-testid=users-table] tr[data-login=${operator.login}]`);
    await olga.waitFor();
    assert.equal(await olga.locator('[data-field=queues]').inputValue(), 'support');
    assert.equal(await olga.locator('[data-field=capacity]').inputValue(), '3');
    // Capacity changed in place: saved on Enter.
    await olga.locator('[data-field=capacity]').fill('5');
    await olga.locator('[data-field=capacity]').press('Enter');
    await adminPage.waitForSelector('[data-testid=users-notice]:has-text("olga")');
    const users = (await api(adminPage, 'GET', '/api/users')).body.users;
    assert.deepEqual(
      users.filter((u) => u.login === 'olga').map((u) => [u.queues, u.capacity]),
      [[['support'], 5]],
    );
    // The canned replies page.
    await adminPage.click('.appnav a[data-nav="/canned"]');
    await adminPage.selectOption('[data-field=canned-bot]', 'demo');
    await adminPage.fill('[data-testid=canned-add] [data-field=canned-shortcut]', 'milk');
    await adminPage.fill('[data-testid=canned-add] [data-field=canned-title]', 'Молоко');
    await adminPage.fill('[data-testid=canned-add] [data-field=canned-text]', 'Да, {{ contact.first_name }}, есть овсяное и кокосовое молоко. Баллы квиза: {{ score }}.');
    await adminPage.click('[data-action=canned-add]');
    await adminPage.locator('.canned-item[data-shortcut=milk]').waitFor();
  });

  await step('an operator who signs in lands on the inbox', async () => {
    op = shotPage = await newPage();
    await op.addInitScript(() => {
      // Record notifications and chimes instead of showing and playing them.
      window.__notes = [];
      window.Notification = class {
        static permission = 'granted';
        static requestPermission() {
          return Promise.resolve('granted');
        }
        constructor(title, opts) {
          window.__notes.push({ title, body: opts?.body ?? '' });
        }
        close() {}
      };
    });
    await signIn(op, operator.login, operator.password);
    await op.waitForSelector('[data-testid=inbox]');
    assert.match(op.url(), /#\/inbox$/);
    assert.deepEqual(await op.locator('.appnav a').evaluateAll((as) => as.map((a) => a.getAttribute('data-nav'))), ['/inbox', '/canned']);
    await op.waitForSelector('[data-view=mine][aria-selected=true]');
  });

  await step('a web chat customer asks for a person; the chat appears for the operator, with a notification', async () => {
    anna = shotPage = await customer('Здравствуйте, я Анна');
    shotPage = op;
    // The operator is online with capacity: auto-assignment gives it to her.
    const r = row(op, 'я Анна');
    await r.waitFor();
    assert.ok(await r.locator('.ibx-chip', { hasText: 'support' }).count(), 'the queue is shown');
    await r.locator('[data-testid=unread]').waitFor();
    // The tab counts follow: one chat of mine, unread.
    await op.locator('[data-view=mine] .ibx-count', { hasText: /^1$/ }).waitFor();
    await op.locator('[data-testid=unread-mine]').waitFor();
    assert.match(await r.locator('.ibx-wait').textContent(), /ждёт/);
    await op.waitForFunction(() => window.__notes.length > 0);
    const notes = await op.evaluate(() => window.__notes);
    assert.match(notes[0].title, /Вам назначен чат|Клиент ждёт/);
  });

  await step('the operator opens it: transcript, lead card with the handoff note, and the customer writes in real time', async () => {
    await row(op, 'я Анна').click();
    await op.waitForSelector('[data-testid=chat]');
    assert.match(op.url(), /#\/inbox\/demo/);
    await line(op, 'in', 'Здравствуйте, я Анна').waitFor();
    await line(op, 'bot', 'Зову бариста').waitFor();
    await op.locator('[data-testid=card-note]', { hasText: 'Вопрос с сайта, баллы квиза' }).waitFor();
    await op.locator('[data-testid=card-bot-transcript]', { hasText: 'Ответьте на 3 вопроса' }).count();
    await say(anna, 'А есть овсяное молоко?');
    await line(op, 'in', 'А есть овсяное молоко?').waitFor();
  });

  await step('a canned reply picked with "/" goes to the customer, and shows as sent', async () => {
    const box = op.locator('[data-field=composer]');
    await box.click();
    await box.pressSequentially('/mi');
    await op.locator('[data-testid=canned-picker] [data-shortcut=milk]').waitFor();
    // The preview is the reply rendered for this chat.
    await op.locator('[data-testid=canned-picker] .ibx-canned-preview', { hasText: 'есть овсяное и кокосовое молоко' }).waitFor();
    await box.press('Enter');
    await op.waitForFunction(() => document.querySelector('[data-field=composer]').value.startsWith('Да, '));
    const text = await box.inputValue();
    assert.doesNotMatch(text, /\{\{/, 'the template is filled in');
    await box.press('Enter');
    await line(op, 'operator', 'есть овсяное').locator('[data-delivery=sent]').waitFor();
    shotPage = anna;
    await botSays(anna, 'есть овсяное и кокосовое молоко').waitFor();
    shotPage = op;
  });

  await step('a note stays private; tags and variables are edited on the card', async () => {
    await op.click('[data-action=mode-note]');
    await op.fill('[data-field=composer]', 'Постоянная клиентка, предложить абонемент');
    await op.click('[data-action=send]');
    await line(op, 'note', 'Постоянная клиентка').waitFor();
    await op.fill('[data-field=new-tag]', 'oat');
    await op.press('[data-field=new-tag]', 'Enter');
    await op.locator('[data-testid=card-tags] [data-tag=oat]').waitFor();
    const email = op.locator('[data-testid=card-vars] [data-var=email] input');
    await email.fill('anna@example.ru');
    await email.press('Enter');
    await op.locator('[data-testid=card-vars] [data-var=email] .ok').waitFor();
    const conv = (await api(op, 'GET', `/api/conversations/${decodeURIComponent(op.url().split('/inbox/')[1])}/card`)).body;
    assert.deepEqual(conv.tags.includes('oat'), true);
    assert.equal(conv.vars.email, 'anna@example.ru');
    await anna.waitForTimeout(300);
    assert.equal(await botSays(anna, 'Постоянная клиентка').count(), 0, 'the customer never sees a note');
  });

  await step('resolve with a rating question; the customer answers 5 and the operator sees it', async () => {
    await op.click('[data-action=resolve]');
    assert.ok(await op.locator('[data-field=csat]').isChecked(), 'asking for a rating is the default');
    await op.click('[data-action=resolve-do]');
    shotPage = anna;
    const q = botSays(anna, 'оцените наш разговор');
    await q.waitFor();
    await anna.locator(`${W} .group`, { has: anna.locator('.msg.bot', { hasText: 'оцените наш разговор' }) }).getByRole('button', { name: '5' }).click();
    shotPage = op;
    await op.locator('[data-testid=transcript] [data-event=csat]', { hasText: '5 из 5' }).waitFor();
    // Resolved chats leave the open list.
    await row(op, 'молоко').waitFor({ state: 'detached' });
  });

  await step('a second customer is handed back to the bot, which goes on at the resume node', async () => {
    boris = await customer('Здравствуйте, я Борис');
    shotPage = op;
    await row(op, 'я Борис').click();
    await line(op, 'in', 'Здравствуйте, я Борис').waitFor();
    await op.click('[data-action=handback]');
    // The picker says what each node says; the handoff's resume node is the default.
    await op.locator('[data-testid=handback-pop] .ibx-node.on[data-node=intro]').waitFor();
    await op.fill('[data-field=node-filter]', 'пьёте');
    assert.deepEqual(await op.locator('[data-testid=handback-pop] .ibx-node').evaluateAll((ns) => ns.map((n) => n.dataset.node)), ['q_milk']);
    await op.fill('[data-field=node-filter]', '');
    const greetings = line(op, 'bot', 'Ответьте на 3 вопроса');
    const before = await greetings.count();
    await op.click('[data-action=handback-do]');
    shotPage = boris;
    await boris.waitForFunction(
      () => [...document.querySelector('[data-voronka-widget]').shadowRoot.querySelectorAll('.msg.bot')].filter((m) => m.textContent.includes('Ответьте на 3 вопроса')).length >= 2,
    );
    shotPage = op;
    await op.locator('[data-testid=transcript] [data-event=handback]').waitFor();
    // The bot's resume message comes live while the chat is already closed,
    // and still reaches "sent" (it used to stay "отправляется").
    await greetings.nth(before).waitFor();
    await greetings.nth(before).locator('[data-delivery=sent]').waitFor();
    await op.waitForFunction(() => !document.querySelector('[data-testid=transcript] [data-delivery=pending]'));
  });

  await step('a chat transferred to another operator appears on their open page at once', async () => {
    assert.equal((await api(adminPage, 'POST', '/api/users', { login: 'petr', name: 'Пётр', role: 'operator', password: 'petr-password-1', queues: ['support'] })).status, 201);
    const petr = (shotPage = await newPage());
    await petr.addInitScript(() => {
      window.__notes = [];
      window.Notification = class {
        static permission = 'granted';
        constructor(title, opts) {
          window.__notes.push({ title, body: opts?.body ?? '' });
        }
        close() {}
      };
    });
    await signIn(petr, 'petr', 'petr-password-1');
    await petr.waitForSelector('[data-testid=inbox]');
    const vera = await customer('Здравствуйте, я Вера');
    // Auto-assignment gives it to one of the two online operators; whoever has it passes it on.
    const [from, to, toName] = await Promise.race([
      row(op, 'я Вера').waitFor().then(() => [op, petr, 'Пётр']),
      row(petr, 'я Вера').waitFor().then(() => [petr, op, 'Ольга']),
    ]);
    shotPage = from;
    await row(from, 'я Вера').click();
    await from.click('[data-action=transfer]');
    await from.locator('[data-testid=transfer-pop] [data-queue=support]').waitFor();
    await from.click(`[data-testid=transfer-pop] [data-user=${toName === 'Пётр' ? 'petr' : 'olga'}]`);
    await from.locator('[data-testid=chat-state]', { hasText: toName }).waitFor();
    await row(from, 'я Вера').waitFor({ state: 'detached' });
    shotPage = to;
    await row(to, 'я Вера').waitFor();
    await to.waitForFunction(() => window.__notes.some((n) => /назначен/.test(n.title)));
    await from.click('[data-action=back-to-list]').catch(() => {});
    await vera.context().close();
    await petr.context().close();
  });

  await step('on a phone the list and the chat are one pane at a time; English one click away', async () => {
    const phone = (shotPage = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }));
    await signIn(phone, operator.login, operator.password);
    await phone.waitForSelector('[data-testid=inbox][data-pane=list]');
    await phone.click('[data-view=all]');
    await phone.selectOption('[data-field=status]', 'all');
    await phone.locator('.ibx-row').first().tap();
    await phone.waitForSelector('[data-testid=inbox][data-pane=chat]');
    assert.equal(await phone.locator('.ibx-side').isVisible(), false, 'the list is hidden behind the chat');
    await phone.locator('[data-testid=transcript] .ibx-msg').first().waitFor();
    await phone.click('[data-action=back-to-list]');
    await phone.waitForSelector('[data-testid=inbox][data-pane=list]');
    await phone.click('[data-action=lang]');
    await phone.waitForSelector('[data-view=mine]:has-text("Mine")');
    assert.equal(await phone.locator('[data-field=search]').getAttribute('placeholder'), 'Name, phone or text');
  });

  await step('search finds chats by their last message, and says when nothing matches', async () => {
    shotPage = op;
    await op.click('[data-view=all]');
    await op.selectOption('[data-field=status]', 'all');
    await op.waitForFunction(() => document.querySelectorAll('.ibx-row').length === 3);
    // Борис was handed back: the bot's greeting is his last line.
    await op.fill('[data-field=search]', 'ответьте на 3');
    await op.waitForFunction(() => document.querySelectorAll('.ibx-row').length === 1);
    assert.match(await op.locator('.ibx-row .ibx-last').textContent(), /Ответьте на 3 вопроса/);
    await op.fill('[data-field=search]', 'никто такого не писал');
    await op.waitForSelector('.ibx-empty');
    await op.fill('[data-field=search]', '');
    await op.waitForFunction(() => document.querySelectorAll('.ibx-row').length === 3);
  });

  await step('the inbox rides out a server restart: it says so, reconnects and shows new chats, with no reload', async () => {
    shotPage = op;
    await op.evaluate(() => (window.__sameDocument = true));
    await server.restart();
    await op.waitForSelector('[data-testid=inbox-offline]');
    await op.waitForSelector('[data-testid=inbox-offline]', { state: 'detached', timeout: 30000 });
    await customer('После перезапуска, я Глеб');
    await row(op, 'я Глеб').waitFor();
    assert.equal(await op.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
  });

  await step('a marketer has no inbox', async () => {
    await api(adminPage, 'POST', '/api/users', { login: 'mira', role: 'marketer', password: 'mira-password-1' });
    const m = (shotPage = await newPage());
    await signIn(m, 'mira', 'mira-password-1');
    await m.waitForSelector('.appnav');
    assert.equal(await m.locator('.appnav a[data-nav="/inbox"]').count(), 0);
    await m.goto(`${server.url}/app/#/inbox`);
    await m.waitForFunction(() => !location.hash.startsWith('#/inbox'));
    assert.equal((await api(m, 'GET', '/api/inbox')).status, 403);
  });

  assert.deepEqual(pageErrors, [], 'no errors in the pages');
} catch (e) {
  failed++;
  console.log(`FAIL ${e?.stack ?? e}`);
} finally {
  await browser.close();
  if (failed) console.log(server.logText().slice(-4000));
  await server.stop();
}
console.log(`inbox e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
