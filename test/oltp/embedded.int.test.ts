import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/oltp/index.js';
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
