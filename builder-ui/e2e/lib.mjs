// Shared set-up of the browser tests and the benchmark: a real
// `voronka serve` on a free port with a fresh store, and the machine's
// Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
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
 * as a deployment does.
 */
export async function startServer() {
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
