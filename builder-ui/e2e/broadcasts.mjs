// End-to-end test of broadcasts in the machine's Chromium, against a real
// `voronka serve` and the fake Telegram (cmd/tgfake): twelve people start the
// bot, ten press «Хочу купить» (tagged buyer), one of them says «стоп»; a
// marketer makes a segment of buyers and sees its live count, composes a
// broadcast to it, sends it, pauses and resumes it, watches the progress to
// the end, and the fake shows that each consenting member got it once and
// nobody else got it. Screenshots go to artifacts/screenshots/broadcasts.
import assert from 'node:assert/strict';
import { launchBrowser, requireChromium, signIn, startServer, startTgFake, stories } from './lib.mjs';

requireChromium('broadcasts e2e');
const s = stories('broadcasts');
const { step, pageErrors } = s;
const token = '123456789:E2E-broadcasts';
const tg = await startTgFake(token);
const { fake, sentTo, waitSent } = tg;

// A slow bot (2 messages a second) so the broadcast takes long enough to pause.
const server = await startServer({
  env: {
    VORONKA_TELEGRAM_TOKEN: token,
    VORONKA_TELEGRAM_API: tg.botAPI,
    VORONKA_FLOW: 'lead-qualification',
    VORONKA_TELEGRAM_RATE: '2',
  },
});
const browser = await launchBrowser();
let page;

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
  page = s.watch(await ctx.newPage());
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
    // The condition is built from rows; an engineer may still type one.
    await page.click('[data-action="bc-expr.add-row"]');
    await page.selectOption('[data-field="bc-expr.row0.subject"]', 'source');
    await page.fill('[data-field="bc-expr.row0.value"]', 'нигде');
    await page.waitForFunction(() => document.querySelector('[data-bc=count]')?.textContent?.includes('В сегменте: 0'));
    await page.click('[data-action="bc-expr.as-expr"]');
    assert.equal(await page.inputValue('[data-field="bc-expr.expr"]'), 'contact.source == "нигде"');
    await page.fill('[data-field="bc-expr.expr"]', 'budjet > 1');
    await page.waitForSelector('.bc-problems [data-problem=expr]:has-text("Условие по переменным: в воронке нет переменной budjet")');
    await page.fill('[data-field="bc-expr.expr"]', '');
    await page.waitForFunction(() => document.querySelector('[data-bc=count]')?.textContent?.includes('В сегменте: 10'));
  });

  await step('compose, send, pause and resume', async () => {
    await page.fill('[data-bc=name]', 'Скидка покупателям');
    const segValue = await page.$eval('[data-bc=audience]', (s) => [...s.options].find((o) => o.text === 'Покупатели').value);
    await page.selectOption('[data-bc=audience]', segValue);
    // The name is inserted from the picker, not typed as a template.
    await page.fill('[data-bc=text-0]', `${TEXT}, `);
    await page.selectOption('[data-field="bc-text-0.insert"]', 'contact.first_name');
    assert.equal(await page.inputValue('[data-bc=text-0]'), `${TEXT}, {{ contact.first_name }}`);
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
    assert.equal(one.text, `${TEXT}, Гость104`);
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
  tg.stop();
}
s.done(``);
