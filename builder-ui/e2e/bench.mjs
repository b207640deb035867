// Big funnels: generates a 500-node flow, opens it in headless Chromium and
// measures the time to open it and the frame times while dragging a node.
// Targets: open < 1.5 s, drag frames < 20 ms. Prints the figures; it is a
// measurement, not a test (`make ui-bench`).
import os from 'node:os';
import { launchBrowser, requireChromium, signIn, startServer } from './lib.mjs';

const N = Number(process.env.NODES ?? 500);

/** bigFlow makes a valid flow of n nodes mixing the node types, with or without positions. */
export function bigFlow(n, id, positions) {
  const nodes = {};
  const kinds = ['message', 'buttons', 'question', 'score', 'condition', 'message', 'set', 'goal'];
  const nid = (i) => (i >= n - 1 ? `n${n - 1}` : `n${i}`);
  for (let i = 0; i < n - 1; i++) {
    const k = kinds[i % kinds.length];
    const next = nid(i + 1);
    let node;
    switch (k) {
      case 'buttons':
        node = { type: k, text: `Выбор ${i}?`, buttons: [{ label: 'Да', score: 5, next }, { label: 'Нет', next: nid(i + 2) }] };
        break;
      case 'question':
        node = { type: k, text: `Вопрос ${i}: ваш бюджет?`, save: 'budget', expect: 'number', next };
        break;
      case 'score':
        node = { type: k, add: 3, tags: [`t${i % 7}`], next };
        break;
      case 'condition':
        node = { type: k, branches: [{ when: `budget > ${i}`, next }], else: nid(i + 3) };
        break;
      case 'set':
        node = { type: k, vars: { plan: `"p${i}"` }, next };
        break;
      case 'goal':
        node = { type: k, name: `g${i}`, value: i, next };
        break;
      default:
        node = { type: k, text: `Сообщение ${i}: {{ contact.first_name }}, это шаг ${i}.`, next };
    }
    if (positions) node.ui = { x: (i % 20) * 260, y: Math.floor(i / 20) * 160 };
    nodes[`n${i}`] = node;
  }
  nodes[`n${n - 1}`] = { type: 'end', text: 'Конец', ...(positions ? { ui: { x: 0, y: Math.ceil(n / 20) * 160 } } : {}) };
  return { voronka: 1, id, name: `${n} nodes`, start: 'n0', vars: { budget: 'number', plan: 'string' }, nodes };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** measure runs the benchmark; `node e2e/bench.mjs` calls it. */
async function measure() {
const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await signIn(page, server.url);
  for (const [id, positions] of [
    [`big-${N}`, true],
    [`big-${N}-unlaid`, false],
  ]) {
    const imported = await page.evaluate(async (doc) => {
      const s = await (await fetch('/api/session')).json();
      const r = await fetch('/api/import?bot=faq-bot', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
        body: JSON.stringify(doc),
      });
      return r.json();
    }, bigFlow(N, id, positions));
    if (!imported.ok) throw new Error(`the generated flow has errors: ${JSON.stringify(imported.problems?.slice(0, 3))}`);

    const opens = [];
    for (let run = 0; run < 3; run++) {
      await page.goto('about:blank');
      await page.goto(`${server.url}/app/#/flows/faq-bot/${id}`);
      // Opened: what the canvas draws stopped changing; the time is that of
      // the last frame in which the number of nodes drawn or of edges drawn
      // changed. A node is drawn once React Flow has measured it (until
      // then it is in the page but hidden), and an edge once both its nodes
      // are; counting the nodes in the page alone would stop the clock
      // before anything but the empty canvas is shown.
      const ms = await page.evaluate(
        () =>
          new Promise((resolve) => {
            let seen = '';
            let changedAt = 0;
            const tick = (t) => {
              let drawn = 0;
              for (const el of document.querySelectorAll('.react-flow__node')) if (el.style.visibility !== 'hidden') drawn++;
              const now = `${drawn}/${document.querySelectorAll('.react-flow__edge').length}`;
              if (now !== seen) {
                seen = now;
                changedAt = t;
              }
              if (drawn > 0 && t - changedAt > 700) resolve(changedAt);
              else requestAnimationFrame(tick);
            };
            requestAnimationFrame(tick);
          }),
      );
      opens.push(ms);
    }

    // Drag one node across the canvas, recording every frame.
    // Drag a node near the middle of the canvas.
    const target = await page.evaluate(() => {
      const c = document.querySelector('[data-testid=canvas]').getBoundingClientRect();
      let best = null;
      let bestD = Infinity;
      for (const el of document.querySelectorAll('.fnode')) {
        const r = el.getBoundingClientRect();
        const d = Math.hypot(r.x + r.width / 2 - (c.x + c.width / 2), r.y + r.height / 2 - (c.y + c.height / 2));
        if (d < bestD) [best, bestD] = [el, d];
      }
      return best.getAttribute('data-node-id');
    });
    const box = await page.locator(`.fnode[data-node-id="${target}"]`).boundingBox();
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
    const x = box.x + box.width / 2;
    const y = box.y + Math.min(8, box.height / 3);
    await page.mouse.move(x, y);
    await page.mouse.down();
    for (let i = 1; i <= 120; i++) {
      await page.mouse.move(x + i * 3, y + i * 2);
      await page.waitForTimeout(8);
    }
    await page.mouse.up();
    const frames = await page.evaluate(() => {
      const w = window;
      w.__recording = false;
      return w.__frames;
    });
    const deltas = frames.slice(1).map((t, i) => t - frames[i]);
    const moved = await page.evaluate((id) => {
      const el = document.querySelector(`.fnode[data-node-id="${id}"]`);
      return el?.closest('.react-flow__node')?.getAttribute('style') ?? '';
    }, target);
    console.log(
      `${id}: ${N} nodes${positions ? '' : ' (no positions: laid out with dagre on open)'}\n` +
        `  open: ${opens.map((o) => o.toFixed(0)).join(' / ')} ms (navigation to the last frame that changed the nodes or edges drawn; target < 1500)\n` +
        `  drag: ${deltas.length} frames, median ${pct(deltas, 50).toFixed(1)} ms, p95 ${pct(deltas, 95).toFixed(1)} ms, max ${Math.max(...deltas).toFixed(1)} ms (target < 20)\n` +
        `  dragged node ${target} now at: ${/translate\(([^)]*)\)/.exec(moved)?.[1] ?? '?'}\n` +
        `  load average: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} CPUs)`,
    );
  }
} finally {
  await browser.close();
  await server.stop();
}
}

if (import.meta.url === `file://${process.argv[1]}`) {
  requireChromium('builder bench');
  await measure();
}
