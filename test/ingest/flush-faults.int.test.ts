// A crash or failure at any step of a flush loses nothing and flushes nothing twice (DESIGN 4.2).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openLakehouse } from '../../src/cli/lakehouse.js';
import { demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import { collectOrphans } from '../../src/compaction/index.js';
import type { FlushFaults } from '../../src/ingest/index.js';
import { knownPaths, liveFiles } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { changeLedger, lakeKeys } from '../support/lake.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

const random = seededRandom(5);
const log = pino({ level: 'silent' });

async function writeOrders(gw: TestGateway, count: number): Promise<string[]> {
  const rows = await gw.oltp.writer.insert(
    gw.catalog.entity('orders'),
    Array.from({ length: count }, () => demoOrder(random, [])),
  );
  return rows.map((r) => `${r.row_id}@${r.time_slot}`);
}

describe('flush faults on the local lake', () => {
  let gw: TestGateway;
  const faults: FlushFaults = {};
  beforeAll(async () => {
    gw = await startTestGateway({ lake: { faults } });
  });
  afterEach(() => {
    delete faults.afterUpload;
    delete faults.beforeCommit;
  });
  afterAll(async () => {
    await gw?.close();
  });
  const orders = () => gw.catalog.entity('orders');

  it('a failed upload leaves every change buffered; the next flush completes the work', async () => {
    const written = await writeOrders(gw, 120);
    // A file where the project's directory should be: the upload fails in the file system.
    const blocker = path.join(gw.lakeSettings.dataDir, 'lake', 'demo');
    await fs.mkdir(path.dirname(blocker), { recursive: true });
    await fs.writeFile(blocker, 'not a directory');
    await expect(gw.lakehouse.admin.flush(orders(), true)).rejects.toThrow(/ENOTDIR|EEXIST/);
    let ledger = await changeLedger(gw, orders());
    expect(ledger.buffer.sort()).toEqual(written.sort());
    expect(ledger.lake).toEqual([]);
    expect(await liveFiles(gw.oltp.pool, orders())).toEqual([]);
    const { rows: jobs } = await gw.oltp.pool.query(`SELECT status, error FROM lake_job WHERE kind = 'flush' ORDER BY job_id DESC LIMIT 1`);
    expect(jobs[0]).toMatchObject({ status: 'failed' });

    await fs.rm(blocker);
    expect((await gw.lakehouse.admin.flush(orders(), true)).rows).toBe(120);
    ledger = await changeLedger(gw, orders());
    expect(ledger.buffer).toEqual([]);
    expect(ledger.duplicates).toEqual([]);
    expect(ledger.all).toEqual(written.sort());
  });

  it('a failed commit leaves the changes buffered and the file an orphan, which GC removes after the grace period', async () => {
    const before = await changeLedger(gw, orders());
    const written = await writeOrders(gw, 80);
    const filesBefore = await lakeKeys(gw);
    faults.beforeCommit = async (client) => {
      // Kill the flush's own connection from outside, so COMMIT really fails.
      const killer = new pg.Client({ connectionString: gw.databaseUrl });
      await killer.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await killer.end();
    };
    await expect(gw.lakehouse.admin.flush(orders(), true)).rejects.toThrow();
    delete faults.beforeCommit;

    const ledger = await changeLedger(gw, orders());
    expect(ledger.buffer.sort()).toEqual(written.sort());
    expect(ledger.lake.sort()).toEqual(before.lake.sort());
    const orphans = (await lakeKeys(gw)).filter((key) => !filesBefore.includes(key));
    expect(orphans).toHaveLength(1);
    expect((await knownPaths(gw.oltp.pool)).has(orphans[0]!)).toBe(false);

    // The pool still works (the dead connection was dropped) and the next flush completes.
    expect((await gw.lakehouse.admin.flush(orders(), true)).rows).toBe(80);
    const after = await changeLedger(gw, orders());
    expect(after.buffer).toEqual([]);
    expect(after.duplicates).toEqual([]);
    expect(after.all).toEqual([...before.all, ...written].sort());

    const gcArgs = { pool: gw.oltp.pool, store: gw.lakehouse.store, catalog: gw.catalog, log };
    expect((await collectOrphans({ ...gcArgs, graceMs: 600_000 })).deleted).toEqual([]);
    const collected = await collectOrphans({ ...gcArgs, graceMs: 0, now: new Date(Date.now() + 1_000) });
    expect(collected.deleted).toEqual(orphans);
    const live = (await liveFiles(gw.oltp.pool, orders())).map((f) => f.path).sort();
    expect(await lakeKeys(gw)).toEqual(live);
    expect((await changeLedger(gw, orders())).all).toEqual(after.all);
  });

  it('a process killed between upload and commit loses nothing; the next flush completes the work', async () => {
    const before = await changeLedger(gw, orders());
    const written = await writeOrders(gw, 60);
    const filesBefore = await lakeKeys(gw);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.resolve('test/support/flush-child.ts'), gw.databaseUrl, gw.lakeSettings.lakeUrl, gw.lakeSettings.dataDir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');
    expect(output).toMatch(/^uploaded demo\/2\/delta\/.+\.parquet\n$/);

    const uploaded = output.trim().split(' ')[1]!;
    expect(await lakeKeys(gw)).toEqual([...filesBefore, uploaded].sort());
    const ledger = await changeLedger(gw, orders());
    expect(ledger.buffer.sort()).toEqual(written.sort());
    expect(ledger.lake.sort()).toEqual(before.lake.sort());

    // The dead process's session lock went with its connection: this flush is not blocked.
    expect((await gw.lakehouse.admin.flush(orders(), true)).rows).toBe(60);
    const after = await changeLedger(gw, orders());
    expect(after.duplicates).toEqual([]);
    expect(after.buffer).toEqual([]);
    expect(after.all).toEqual([...before.all, ...written].sort());
  });
});

describe('flush faults on S3', () => {
  let s3: TestS3;
  let gw: TestGateway;
  beforeAll(async () => {
    s3 = await startTestS3();
    gw = await startTestGateway({ lake: s3.settings('faults') });
  });
  afterAll(async () => {
    await gw?.close();
    await s3?.close();
  });

  it('an unreachable S3 endpoint fails the flush with an error naming it, and nothing is lost', async () => {
    const orders = gw.catalog.entity('orders');
    const written = await writeOrders(gw, 50);
    await s3.stop();
    try {
      await expect(gw.lakehouse.admin.flush(orders, true)).rejects.toThrow(`cannot reach the S3 endpoint of s3://lake/faults at ${s3.endpoint}`);
    } finally {
      await s3.start();
    }
    expect((await changeLedger(gw, orders)).buffer.sort()).toEqual(written.sort());
    expect(await liveFiles(gw.oltp.pool, orders)).toEqual([]);
    expect((await gw.lakehouse.admin.flush(orders, true)).rows).toBe(50);
    const ledger = await changeLedger(gw, orders);
    expect(ledger.buffer).toEqual([]);
    expect(ledger.all).toEqual(written.sort());
  });

  it('a gateway does not start on an S3 lake it cannot reach', async () => {
    await s3.stop();
    try {
      await expect(
        openLakehouse({ ...gw.lakeSettings, dataDir: gw.lakeSettings.dataDir }, gw.catalog, gw.oltp, log),
      ).rejects.toThrow('check S3_ENDPOINT');
    } finally {
      await s3.start();
    }
  });
});
