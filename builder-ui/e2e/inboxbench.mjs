// The inbox with 10,000 conversations: opens the page in headless Chromium
// with the list API answering 10,000 handed-off chats (pages of the size the
// page asks for, as the server does), measures the time to open it, scrolls
// to the end until all 10,000 are in the list, then measures the frame times
// while wheel-scrolling the whole list from the top. Prints the figures; a measurement, not a test
// (`make ui-bench-inbox`). The server's own list time is the backend's figure.
import os from 'node:os';
import { admin, launchBrowser, requireChromium, startServer } from './lib.mjs';

const N = Number(process.env.CONVERSATIONS ?? 10000);

const names = ['Иван Петров', 'Анна Смирнова', 'Ольга', 'Dmitry K', 'Мария', '@sergey_m', '+7 999 123-45-67'];
const texts = ['Сколько стоит доставка?', 'Хочу тариф Бизнес, но сначала хочу понять условия подключения', 'Позвать оператора', 'Когда перезвоните?', 'Спасибо!'];

function items(n) {
  const base = Date.now();
  const out = [];
  for (let i = 0; i < n; i++) {
    const at = new Date(base - i * 37_000).toISOString();
    out.push({
      id: `shop:${i % 3 ? 'telegram' : 'web'}:${100000 + i}`,
      bot: 'shop',
      channel: i % 3 ? 'telegram' : 'web',
      status: 'handoff',
      contact: { first_name: names[i % names.length], phone: `+7999${String(i).padStart(7, '0')}` },
      name: `${names[i % names.length]} ${i}`,
      score: (i * 7) % 100,
      segment: ['hot', 'warm', 'cold'][i % 3],
      tags: i % 2 ? ['buyer'] : [],
      updated_at: at,
      version: 1,
      inbox: {
        state: i % 4 ? 'unassigned' : 'assigned',
        queue: i % 5 ? 'sales' : 'support',
        assignee: i % 4 ? '' : 'u-other',
        assignee_name: i % 4 ? '' : 'Пётр',
        unread: i % 6,
        handoff_at: at,
        waiting_since: i % 2 ? at : undefined,
        last: { direction: 'in', text: texts[i % texts.length], at },
      },
    });
  }
  return out;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function measure() {
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const all = items(N);
    const json = (body) => ({ status: 200, contentType: 'application/json', body });
    await page.route(/\/api\/inbox(\?.*)?$/, (r) => {
      const q = new URL(r.request().url()).searchParams;
      const from = Number(q.get('cursor') || 0);
      const to = Math.min(N, from + Number(q.get('limit') || 50));
      r.fulfill(json(JSON.stringify({ conversations: all.slice(from, to), next: to < N ? String(to) : '' })));
    });
    await page.route(/\/api\/inbox\/counts/, (r) => r.fulfill(json(JSON.stringify({ mine: 0, unassigned: N, all: N, unread_mine: 0 }))));
    await page.route(/\/api\/inbox\/operators/, (r) => r.fulfill(json('{"operators":[],"queues":[{"name":"sales"},{"name":"support"}]}')));
    // One hello and a long retry: the stream stays quiet during the measurement.
    await page.route(/\/api\/inbox\/events/, (r) =>
      r.fulfill({
        status: 200,
        contentType: 'text/event-stream',
        body: `retry: 600000\nevent: hello\ndata: {"user":{"id":"u-admin","name":"admin","role":"admin"},"online":true,"counts":{"mine":0,"unassigned":${N},"all":${N},"unread_mine":0}}\n\n`,
      }),
    );
    await page.goto(`${server.url}/app/`);
    await page.fill('input[name=login]', admin.login);
    await page.fill('input[name=password]', admin.password);
    await page.click('[data-testid=signin] button[type=submit]');
    await page.waitForSelector('.appnav');

    const opens = [];
    const drawn = [];
    for (let run = 0; run < 3; run++) {
      await page.goto('about:blank');
      await page.goto(`${server.url}/app/#/inbox`);
      // Opened: the last frame in which the rows drawn (or the list's height)
      // changed, once rows are drawn (the first page).
      const ms = await page.evaluate(
        () =>
          new Promise((resolve) => {
            let seen = '';
            let changedAt = 0;
            const tick = (t) => {
              const rows = document.querySelectorAll('.ibx-row').length;
              const h = document.querySelector('.ibx-list > div')?.style.height ?? '';
              const now = `${rows}/${h}`;
              if (now !== seen) {
                seen = now;
                changedAt = t;
              }
              if (rows > 0 && t - changedAt > 700) {
                // When the list's answer had arrived, to tell the transfer from the drawing.
                const e = performance.getEntriesByType('resource').find((r) => /\/api\/inbox\?/.test(r.name));
                resolve([changedAt, e ? e.responseEnd : NaN]);
              }
              else requestAnimationFrame(tick);
            };
            requestAnimationFrame(tick);
          }),
      );
      opens.push(ms[0]);
      drawn.push(ms[0] - ms[1]);
    }
    // Scroll to the end until every conversation is in the list.
    const loadStart = Date.now();
    await page.evaluate(
      (n) =>
        new Promise((resolve) => {
          const el = document.querySelector('.ibx-list');
          const tick = () => {
            el.scrollTop = el.scrollHeight;
            if (document.querySelector('.ibx-list > div').style.height === `${n * 68}px` && !document.querySelector('.ibx-more')) resolve();
            else setTimeout(tick, 30);
          };
          tick();
        }),
      N,
    );
    const loadAll = Date.now() - loadStart;
    await page.evaluate(() => (document.querySelector('.ibx-list').scrollTop = 0));
    await page.waitForTimeout(300);
    const total = await page.evaluate(() => document.querySelector('.ibx-list').scrollHeight);
    const box = await page.locator('[data-testid=inbox-list]').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.evaluate(() => {
      const w = window;
      w.__frames = [];
      w.__recording = true;
      const tick = (t) => {
        w.__frames.push(t);
        if (w.__recording) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const step = Math.ceil(total / 400);
    for (let i = 0; i < 400; i++) {
      await page.mouse.wheel(0, step);
      await page.waitForTimeout(16);
    }
    const { frames, top, last } = await page.evaluate(() => {
      const w = window;
      w.__recording = false;
      const rows = [...document.querySelectorAll('.ibx-row')];
      return { frames: w.__frames, top: document.querySelector('.ibx-list').scrollTop, last: rows[rows.length - 1]?.getAttribute('data-id') };
    });
    const deltas = frames.slice(1).map((t, i) => t - frames[i]);
    console.log(
      `inbox: ${N} conversations in the list\n` +
        `  open: ${opens.map((o) => o.toFixed(0)).join(' / ')} ms (navigation to the last frame that changed the rows drawn)\n` +
        `  of which drawing: ${drawn.map((o) => o.toFixed(0)).join(' / ')} ms (from the list's answer received to that frame)\n` +
        `  all ${N} in the list after ${(loadAll / 1000).toFixed(1)} s of scrolling to the end (${Math.ceil(N / 100)} pages of 100)\n` +
        `  scroll: ${deltas.length} frames over ${total} px (wheel, ${step} px a step), median ${pct(deltas, 50).toFixed(1)} ms, p95 ${pct(deltas, 95).toFixed(1)} ms, max ${Math.max(...deltas).toFixed(1)} ms\n` +
        `  scrolled to ${top.toFixed(0)} px, last row drawn ${last}; rows in the page at once: ${await page.locator('.ibx-row').count()}\n` +
        `  load average: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} CPUs)`,
    );
  } finally {
    await browser.close();
    await server.stop();
  }
}

requireChromium('inbox bench');
await measure();
