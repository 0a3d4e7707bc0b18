// Start-up time of `npm start` to a 200 from /healthz on the embedded default: first and second start.
// Usage: npm run bench:startup   (uses a fresh temporary DATA_DIR and free ports)
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/ports.js';

async function startOnce(env: NodeJS.ProcessEnv, port: number): Promise<number> {
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent'], { env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    for (;;) {
      if (performance.now() - started > 120_000) throw new Error('no /healthz within 120 s');
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (ok) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-startup-'));
await fs.chmod(dataDir, 0o755); // the postgres user the server runs as (when we are root) must enter it
try {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  const first = await startOnce(env, port);
  const second = await startOnce(env, port);
  console.log(`npm start -> /healthz 200, embedded default: first start ${(first / 1000).toFixed(2)} s (initdb + migrations + demo data), second start ${(second / 1000).toFixed(2)} s`);
} finally {
  await fs.rm(dataDir, { recursive: true, force: true });
}
