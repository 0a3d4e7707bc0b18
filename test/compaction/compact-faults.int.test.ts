// Compaction under faults and concurrency (DESIGN 4.1): a failure after upload or at COMMIT
// changes nothing a search sees and leaves only orphans; a flush and searches running during a
// compaction lose nothing; two compactions of one entity never overlap.
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import { collectOrphans, compactSchema, type CompactFaults } from '../../src/compaction/index.js';
import { liveFiles } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { lakeKeys } from '../support/lake.js';
import { answerList, readTruth } from '../support/oracle.js';

const ORDERS_QUERY = `{ orders(order_by: {row_id: asc}, limit: 1000) { row_id quantity note } }`;

async function expectedOrders(gw: TestGateway): Promise<unknown[]> {
  const truth = await readTruth(gw);
  return answerList(gw.catalog, truth, gw.catalog.entity('orders'), { order_by: [{ row_id: 'asc' }], limit: 1000 }).map((r) => ({
    row_id: r.row_id,
    quantity: r.values.quantity == null ? null : Number(r.values.quantity),
    note: r.values.note ?? null,
  }));
}

describe('compaction faults and concurrency', () => {
  let gw: TestGateway;
  const faults: CompactFaults = {};
  const random = seededRandom(21);
  beforeAll(async () => {
    gw = await startTestGateway({ lake: { compactFaults: faults } });
  });
  beforeEach(async () => {
    delete faults.afterUpload;
    delete faults.beforeCommit;
    const orders = gw.catalog.entity('orders');
    // Some history: a base file, then fresh inserts, updates and a delete in two delta files.
    const rows = await gw.oltp.writer.insert(orders, Array.from({ length: 60 }, () => demoOrder(random, [])));
    await gw.lakehouse.admin.flush(orders, true);
    await gw.lakehouse.admin.compact(orders, true);
    await gw.oltp.writer.insert(orders, Array.from({ length: 20 }, () => demoOrder(random, [])));
    await gw.oltp.writer.update(orders, rows[3]!.row_id, { quantity: 9001 });
    await gw.lakehouse.admin.flush(orders, true);
    await gw.oltp.writer.softDelete(orders, rows[4]!.row_id);
    await gw.oltp.writer.update(orders, rows[5]!.row_id, { note: 'late' });
    await gw.lakehouse.admin.flush(orders, true);
  });
  afterAll(async () => {
    await gw?.close();
  });
  const orders = () => gw.catalog.entity('orders');

  it('a failure after upload leaves the manifest as it was; the uploaded files are orphans', async () => {
    const before = (await liveFiles(gw.oltp.pool, orders())).map((f) => f.path);
    const keysBefore = await lakeKeys(gw);
    faults.afterUpload = async () => {
      throw new Error('injected: crash after upload');
    };
    await expect(gw.lakehouse.admin.compact(orders(), true)).rejects.toThrow('injected');
    expect((await liveFiles(gw.oltp.pool, orders())).map((f) => f.path)).toEqual(before);
    expect((await gw.gql(ORDERS_QUERY)).data.orders).toEqual(await expectedOrders(gw));
    const orphans = (await lakeKeys(gw)).filter((k) => !keysBefore.includes(k));
    expect(orphans.length).toBeGreaterThan(0);
    const gcArgs = { pool: gw.oltp.pool, store: gw.lakehouse.store, catalog: gw.catalog, log: gw.lakehouse.compactDeps.log };
    const collected = await collectOrphans({ ...gcArgs, graceMs: 0, now: new Date(Date.now() + 1_000) });
    expect(collected.deleted.sort()).toEqual(orphans);
    const job = await gw.gql(`{ jobs(limit: 1) { kind status error } }`, {}, { admin: true });
    expect(job.data.jobs[0]).toEqual({ kind: 'compact', status: 'failed', error: 'injected: crash after upload' });
  });

  it('a connection killed at COMMIT rolls the swap back', async () => {
    const before = (await liveFiles(gw.oltp.pool, orders())).map((f) => f.path);
    faults.beforeCommit = async (client) => {
      const killer = new pg.Client({ connectionString: gw.databaseUrl });
      await killer.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await killer.end();
    };
    await expect(gw.lakehouse.admin.compact(orders(), true)).rejects.toThrow();
    delete faults.beforeCommit;
    expect((await liveFiles(gw.oltp.pool, orders())).map((f) => f.path)).toEqual(before);
    expect((await gw.gql(ORDERS_QUERY)).data.orders).toEqual(await expectedOrders(gw));
    // The next compaction succeeds on the same inputs.
    expect((await gw.lakehouse.admin.compact(orders(), true)).compacted).toBe(true);
    expect((await gw.gql(ORDERS_QUERY)).data.orders).toEqual(await expectedOrders(gw));
  });

  it('a flush, writes and searches during a compaction lose and double nothing', async () => {
    const seen: unknown[][] = [];
    let flushedPath: string | null = null;
    faults.afterUpload = async () => {
      // Between the compaction's snapshot and its swap: new changes of compacted rows, flushed.
      const some = (await gw.gql(ORDERS_QUERY)).data.orders as { row_id: string }[];
      await gw.oltp.writer.update(orders(), some[0]!.row_id, { quantity: 123 });
      await gw.oltp.writer.softDelete(orders(), some[1]!.row_id);
      await gw.oltp.writer.insert(orders(), [demoOrder(random, [])]);
      flushedPath = (await gw.lakehouse.admin.flush(orders(), true)).path;
      seen.push((await gw.gql(ORDERS_QUERY)).data.orders);
    };
    const searches = (async () => {
      for (let i = 0; i < 5; i++) seen.push((await gw.gql(ORDERS_QUERY)).data.orders);
    })();
    const [report] = await Promise.all([gw.lakehouse.admin.compact(orders(), true), searches]);
    delete faults.afterUpload;
    expect(report.compacted).toBe(true);
    expect(flushedPath).not.toBeNull();
    // The delta file flushed meanwhile is newer than every input: it stays live.
    expect((await liveFiles(gw.oltp.pool, orders())).map((f) => f.path)).toContain(flushedPath);
    const expected = await expectedOrders(gw);
    expect((await gw.gql(ORDERS_QUERY)).data.orders).toEqual(expected);
    for (const answer of seen) expect(new Set((answer as { row_id: string }[]).map((r) => r.row_id)).size).toBe(answer.length);
    // A second compaction folds that delta file in as well.
    expect((await gw.lakehouse.admin.compact(orders(), true)).compacted).toBe(true);
    expect((await gw.gql(ORDERS_QUERY)).data.orders).toEqual(expected);
  });

  it('two compactions of one entity never overlap', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const uploaded = new Promise<void>((resolve) => (reached = resolve));
    faults.afterUpload = () => {
      reached();
      return held;
    };
    const first = gw.lakehouse.admin.compact(orders(), true);
    await uploaded; // the first holds the lock now
    const second = await compactSchema(gw.lakehouse.compactDeps, orders(), { force: true, trigger: 'test' });
    expect(second).toMatchObject({ status: 'skipped', reason: 'another compaction of this entity is running' });
    release();
    expect((await first).compacted).toBe(true);
    expect((await gw.gql(ORDERS_QUERY)).data.orders).toEqual(await expectedOrders(gw));
  });
});
