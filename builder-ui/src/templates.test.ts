/// <reference types="node" />
// Every template opens as a valid funnel: the real validator (bin/voronka
// validate, built by make build) finds no problem in any of them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { template, templateIds } from './templates';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/voronka');

describe('templates', () => {
  it('are valid funnels with no warnings', () => {
    expect(fs.existsSync(bin), `${bin} is missing: run make build first`).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'voronka-templates-'));
    for (const t of templateIds) fs.writeFileSync(path.join(dir, `${t}.json`), JSON.stringify(template(t, `tpl-${t}`, t)));
    const r = spawnSync(bin, ['validate', dir], { encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    const lines = out.trim().split('\n');
    expect(lines, out).toHaveLength(templateIds.length);
    for (const l of lines) expect(l, out).toMatch(/: ok, 0 warning\(s\)$/);
    fs.rmSync(dir, { recursive: true });
  });
});
