// Starts the real host (target/debug/ocomms) with its managed PostgreSQL in a fresh
// data directory on a free port, and stops it (SIGTERM: it drains and stops PostgreSQL).
// OCOMMS_E2E_URL skips all this and uses a host that is already running. `env` adds
// variables for the host (the caller's own SPIN_VARIABLE_* and OCOMMS_* are not passed on),
// e.g. `SPIN_VARIABLE_OUTBOUND_ALLOW: '127.0.0.1'` to let it deliver to an app on loopback.
// With no mail server configured the host logs every mail, links included: `log()` reads it.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const START_TIMEOUT_MS = 120_000;

export async function startHost({ env: extra = {} } = {}) {
  if (process.env.OCOMMS_E2E_URL) return { url: process.env.OCOMMS_E2E_URL.replace(/\/$/, ''), stop: async () => {} };
  const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
  const bin = process.env.OCOMMS_HOST_BIN ?? join(target, 'debug', 'wasm-host');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`cargo xtask build\` (or cargo build -p wasm-host) first`);
  const dir = mkdtempSync(join(tmpdir(), 'ocomms-web-e2e-'));
  // The managed PostgreSQL runs as `postgres` when we are root: it must be able to enter.
  chmodSync(dir, 0o755);
  const log = join(dir, 'host.log');
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('SPIN_VARIABLE_') && !k.startsWith('OCOMMS_')),
  );
  env.OCOMMS_LOG = 'info';
  env.NO_COLOR = '1';
  // Every browser of the suite comes from 127.0.0.1: rate limits (tested on their own in the
  // Rust suite) would stop the suite's many signups, not what it tests.
  env.SPIN_VARIABLE_RATE_LIMITS = 'off';
  // Signing up creates the account at once unless a test verifies addresses (`required`).
  env.SPIN_VARIABLE_EMAIL_VERIFICATION = 'off';
  Object.assign(env, extra);
  const { openSync } = await import('node:fs');
  const fd = openSync(log, 'a');
  const child = spawn(
    bin,
    ['--listen', '127.0.0.1:0', '--manifest', join(ROOT, 'spin.toml'), '--data-dir', join(dir, 'data')],
    { cwd: dir, env, stdio: ['ignore', fd, fd] },
  );
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const kill = () => {
    if (!exited) child.kill('SIGTERM');
  };
  process.on('exit', kill);

  const started = Date.now();
  let url = null;
  while (!url) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const m = /ocomms listening on (http:\/\/[0-9.:]+)/.exec(text);
    if (m) url = m[1];
    else if (exited) throw new Error(`wasm-host exited (${JSON.stringify(exited)}) before listening:\n${text}`);
    else if (Date.now() - started > START_TIMEOUT_MS) {
      kill();
      throw new Error(`wasm-host did not start within ${START_TIMEOUT_MS} ms:\n${text}`);
    } else await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    log: () => readFileSync(log, 'utf8'),
    async stop() {
      kill();
      for (let i = 0; i < 200 && !exited; i++) await new Promise((r) => setTimeout(r, 100));
      if (!exited) child.kill('SIGKILL');
      process.off('exit', kill);
      if (exited) rmSync(dir, { recursive: true, force: true });
    },
  };
}
