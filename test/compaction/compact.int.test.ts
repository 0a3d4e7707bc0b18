// Compaction (SPEC 5.1) against the local lake and a real S3 server: which files it writes and
// removes, that searches answer the same before and after, the dirty ratio, the present file's
// roll-over, garbage collection of replaced files, and the admin mutation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCustomer, demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import { compactSchema, type CompactOutcome } from '../../src/compaction/index.js';
import type { EntitySchema } from '../../src/catalog/index.js';
import { liveFiles, sqlString } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { changeLedger, localCopy } from '../support/lake.js';
import { answerList, readTruth } from '../support/oracle.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.close();
});

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** Every current order through GraphQL equals the EAV truth, field by field. */
async function expectSearchEqualsTruth(gw: TestGateway, context: string): Promise<void> {
  const orders = gw.catalog.entity('orders');
  const truth = await readTruth(gw);
  const res = await gw.gql(`{ orders(order_by: {row_id: asc}, limit: 1000) { row_id total quantity paid note customer_id: customer { row_id } } }`);
  expect(res.errors, context).toBeUndefined();
  const expected = answerList(gw.catalog, truth, orders, { order_by: [{ row_id: 'asc' }], limit: 1000 });
  expect(res.data.orders.map((r: { row_id: string }) => r.row_id), context).toEqual(expected.map((r) => r.row_id));
  expect(
    res.data.orders.map((r: Record<string, unknown>) => [r.total, r.quantity, r.paid, r.note]),
    context,
  ).toEqual(expected.map((r) => [r.values.total ?? null, r.values.quantity == null ? null : Number(r.values.quantity), r.values.paid ?? null, r.values.note ?? null]));
  const count = await gw.gql(`{ orders_aggregate { aggregate { count sum { quantity } } } }`);
  expect(count.data.orders_aggregate.aggregate.count, context).toBe(expected.length);
}

async function compact(
  gw: TestGateway,
  entity: EntitySchema,
  settings: { dirtyRatio?: number; baseTargetBytes?: number; minBaseFileRows?: number } = {},
): Promise<CompactOutcome> {
  const deps = gw.lakehouse.compactDeps;
  return compactSchema({ ...deps, settings: { ...deps.settings, ...settings } }, entity, { force: true, trigger: 'test' });
}

async function rowsOf(gw: TestGateway, key: string): Promise<{ row_id: string; deleted_at: bigint | null }[]> {
  const file = await localCopy(gw, key);
  return gw.lakehouse.duck.use(async (c) =>
    (await c.runAndReadAll(`SELECT row_id::VARCHAR AS row_id, deleted_at FROM read_parquet(${sqlString(file)})`)).getRowObjectsJS() as never,
  );
}

describe.each([
  ['local lake', () => ({})],
  ['S3 lake', () => s3.settings(`compact-${Date.now()}`)],
])('compaction of the %s', (_name, lake) => {
  let gw: TestGateway;
  const random = seededRandom(5);
  beforeAll(async () => {
    gw = await startTestGateway({ lake: lake() });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('merges delta files into a present base file, a historical one past the target size, and keeps every answer', async () => {
    const customers = gw.catalog.entity('customers');
    const orders = gw.catalog.entity('orders');
    const customerIds = (await gw.oltp.writer.insert(customers, [demoCustomer(random), demoCustomer(random)])).map((c) => c.row_id);
    const first = await gw.oltp.writer.insert(orders, Array.from({ length: 200 }, () => demoOrder(random, customerIds)));
    await gw.lakehouse.admin.flush(orders, true);
    await gw.oltp.writer.update(orders, first[0]!.row_id, { quantity: 77 });
    await gw.oltp.writer.softDelete(orders, first[1]!.row_id);
    await gw.lakehouse.admin.flush(orders, true);
    const ledgerBefore = await changeLedger(gw, orders);
    await expectSearchEqualsTruth(gw, 'before compaction');

    // Phase 1: both delta files become one present file holding each current row once.
    const outcome = await compact(gw, orders);
    expect(outcome.status).toBe('compacted');
    if (outcome.status !== 'compacted') return;
    expect(outcome.removed).toHaveLength(2);
    expect(outcome.added).toEqual([expect.objectContaining({ kind: 'base', role: 'present', rows: 199 })]);
    expect(outcome.added[0]!.path).toMatch(new RegExp(`^demo/2/base/present_2_${UUID}\\.parquet$`));
    const files = await liveFiles(gw.oltp.pool, orders);
    expect(files.map((f) => f.path)).toEqual([outcome.added[0]!.path]);
    const present = await rowsOf(gw, files[0]!.path);
    expect(present.map((r) => r.row_id)).toEqual([...present.map((r) => r.row_id)].sort());
    expect(present.some((r) => r.row_id === first[1]!.row_id)).toBe(false);
    expect(present.every((r) => r.deleted_at === null)).toBe(true);
    // The lake still holds every change up to the newest flushed one (the buffer's lower bound).
    expect(files[0]!.slotMax).toBe(ledgerBefore.all.map((c) => BigInt(c.split('@')[1]!)).reduce((a, b) => (a > b ? a : b)));
    await expectSearchEqualsTruth(gw, 'after phase 1');

    // Phase 3: a present file past the target size becomes a fixed-range historical file.
    const more = await gw.oltp.writer.insert(orders, Array.from({ length: 50 }, () => demoOrder(random, customerIds)));
    await gw.lakehouse.admin.flush(orders, true);
    const rolled = await compact(gw, orders, { baseTargetBytes: 1 });
    expect(rolled).toMatchObject({ status: 'compacted', rolledOver: true });
    const [historical] = await liveFiles(gw.oltp.pool, orders);
    expect(historical!.path).toMatch(new RegExp(`^demo/2/base/${first[0]!.row_id}_${more[49]!.row_id}_${UUID}\\.parquet$`));
    expect(historical!.rowCount).toBe(249);
    await expectSearchEqualsTruth(gw, 'after roll-over');

    // New rows go to a new present file; the historical one is left alone.
    const newer = await gw.oltp.writer.insert(orders, Array.from({ length: 30 }, () => demoOrder(random, customerIds)));
    await gw.lakehouse.admin.flush(orders, true);
    const appended = await compact(gw, orders);
    expect(appended.status === 'compacted' && appended.added.map((a) => [a.role, a.rows])).toEqual([['present', 30]]);
    expect((await liveFiles(gw.oltp.pool, orders)).map((f) => f.path)).toContain(historical!.path);
    expect(newer).toHaveLength(30);
    await expectSearchEqualsTruth(gw, 'after appending a present file');
  });

  it('keeps the files flush and compaction write in the read cache: the next search downloads nothing', async () => {
    const orders = gw.catalog.entity('orders');
    await gw.gql(`{ orders(limit: 1) { row_id } }`); // every live file read once
    const store = gw.lakehouse.store;
    const downloads: string[] = [];
    const getToFile = store.getToFile.bind(store);
    store.getToFile = async (key, file) => {
      downloads.push(key);
      return getToFile(key, file);
    };
    try {
      await gw.oltp.writer.insert(orders, [demoOrder(random, [])]);
      await gw.lakehouse.admin.flush(orders, true);
      await gw.gql(`{ orders(limit: 1) { row_id } }`);
      const outcome = await compact(gw, orders);
      expect(outcome.status).toBe('compacted');
      await expectSearchEqualsTruth(gw, 'after a compaction with outputs in the cache');
      expect(downloads).toEqual([]);
    } finally {
      store.getToFile = getToFile;
    }
  });

  it('keeps changes to a historical file below the dirty ratio in a delta file, and rewrites it above', async () => {
    const orders = gw.catalog.entity('orders');
    const [historical] = (await liveFiles(gw.oltp.pool, orders)).filter((f) => f.kind === 'base' && !f.path.includes('/present_'));
    const ids = (await rowsOf(gw, historical!.path)).map((r) => r.row_id);
    // 2 of 249 rows changed: below 5%, so the historical file stays and a delta file keeps them.
    await gw.oltp.writer.update(orders, ids[10]!, { note: 'kept update' });
    await gw.oltp.writer.softDelete(orders, ids[11]!);
    await gw.lakehouse.admin.flush(orders, true);
    const kept = await compact(gw, orders, { dirtyRatio: 0.05 });
    expect(kept).toMatchObject({ status: 'compacted', rewritten: 0 });
    if (kept.status !== 'compacted') return;
    expect(kept.added.map((a) => [a.kind, a.role, a.rows])).toEqual([['delta', 'kept', 2]]);
    const keptRows = await rowsOf(gw, kept.added[0]!.path);
    expect(keptRows.find((r) => r.row_id === ids[11])!.deleted_at).not.toBeNull();
    expect((await liveFiles(gw.oltp.pool, orders)).map((f) => f.path)).toContain(historical!.path);
    await expectSearchEqualsTruth(gw, 'with changes kept in a delta file');

    // 20 more: past 5% with the 2 kept before, so the file is rewritten with every change merged.
    for (const id of ids.slice(20, 40)) await gw.oltp.writer.update(orders, id, { quantity: 5 });
    await gw.lakehouse.admin.flush(orders, true);
    const rewritten = await compact(gw, orders, { dirtyRatio: 0.05 });
    expect(rewritten).toMatchObject({ status: 'compacted', rewritten: 1 });
    if (rewritten.status !== 'compacted') return;
    const [again] = rewritten.added;
    expect(again).toMatchObject({ kind: 'base', role: 'historical', rows: 248 });
    // The range in the name is the file's fixed range, not the rows it happens to hold now.
    expect(again!.path.startsWith(`demo/2/base/${historical!.rowIdMin}_${historical!.rowIdMax}_`)).toBe(true);
    const live = await liveFiles(gw.oltp.pool, orders);
    expect(live.some((f) => f.kind === 'delta')).toBe(false);
    expect(live.map((f) => f.path)).not.toContain(historical!.path);
    await expectSearchEqualsTruth(gw, 'after rewriting the historical file');
  });

  it('deletes replaced files from the store only after the grace period, then forgets them', async () => {
    const orders = gw.catalog.entity('orders');
    const { rows: removed } = await gw.oltp.pool.query<{ path: string }>('SELECT path FROM lake_file WHERE removed_at IS NOT NULL');
    expect(removed.length).toBeGreaterThan(0);
    await gw.lakehouse.collectGarbage(); // within the grace period: nothing goes
    for (const { path } of removed) expect(await gw.lakehouse.store.head(path)).not.toBeNull();

    const { collectRemoved } = await import('../../src/compaction/index.js');
    const result = await collectRemoved({ ...gw.lakehouse.compactDeps, graceMs: 600_000, now: new Date(Date.now() + 3_600_000) });
    expect(result.deleted.sort()).toEqual(removed.map((r) => r.path).sort());
    for (const { path } of removed) expect(await gw.lakehouse.store.head(path)).toBeNull();
    const { rows: left } = await gw.oltp.pool.query('SELECT 1 FROM lake_file WHERE removed_at IS NOT NULL');
    expect(left).toEqual([]);
    for (const file of await liveFiles(gw.oltp.pool, orders)) expect(await gw.lakehouse.store.head(file.path)).not.toBeNull();
    await gw.lakehouse.collectGarbage();
    await expectSearchEqualsTruth(gw, 'after garbage collection');
  });
});

describe('roll-over of a large present file', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('splits it into historical files of about the target size, each named by its own range', async () => {
    const random = seededRandom(8);
    const orders = gw.catalog.entity('orders');
    const rows = await gw.oltp.writer.insert(orders, Array.from({ length: 300 }, () => demoOrder(random, [])));
    await gw.lakehouse.admin.flush(orders, true);
    expect((await compact(gw, orders)).status).toBe('compacted');
    await gw.oltp.writer.update(orders, rows[0]!.row_id, { quantity: 1 });
    await gw.lakehouse.admin.flush(orders, true);
    // Past a tiny target size, but never fewer than 100 rows a file: three files of 100 rows.
    const outcome = await compact(gw, orders, { baseTargetBytes: 1, minBaseFileRows: 100 });
    expect(outcome).toMatchObject({ status: 'compacted', rolledOver: true });
    if (outcome.status !== 'compacted') return;
    expect(outcome.added.map((a) => [a.role, a.rows])).toEqual([
      ['historical', 100],
      ['historical', 100],
      ['historical', 100],
    ]);
    const sorted = rows.map((r) => r.row_id).sort();
    for (const [i, file] of outcome.added.entries()) {
      expect(file.path).toMatch(new RegExp(`^demo/2/base/${sorted[i * 100]}_${sorted[i * 100 + 99]}_${UUID}\\.parquet$`));
      expect((await rowsOf(gw, file.path)).map((r) => r.row_id)).toEqual(sorted.slice(i * 100, i * 100 + 100));
    }
    await expectSearchEqualsTruth(gw, 'after splitting the present file');
  });
});

describe('compaction through the admin API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const COMPACT = `mutation($entity: String!, $force: Boolean) {
    compact(entity: $entity, force: $force) { entity compacted reason removed added { path kind role rows bytes } rewritten rolled_over duration_ms }
  }`;

  it('needs the admin credential, names an unknown entity, and skips with a reason', async () => {
    // Without it the field is not in the caller's schema at all (a role's schema has no admin API).
    const denied = await gw.gql(COMPACT, { entity: 'orders', force: true }, { admin: false });
    // (this role may write nothing, so its schema has no mutation type at all)
    expect(denied.errors?.[0]?.message).toMatch(/Cannot query field "compact"|not configured to execute mutation/);
    expect(denied.data ?? null).toBeNull();
    const unknown = await gw.gql(COMPACT, { entity: 'nope', force: true }, { admin: true });
    expect(unknown.errors?.[0]?.message).toContain('nope');
    const empty = await gw.gql(COMPACT, { entity: 'orders', force: true }, { admin: true });
    expect(empty.data.compact).toMatchObject({ compacted: false, reason: 'no delta files', removed: [], added: [] });
  });

  it('compacts when due, reports the files, and lake_status and jobs show it', async () => {
    const random = seededRandom(9);
    const orders = gw.catalog.entity('orders');
    await gw.oltp.writer.insert(orders, Array.from({ length: 40 }, () => demoOrder(random, [])));
    await gw.lakehouse.admin.flush(orders, true);
    const notDue = await gw.gql(COMPACT, { entity: 'orders' }, { admin: true });
    expect(notDue.data.compact.compacted).toBe(false);
    expect(notDue.data.compact.reason).toMatch(/below the thresholds/);

    const res = await gw.gql(COMPACT, { entity: 'orders', force: true }, { admin: true });
    expect(res.errors).toBeUndefined();
    expect(res.data.compact).toMatchObject({ entity: 'orders', compacted: true, reason: 'forced', rewritten: 0, rolled_over: false });
    expect(res.data.compact.added).toEqual([expect.objectContaining({ kind: 'base', role: 'present', rows: 40 })]);
    const status = await gw.gql(`{ lake_status { entity delta_files base_files base_bytes last_compaction_at } }`, {}, { admin: true });
    const ordersStatus = status.data.lake_status.find((s: { entity: string }) => s.entity === 'orders');
    expect(ordersStatus).toMatchObject({ delta_files: 0, base_files: 1 });
    expect(ordersStatus.base_bytes).toBe(res.data.compact.added[0].bytes);
    expect(ordersStatus.last_compaction_at).not.toBeNull();
    const jobs = await gw.gql(`{ jobs(limit: 5) { kind entity status trigger } }`, {}, { admin: true });
    expect(jobs.data.jobs[0]).toEqual({ kind: 'compact', entity: 'orders', status: 'done', trigger: 'admin' });
  });
});

describe('the compaction worker', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      workers: true,
      lake: { compaction: { minDeltaFiles: 3, maxDeltaAgeMs: 86_400_000, dirtyRatio: 0.05, baseTargetBytes: 256 * 1024 * 1024, checkIntervalMs: 100 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('compacts an entity once it has COMPACT_MIN_DELTA_FILES delta files, and leaves one below it alone', async () => {
    const random = seededRandom(3);
    const orders = gw.catalog.entity('orders');
    const customers = gw.catalog.entity('customers');
    for (let i = 0; i < 3; i++) {
      await gw.oltp.writer.insert(orders, Array.from({ length: 10 }, () => demoOrder(random, [])));
      await gw.lakehouse.admin.flush(orders, true);
      if (i < 2) {
        await gw.oltp.writer.insert(customers, [demoCustomer(random)]);
        await gw.lakehouse.admin.flush(customers, true);
      }
    }
    const deadline = Date.now() + 10_000;
    while ((await liveFiles(gw.oltp.pool, orders)).some((f) => f.kind === 'delta') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const files = await liveFiles(gw.oltp.pool, orders);
    expect(files.map((f) => [f.kind, f.rowCount])).toEqual([['base', 30]]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // several more worker ticks
    expect((await liveFiles(gw.oltp.pool, customers)).map((f) => f.kind)).toEqual(['delta', 'delta']);
    // The job is marked done after the compaction commits (a moment later on a busy machine).
    const jobs = async () => (await gw.gql(`{ jobs(limit: 10) { kind entity trigger status } }`, {}, { admin: true })).data.jobs;
    await expect.poll(jobs, { timeout: 10_000 }).toContainEqual({ kind: 'compact', entity: 'orders', trigger: 'worker', status: 'done' });
    await expectSearchEqualsTruth(gw, 'after the worker compacted');
  });
});
