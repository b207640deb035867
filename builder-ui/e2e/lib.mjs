// Shared set-up of the browser tests and the benchmark: a real
// `voronka serve` on a free port with a fresh store, and the machine's
// Chromium driven by playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const admin = { login: 'admin', password: 'e2e-admin-password' };

/** requireChromium exits: 1 in CI (a missing browser is a failure), 0 elsewhere. */
export function requireChromium(what) {
  if (fs.existsSync(chromiumPath)) return;
  if (process.env.CI) {
    console.error(`${what}: Chromium is missing at ${chromiumPath}; .ci/run installs the Debian package chromium`);
    process.exit(1);
  }
  console.log(`${what}: no Chromium at ${chromiumPath}; install it (apt-get install -y chromium) to run the browser tests`);
  process.exit(0);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * startServer runs bin/voronka serve and resolves once /readyz answers.
 * restart stops it and starts another process on the same store and port,
 * as a deployment does. env adds variables (a Telegram token and API).
 */
export async function startServer({ env = {} } = {}) {
  const bin = path.join(root, 'bin/voronka');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run make build first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'voronka-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = path.join(dir, 'serve.log');
  const spawnServe = async () => {
    const log = fs.openSync(logPath, 'a');
    const proc = spawn(bin, ['serve'], {
      env: {
        ...process.env,
        VORONKA_LISTEN: `127.0.0.1:${port}`,
        VORONKA_DATA: path.join(dir, 'voronka.db'),
        VORONKA_FLOWS: path.join(root, 'flows'),
        VORONKA_ADMIN_LOGIN: admin.login,
        VORONKA_ADMIN_PASSWORD: admin.password,
        VORONKA_LOG_LEVEL: 'warn',
        VORONKA_TELEGRAM_TOKEN: '',
        ...env,
      },
      cwd: dir,
      stdio: ['ignore', log, log],
    });
    for (let i = 0; i < 200; i++) {
      try {
        const r = await fetch(`${url}/readyz`);
        if (r.ok) break;
      } catch {
        /* not yet */
      }
      if (proc.exitCode !== null) throw new Error(`voronka serve exited: ${fs.readFileSync(logPath, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return proc;
  };
  const stopProc = async (proc) => {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
  };
  let proc = await spawnServe();
  return {
    url,
    dir,
    logText: () => fs.readFileSync(logPath, 'utf8'),
    restart: async () => {
      await stopProc(proc);
      proc = await spawnServe();
    },
    stop: async () => {
      await stopProc(proc);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * startFakeTelegram serves just enough of the Bot API for a bot to connect
 * by long polling: it answers 502 Bad Gateway to everything until up() is
 * called, then getMe, getUpdates (no updates) and true for the rest. api is
 * the VORONKA_TELEGRAM_API endpoint.
 */
export async function startFakeTelegram() {
  let isUp = false;
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const answer = (code, v) => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (!isUp) return answer(502, { ok: false, error_code: 502, description: 'Bad Gateway' });
      const method = req.url.slice(req.url.lastIndexOf('/') + 1).toLowerCase();
      if (method === 'getme') return answer(200, { ok: true, result: { id: 123456, is_bot: true, first_name: 'E2E', username: 'e2e_shop_bot' } });
      if (method === 'getupdates') {
        const timeout = Number(new URLSearchParams(body).get('timeout') ?? 0);
        const t = setTimeout(() => answer(200, { ok: true, result: [] }), Math.min(timeout, 1) * 1000);
        res.on('close', () => clearTimeout(t));
        return;
      }
      answer(200, { ok: true, result: true });
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    api: `http://127.0.0.1:${srv.address().port}/bot%s/%s`,
    up: () => {
      isUp = true;
    },
    close: () => {
      srv.closeAllConnections();
      return new Promise((r) => srv.close(r));
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    // Playwright gives every launch a fresh, empty user data dir.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** signIn fills the sign-in page. */
export async function signIn(page, url, hash = '') {
  await page.goto(`${url}/app/${hash}`);
  await page.fill('input[name=login]', admin.login);
  await page.fill('input[name=password]', admin.password);
  await page.click('[data-testid=signin] button[type=submit]');
  await page.waitForSelector('[data-testid=palette] .palette-item');
}

/**
 * startTgFake builds and runs the fake Telegram (cmd/tgfake) with token as
 * its own process. fake(method, path, body) calls its control API
 * (/_fake/...); botAPI is the VORONKA_TELEGRAM_API endpoint.
 */
export async function startTgFake(token) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'voronka-tgfake-'));
  const bin = path.join(tmp, 'tgfake');
  const built = spawnSync('go', ['build', '-o', bin, './cmd/tgfake'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('go build ./cmd/tgfake failed');
  const proc = spawn(bin, ['-addr', '127.0.0.1:0', '-token', token], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    readline.createInterface({ input: proc.stdout }).once('line', (l) => resolve(l.trim()));
    proc.once('exit', () => reject(new Error('tgfake exited')));
  });
  const fake = async (method, p, body) => {
    const r = await fetch(`${url}/_fake/${p}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = await r.json();
    if (!j.ok) throw new Error(`${method} ${p}: ${JSON.stringify(j)}`);
    return j.result;
  };
  return {
    botAPI: `${url}/bot%s/%s`,
    fake,
    sentTo: (id) => fake('GET', `sent?chat_id=${id}`),
    waitSent: (id, n) => fake('GET', `sent/wait?chat_id=${id}&n=${n}&timeout=60s`),
    stop: () => {
      proc.kill('SIGTERM');
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * stories runs the named steps of a browser story: each passes or fails on
 * its own, leaves a numbered screenshot in artifacts/screenshots/<name>, and
 * done() prints the tally and exits non-zero on a failure. Set page once the
 * story has one; page errors are collected for the final check.
 */
export function stories(name, { fullPage = false } = {}) {
  const shots = path.join(root, 'artifacts/screenshots', name);
  fs.rmSync(shots, { recursive: true, force: true });
  fs.mkdirSync(shots, { recursive: true });
  const s = {
    shots,
    passed: 0,
    failed: 0,
    page: undefined,
    pageErrors: [],
    /** watch makes p the page screenshots are taken of and collects its errors. */
    watch(p) {
      s.page = p;
      p.on('pageerror', (e) => s.pageErrors.push(e.message));
      return p;
    },
    async step(title, fn) {
      try {
        await fn();
        s.passed++;
        console.log(`ok   ${title}`);
      } catch (e) {
        s.failed++;
        console.log(`FAIL ${title}: ${e?.stack ?? e}`);
      } finally {
        const file = `${String(s.passed + s.failed).padStart(2, '0')}-${title.replace(/[^a-z0-9]+/gi, '-')}.png`;
        await s.page?.screenshot({ path: path.join(shots, file), fullPage }).catch(() => {});
      }
    },
    done(extra = '') {
      console.log(`${name} e2e: ${s.passed} passed, ${s.failed} failed${extra}`);
      process.exit(s.failed ? 1 : 0);
    },
  };
  return s;
}
