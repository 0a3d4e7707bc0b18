// Garbage collection never deletes what a live flush, compaction or query may still use (issue 10,
// defect 6), even with a grace period far below ORPHAN_GRACE_MS's floor; and a flush or compaction
// whose uploaded file vanished fails before it commits, changing nothing.
import fs from 'node:fs/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import pino from 'pino';
import { collectOrphans, type CompactFaults } from '../../src/compaction/index.js';
import type { FlushFaults } from '../../src/ingest/index.js';
import { liveFiles } from '../../src/lake/index.js';
import type { QueryFaults } from '../../src/query/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { changeLedger, lakeKeys } from '../support/lake.js';
import { answerList, readTruth } from '../support/oracle.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

const ORDERS_QUERY = `{ orders(order_by: {row_id: asc}, limit: 1000) { row_id quantity note } }`;

async function expectedOrders(gw: TestGateway): Promise<unknown[]> {
  const truth = await readTruth(gw);
  return answerList(gw.catalog, truth, gw.catalog.entity('orders'), { order_by: [{ row_id: 'asc' }], limit: 1000 }).map((r) => ({
    row_id: r.row_id,
    quantity: r.values.quantity == null ? null : Number(r.values.quantity),
    note: r.values.note ?? null,
  }));
}

/** Every current order through GraphQL equals the EAV truth. */
async function expectSearchEqualsTruth(gw: TestGateway): Promise<void> {
  const answer = await gw.gql(ORDERS_QUERY);
  expect(answer.errors).toBeUndefined();
  expect(answer.data.orders).toEqual(await expectedOrders(gw));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until a statement starting with `prefix` waits for a lock in the test database. */
async function untilWaitingOnLock(gw: TestGateway, prefix: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { rows } = await gw.oltp.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`,
      [`${prefix}%`],
    );
    if (rows[0]!.n > 0) return;
    if (Date.now() > deadline) throw new Error(`no "${prefix}" statement waited for a lock within 15 s`);
    await sleep(20);
  }
}

/** A second session holding rows `FOR UPDATE` in an open transaction until `release`. */
async function holdRows(gw: TestGateway, sql: string, params: unknown[]): Promise<{ release(): Promise<void> }> {
  const blocker = new pg.Client({ connectionString: gw.databaseUrl });
  await blocker.connect();
  await blocker.query('BEGIN');
  const { rowCount } = await blocker.query(sql, params);
  expect(rowCount).toBeGreaterThan(0);
  return {
    async release() {
      await blocker.query('COMMIT');
      await blocker.end();
    },
  };
}

describe('GC beside a flush or compaction in flight, with a grace below the floor', () => {
  let gw: TestGateway;
  const faults: FlushFaults = {};
  const compactFaults: CompactFaults = {};
  const random = seededRandom(61);
  beforeAll(async () => {
    // 1 ms: every unnamed object is "old" at once, the window the reproduction used.
    gw = await startTestGateway({ lake: { orphanGraceMs: 1, faults, compactFaults } });
  });
  afterEach(() => {
    delete faults.afterUpload;
    delete compactFaults.afterUpload;
  });
  afterAll(async () => {
    await gw?.close();
  });
  const orders = () => gw.catalog.entity('orders');
  const gcArgs = () => ({ pool: gw.oltp.pool, store: gw.lakehouse.store, catalog: gw.catalog, log: pino({ level: 'silent' }) });
  const writeOrders = (count: number) => gw.oltp.writer.insert(orders(), Array.from({ length: count }, () => demoOrder(random, [])));

  it('a flushed file survives GC while its commit waits on buffered rows another session locked; the flush then commits it', async () => {
    await writeOrders(40);
    const held = await holdRows(gw, 'SELECT time_slot FROM change_log WHERE project = $1 AND schema_id = $2 FOR UPDATE', [
      orders().project,
      orders().id,
    ]);
    const flushing = gw.lakehouse.admin.flush(orders(), true);
    let report;
    let gc;
    try {
      await untilWaitingOnLock(gw, 'DELETE FROM change_log');
      await sleep(20); // the uploaded file is now older than the grace period
      await gw.lakehouse.collectGarbage();
      gc = await collectOrphans({ ...gcArgs(), graceMs: 0, now: new Date(Date.now() + 1_000) });
    } finally {
      await held.release();
      report = await flushing;
    }
    expect(report.flushed).toBe(true);
    expect(await lakeKeys(gw)).toContain(report.path);
    expect((await changeLedger(gw, orders())).buffer).toEqual([]);
    await expectSearchEqualsTruth(gw);
    // GC saw the file as old and unnamed, and left it because the flush held the entity's lock.
    expect(gc.deleted).toEqual([]);
    expect(gc.busy).toEqual([`${orders().project}/${orders().id}`]);
  });

  it('compaction outputs survive GC while the swap waits on manifest rows another session locked; the swap then commits them', async () => {
    const rows = await writeOrders(30);
    await gw.lakehouse.admin.flush(orders(), true);
    await gw.oltp.writer.update(orders(), rows[0]!.row_id, { quantity: 4242 });
    await gw.oltp.writer.softDelete(orders(), rows[1]!.row_id);
    await gw.lakehouse.admin.flush(orders(), true);
    const held = await holdRows(gw, 'SELECT file_id FROM lake_file WHERE project = $1 AND schema_id = $2 AND removed_at IS NULL FOR UPDATE', [
      orders().project,
      orders().id,
    ]);
    const compacting = gw.lakehouse.admin.compact(orders(), true);
    let report;
    try {
      await untilWaitingOnLock(gw, 'UPDATE lake_file');
      await sleep(20);
      await gw.lakehouse.collectGarbage();
    } finally {
      await held.release();
      report = await compacting;
    }
    expect(report.compacted).toBe(true);
    const keys = await lakeKeys(gw);
    for (const added of report.added) expect(keys).toContain(added.path);
    await expectSearchEqualsTruth(gw);
  });

  it('a flush whose uploaded file vanished before its commit fails and keeps every change buffered; the next flush completes', async () => {
    const livesBefore = (await liveFiles(gw.oltp.pool, orders())).map((f) => f.path);
    const before = await changeLedger(gw, orders());
    const written = (await writeOrders(25)).map((r) => `${r.row_id}@${r.time_slot}`);
    faults.afterUpload = async (key) => {
      await gw.lakehouse.store.delete([key]);
    };
    await expect(gw.lakehouse.admin.flush(orders(), true)).rejects.toThrow(/is not in the lake store/);
    delete faults.afterUpload;

    const ledger = await changeLedger(gw, orders());
    expect(ledger.buffer.sort()).toEqual([...before.buffer, ...written].sort());
    expect((await liveFiles(gw.oltp.pool, orders())).map((f) => f.path)).toEqual(livesBefore);
    await expectSearchEqualsTruth(gw);

    expect((await gw.lakehouse.admin.flush(orders(), true)).flushed).toBe(true);
    const after = await changeLedger(gw, orders());
    expect(after.buffer).toEqual([]);
    expect(after.duplicates).toEqual([]);
    expect(after.all).toEqual(ledger.all);
    await expectSearchEqualsTruth(gw);
  });

  it('a compaction whose output vanished before its swap fails and leaves the live files as they were', async () => {
    const rows = await writeOrders(10);
    await gw.oltp.writer.update(orders(), rows[0]!.row_id, { note: 'moved' });
    await gw.lakehouse.admin.flush(orders(), true);
    const livesBefore = (await liveFiles(gw.oltp.pool, orders())).map((f) => f.path);
    compactFaults.afterUpload = async (keys) => {
      await gw.lakehouse.store.delete([keys[0]!]);
    };
    await expect(gw.lakehouse.admin.compact(orders(), true)).rejects.toThrow(/is not in the lake store/);
    delete compactFaults.afterUpload;
    expect((await liveFiles(gw.oltp.pool, orders())).map((f) => f.path)).toEqual(livesBefore);
    await expectSearchEqualsTruth(gw);
    expect((await gw.lakehouse.admin.compact(orders(), true)).compacted).toBe(true);
    await expectSearchEqualsTruth(gw);
  });
});

describe('GC of what a dead job left', () => {
  let gw: TestGateway;
  const faults: FlushFaults = {};
  beforeAll(async () => {
    gw = await startTestGateway({ lake: { faults } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("a failed flush's pending upload keeps its object through the grace period, then both are collected", async () => {
    const orders = gw.catalog.entity('orders');
    await gw.oltp.writer.insert(orders, Array.from({ length: 5 }, () => demoOrder(seededRandom(63), [])));
    let uploaded = '';
    faults.afterUpload = async (key) => {
      uploaded = key;
      throw new Error('injected: the process dies after its upload');
    };
    await expect(gw.lakehouse.admin.flush(orders, true)).rejects.toThrow('injected');
    delete faults.afterUpload;
    const pending = async () => (await gw.oltp.pool.query('SELECT path, kind FROM lake_pending_upload')).rows;
    expect(await pending()).toEqual([{ path: uploaded, kind: 'flush' }]);

    const gcArgs = { pool: gw.oltp.pool, store: gw.lakehouse.store, catalog: gw.catalog, log: pino({ level: 'silent' }) };
    // Old by the store's clock (an hour behind), but its pending row is younger than the grace: kept.
    const hourAgo = new Date(Date.now() - 3_600_000);
    await fs.utimes(gw.lakehouse.store.localPath(uploaded)!, hourAgo, hourAgo);
    const early = await collectOrphans({ ...gcArgs, graceMs: 600_000 });
    expect(early.deleted).toEqual([]);
    expect(await lakeKeys(gw)).toEqual([uploaded]);

    const late = await collectOrphans({ ...gcArgs, graceMs: 0, now: new Date(Date.now() + 1_000) });
    expect(late.deleted).toEqual([uploaded]);
    expect(await lakeKeys(gw)).toEqual([]);
    expect(await pending()).toEqual([]);
    expect((await gw.lakehouse.admin.flush(orders, true)).flushed).toBe(true);
    expect(await pending()).toEqual([]);
    await expectSearchEqualsTruth(gw);
  });
});

describe('GC beside a query in flight (S3 lake: the query reads local copies of the files it listed)', () => {
  let s3: TestS3;
  let gw: TestGateway;
  const queryFaults: QueryFaults = {};
  const random = seededRandom(62);
  beforeAll(async () => {
    s3 = await startTestS3();
    gw = await startTestGateway({ lake: { ...s3.settings('pins'), orphanGraceMs: 1, queryFaults } });
  });
  afterAll(async () => {
    await gw?.close();
    await s3?.close();
  });

  it('the changed-row sets a query in flight anti-joins against survive GC of the files it listed', async () => {
    const orders = gw.catalog.entity('orders');
    const rows = await gw.oltp.writer.insert(orders, Array.from({ length: 30 }, () => demoOrder(random, [])));
    await gw.lakehouse.admin.flush(orders, true);
    await gw.lakehouse.admin.compact(orders, true);
    for (const row of rows.slice(0, 5)) await gw.oltp.writer.update(orders, row.row_id, { quantity: 777 });
    await gw.lakehouse.admin.flush(orders, true); // a delta file whose changed set names those 5 rows
    const expected = await expectedOrders(gw);
    await expectSearchEqualsTruth(gw);

    let ranGc = false;
    queryFaults.beforeStatement = async () => {
      // While the query holds its snapshot: its files are replaced, and GC (past the tiny grace)
      // deletes them and forgets their manifest rows, as another process's GC would.
      delete queryFaults.beforeStatement;
      expect((await gw.lakehouse.admin.compact(orders, true)).compacted).toBe(true);
      await sleep(20);
      await gw.lakehouse.collectGarbage();
      ranGc = true;
    };
    const answer = await gw.gql(ORDERS_QUERY);
    expect(ranGc).toBe(true);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.orders).toEqual(expected);
    await expectSearchEqualsTruth(gw);
  });
});
