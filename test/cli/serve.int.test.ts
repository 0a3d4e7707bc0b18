// The real entry point as a user runs it: a child process serving HTTP on a port.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

let database: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-serve-'));
});
afterAll(async () => {
  await database?.drop();
  await fs.rm(dataDir, { recursive: true, force: true });
});

/** `group`: in a process group of its own, as a terminal runs a foreground job (Ctrl-C signals the whole group). */
function startGateway(env: Record<string, string>, options: { group?: boolean } = {}): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group === true,
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('npm start (serve)', () => {
  it('serves /healthz, GraphiQL and the generated schema, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const gateway = startGateway({
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ADMIN_TOKEN: 'serve-test-token',
    });
    try {
      await waitFor(() => gateway.output().includes('GraphiQL is at'), 'the start log');
      expect(gateway.output()).toContain(`GraphiQL is at http://localhost:${port}/graphql`);
      // DATABASE_URL is set: no demo data.
      expect(gateway.output()).not.toContain('loaded the demo data set');

      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('process_resident_memory_bytes'); // prom-client's process metrics
      expect(metrics).toContain('ltbase_buffer_rows{project="demo",entity="orders"} 0');
      const page = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('LTBase Analytics Gateway');
      expect(html).toContain('customers_aggregate { aggregate { count } }'); // the example query
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer serve-test-token' },
        body: JSON.stringify({ query: '{ customers: __type(name: "customers") { fields { name } } }' }),
      });
      const body = (await response.json()) as { data: { customers: { fields: { name: string }[] } } };
      expect(body.data.customers.fields.map((f) => f.name)).toEqual(
        expect.arrayContaining(['row_id', 'time_slot', 'deleted_at', 'name', 'country', 'tier', 'signup_at', 'lifetime_value']),
      );

      gateway.child.kill('SIGTERM');
      const [code] = (await once(gateway.child, 'exit')) as [number | null];
      expect(code).toBe(0);
      expect(gateway.output()).toContain('"msg":"stopped"');
      expect(gateway.output()).not.toMatch(/"level":(50|60)/);
    } finally {
      gateway.child.kill('SIGKILL');
    }
  });

  it('refuses to start on an invalid variable and names it, without echoing a password or the admin token', async () => {
    const gateway = startGateway({ DATABASE_URL: 'postgres://app:hunter22@db:port/x', PORT: 'eighty', ADMIN_TOKEN: 'sh0rt', DATA_DIR: dataDir });
    const [code] = (await once(gateway.child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(gateway.output()).toContain('PORT');
    expect(gateway.output()).toContain('must be an integer');
    expect(gateway.output()).toContain('DATABASE_URL=\\"postgres://app:***@db:port/x\\": is not a valid URL');
    expect(gateway.output()).toContain('ADMIN_TOKEN (hidden, 5 characters): must be at least 8 characters');
    expect(gateway.output()).not.toMatch(/hunter22|sh0rt/);
  });

  it('refuses an unknown LAKE_URL scheme before serving', async () => {
    const gateway = startGateway({ DATABASE_URL: database.url, PORT: String(await freePort()), DATA_DIR: dataDir, LAKE_URL: 'ftp://lake' });
    const [code] = (await once(gateway.child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(gateway.output()).toContain('LAKE_URL');
  });
});

/** Runs a command of src/main.ts to its end; stdout and stderr apart. */
async function runCommand(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('maintenance commands (seed, flush, compact)', () => {
  it('flush and compact print one JSON report per entity on stdout, logs on stderr', { timeout: 120_000 }, async () => {
    const own = await createTestDatabase();
    const lake = path.join(dataDir, 'cli-lake');
    const env = { DATABASE_URL: own.url, DATA_DIR: dataDir, LAKE_URL: `file://${lake}` };
    try {
      const seeded = await runCommand(['seed', '--customers', '50', '--orders', '200'], env);
      expect(seeded.code, seeded.stdout + seeded.stderr).toBe(0);

      const flushed = await runCommand(['flush', '--force'], env);
      expect(flushed.code, flushed.stderr).toBe(0);
      const flushReports = flushed.stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(flushReports.map((r) => [r.entity, r.flushed, r.rows])).toEqual([
        ['customers', true, 50],
        ['orders', true, 200],
      ]);
      expect(flushed.stderr).toContain('"msg":"flushed: forced (200 rows buffered)"');

      const compacted = await runCommand(['compact', 'orders', '--force'], env);
      expect(compacted.code, compacted.stderr).toBe(0);
      const [report] = compacted.stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(report).toMatchObject({ entity: 'orders', compacted: true, removed: [flushReports[1].path] });
      expect(report.added).toEqual([expect.objectContaining({ kind: 'base', role: 'present', rows: 200 })]);
      expect(await fs.readdir(path.join(lake, 'demo', '2', 'base'))).toEqual([path.basename(report.added[0].path)]);

      const unknown = await runCommand(['compact', 'nope'], env);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('nope');
    } finally {
      await own.drop();
    }
  });
});

describe('one owner per data directory (embedded Postgres)', () => {
  it('a CLI flush uses the running gateway\'s Postgres and a second npm start refuses; neither stops it; Ctrl-C stops the gateway, then its Postgres', { timeout: 300_000 }, async () => {
    const own = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-owner-'));
    await fs.chmod(own, 0o755); // the postgres user the server runs as (when we are root) must enter it
    const env = { DATA_DIR: own, EMBEDDED_PG_PORT: String(await freePort()), HOST: '127.0.0.1', WORKERS: 'false', LOG_FORMAT: 'json' };
    const port = await freePort();
    const gateway = startGateway({ ...env, PORT: String(port) }, { group: true });
    const count = async () => {
      // No credential configured: the start generated the admin token under DATA_DIR.
      const token = (await fs.readFile(path.join(own, 'admin-token'), 'utf8')).trim();
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ orders_aggregate { aggregate { count } } }' }),
      });
      return ((await response.json()) as { data: { orders_aggregate: { aggregate: { count: number } } } }).data.orders_aggregate.aggregate.count;
    };
    try {
      await waitFor(() => gateway.output().includes('GraphiQL is at') || gateway.child.exitCode !== null, 'the start log', 240_000);
      expect(gateway.output()).toContain('loaded the demo data set');
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

      // when: the documented maintenance command runs beside it
      const flushed = await runCommand(['flush', 'orders', '--force'], env);
      expect(flushed.code, flushed.stderr).toBe(0);
      expect(JSON.parse(flushed.stdout)).toMatchObject({ entity: 'orders', flushed: true, rows: 8_000 });
      expect(flushed.stderr).toContain('using it, not stopping it');
      expect(flushed.stderr).not.toContain('still uses'); // the old "a Postgres server from an earlier run still uses …: stopping it"

      // and a second gateway is started on the same DATA_DIR
      const second = startGateway({ ...env, PORT: String(await freePort()) });
      const [code] = (await once(second.child, 'exit')) as [number | null];
      expect(code).toBe(1);
      expect(second.output()).toContain(`is in use by a running gateway or maintenance command (process ${gateway.child.pid}`);
      expect(second.output()).toContain('stop it first');

      // then the first still answers, from its own Postgres, with the flushed rows
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect(await count()).toBe(8_000);
      const password = (await fs.readFile(path.join(own, 'pg-password'), 'utf8')).trim();
      expect(gateway.output() + flushed.stderr + second.output()).not.toContain(password);

      // Ctrl-C in the terminal: SIGINT to every process of the foreground group. The gateway
      // drains, closes its pool, then stops its Postgres, which must not have stopped first.
      const postmaster = Number((await fs.readFile(path.join(own, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(-gateway.child.pid!, 'SIGINT');
      const [exit] = (await once(gateway.child, 'exit')) as [number | null];
      expect(exit).toBe(0);
      expect(gateway.output()).toContain('"msg":"stopped"');
      expect(gateway.output()).not.toContain('a Postgres connection failed');
      expect(gateway.output()).not.toMatch(/"level":(40|50|60)/);
      await expect(fs.stat(path.join(own, 'pg-owner.json'))).rejects.toThrow(); // released
      expect(() => process.kill(postmaster, 0)).toThrow(); // and its Postgres stopped with it
    } finally {
      gateway.child.kill('SIGKILL');
      await fs.rm(own, { recursive: true, force: true });
    }
  });
});
