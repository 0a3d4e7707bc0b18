// verify and rebuild against the local lake and a real S3 server: verify agrees with the truth in
// every tier state and finds each kind of drift; rebuild restores a lost or damaged lake from the
// OLTP truth in one swap, keeps deleted rows deleted and buffered changes buffered, and loses
// nothing when writes run beside it.
import fs from 'node:fs/promises';
import path from 'node:path';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCustomer, demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import type { EntitySchema } from '../../src/catalog/index.js';
import { rebuildSchema } from '../../src/compaction/index.js';
import { addFile, liveFiles, sqlString, writeParquet } from '../../src/lake/index.js';
import { inTransaction } from '../../src/oltp/index.js';
import { OWNERS_ENTITY, attributesOfEveryType } from '../support/definitions.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { changeLedger, lakeKeys, localCopy } from '../support/lake.js';
import { answerList, readTruth } from '../support/oracle.js';
import { startTestS3, type TestS3 } from '../support/s3.js';
import { scratchDir } from '../support/scratch.js';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.close();
});

async function verify(gw: TestGateway, entity: string) {
  const res = await gw.gql(
    `mutation($e: String!) { verify(entity: $e) { entity ok truth_rows lake_rows missing extra different duplicated concurrent
       missing_examples extra_examples different_examples duplicated_examples truth_hash lake_hash truth_slot error duration_ms } }`,
    { e: entity },
    { admin: true },
  );
  expect(res.errors).toBeUndefined();
  return res.data.verify;
}

async function rebuild(gw: TestGateway, entity: string) {
  const res = await gw.gql(
    `mutation($e: String!) { rebuild(entity: $e) { entity rebuilt reason rows up_to_slot buffered_absorbed removed added { path kind role rows } duration_ms } }`,
    { e: entity },
    { admin: true },
  );
  expect(res.errors).toBeUndefined();
  return res.data.rebuild;
}

/** Every current order through GraphQL equals the EAV truth (ids and values), and the count too. */
async function expectSearchEqualsTruth(gw: TestGateway, context: string): Promise<void> {
  const orders = gw.catalog.entity('orders');
  const truth = await readTruth(gw);
  const res = await gw.gql(`{ orders(order_by: {row_id: asc}, limit: 1000) { row_id total quantity paid note } }`);
  expect(res.errors, context).toBeUndefined();
  const expected = answerList(gw.catalog, truth, orders, { order_by: [{ row_id: 'asc' }], limit: 1000 });
  expect(res.data.orders.map((r: { row_id: string }) => r.row_id), context).toEqual(expected.map((r) => r.row_id));
  expect(res.data.orders.map((r: Record<string, unknown>) => [r.total, r.quantity, r.paid, r.note]), context).toEqual(
    expected.map((r) => [r.values.total ?? null, r.values.quantity == null ? null : Number(r.values.quantity), r.values.paid ?? null, r.values.note ?? null]),
  );
}

async function seed(gw: TestGateway, random: () => number, orders = 120): Promise<string[]> {
  const customerIds = (await gw.oltp.writer.insert(gw.catalog.entity('customers'), [demoCustomer(random), demoCustomer(random)])).map((c) => c.row_id);
  return (await gw.oltp.writer.insert(gw.catalog.entity('orders'), Array.from({ length: orders }, () => demoOrder(random, customerIds)))).map((o) => o.row_id);
}

/** Adds a delta file to the manifest holding `select` over one live file's rows: a change the truth never had. */
async function writeLakeOnly(gw: TestGateway, entity: EntitySchema, select: (file: string) => string): Promise<void> {
  const [source] = await liveFiles(gw.oltp.pool, entity);
  const local = await localCopy(gw, source!.path);
  const out = path.join(await scratchDir('forged-'), 'forged.parquet');
  const written = await writeParquet(gw.lakehouse.duck, entity, select(sqlString(local)), out);
  const key = `${entity.project}/${entity.id}/delta/${uuidv7()}.parquet`;
  const stored = await gw.lakehouse.store.putFile(key, out);
  await inTransaction(gw.oltp.pool, (client) =>
    addFile(client, {
      project: entity.project,
      schemaId: entity.id,
      path: key,
      kind: 'delta',
      level: 0,
      rowIdMin: written.rowIdMin,
      rowIdMax: written.rowIdMax,
      slotMin: written.slotMin,
      slotMax: written.slotMax,
      rowCount: written.rows,
      bytes: stored.bytes,
      etag: stored.etag,
      columns: written.columns,
    }, [written.rowIdMin]),
  );
}

describe.each([
  ['local lake', () => ({})],
  ['S3 lake', () => s3.settings(`verify-${Date.now()}`)],
])('verify and rebuild on the %s', (_name, lake) => {
  let gw: TestGateway;
  const random = seededRandom(11);
  beforeAll(async () => {
    gw = await startTestGateway({ lake: lake() });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('verify says ok with the rows in the buffer, in delta files, in base files, and in all three', async () => {
    const ids = await seed(gw, random);
    const buffered = await verify(gw, 'orders');
    expect(buffered).toMatchObject({ ok: true, truth_rows: 120, lake_rows: 120, missing: 0, extra: 0, different: 0, duplicated: 0, error: null });
    expect(buffered.lake_hash).toBe(buffered.truth_hash);

    await gw.lakehouse.admin.flush(gw.catalog.entity('orders'), true);
    await gw.oltp.writer.update(gw.catalog.entity('orders'), ids[0]!, { quantity: 5, note: 'changed' });
    await gw.oltp.writer.softDelete(gw.catalog.entity('orders'), ids[1]!);
    await gw.lakehouse.admin.flush(gw.catalog.entity('orders'), true);
    expect(await verify(gw, 'orders')).toMatchObject({ ok: true, truth_rows: 119, lake_rows: 119 });

    await gw.lakehouse.admin.compact(gw.catalog.entity('orders'), true);
    await gw.oltp.writer.update(gw.catalog.entity('orders'), ids[2]!, { total: 1.25 });
    await gw.oltp.writer.softDelete(gw.catalog.entity('orders'), ids[3]!);
    await seed(gw, random, 10);
    await gw.lakehouse.admin.flush(gw.catalog.entity('orders'), true);
    await gw.oltp.writer.update(gw.catalog.entity('orders'), ids[4]!, { paid: null });
    const mixed = await verify(gw, 'orders');
    expect(mixed).toMatchObject({ ok: true, truth_rows: 128, lake_rows: 128, concurrent: 0 });
    expect(mixed.lake_hash).toBe(mixed.truth_hash);
    expect((await verify(gw, 'customers')).ok).toBe(true);
  });

  it('verify finds a row written to the lake only, and a version the truth never had', async () => {
    const orders = gw.catalog.entity('orders');
    await gw.lakehouse.admin.flush(orders, true);
    const ghost = uuidv7();
    await writeLakeOnly(gw, orders, (file) => `SELECT * REPLACE ('${ghost}'::UUID AS row_id) FROM read_parquet(${file}) LIMIT 1`);
    const [victim] = (await readTruth(gw)).get('orders')!.keys();
    await writeLakeOnly(
      gw,
      orders,
      (file) =>
        `SELECT * REPLACE ('${victim}'::UUID AS row_id, 9007199254740000::BIGINT AS time_slot, 123.5::DOUBLE AS total) FROM read_parquet(${file}) LIMIT 1`,
    );
    const report = await verify(gw, 'orders');
    expect(report).toMatchObject({ ok: false, extra: 1, extra_examples: [ghost], different: 1, different_examples: [victim], missing: 0 });
    expect(report.lake_rows).toBe(report.truth_rows + 1);

    const rebuilt = await rebuild(gw, 'orders');
    expect(rebuilt.rebuilt).toBe(true);
    expect(await verify(gw, 'orders')).toMatchObject({ ok: true, extra: 0, different: 0 });
    await expectSearchEqualsTruth(gw, 'after rebuilding over forged files');
  });

  it('verify finds rows missing when the manifest forgets a live file; rebuild restores them', async () => {
    const orders = gw.catalog.entity('orders');
    await seed(gw, random, 30);
    await gw.lakehouse.admin.flush(orders, true);
    const newest = (await liveFiles(gw.oltp.pool, orders)).at(-1)!;
    await gw.oltp.pool.query('UPDATE lake_file SET removed_at = now() WHERE file_id = $1', [newest.fileId.toString()]);
    const report = await verify(gw, 'orders');
    expect(report).toMatchObject({ ok: false, missing: 30, extra: 0, different: 0 });
    expect(report.missing_examples).toHaveLength(10);

    await rebuild(gw, 'orders');
    expect(await verify(gw, 'orders')).toMatchObject({ ok: true, missing: 0 });
  });

  it('after every lake object is deleted, verify reports the lake unreadable and rebuild restores the answers, deletes and later changes included', async () => {
    const orders = gw.catalog.entity('orders');
    const ids = await seed(gw, random, 50);
    await gw.lakehouse.admin.flush(orders, true);
    await gw.oltp.writer.softDelete(orders, ids[0]!);
    await gw.oltp.writer.update(orders, ids[1]!, { note: 'before the loss' });
    await gw.lakehouse.admin.flush(orders, true);
    await gw.lakehouse.admin.compact(orders, true);
    await gw.oltp.writer.softDelete(orders, ids[2]!);
    await gw.oltp.writer.update(orders, ids[3]!, { quantity: 9 });
    // buffered at the loss: one delete, one update
    await gw.lakehouse.store.delete(await lakeKeys(gw));
    // the read cache of an S3 lake still has copies; a fresh process would not
    await fs.rm(path.join(gw.lakeSettings.dataDir, 'tmp', 'cache'), { recursive: true, force: true });

    const lost = await verify(gw, 'orders');
    if (gw.lakehouse.store.localPath('probe')) {
      expect(lost.ok).toBe(false);
      expect(lost.error).toMatch(/could not be read/);
    }

    const rebuilt = await rebuild(gw, 'orders');
    expect(rebuilt).toMatchObject({ rebuilt: true });
    expect(rebuilt.buffered_absorbed).toBe(2);
    expect(rebuilt.added).toEqual([expect.objectContaining({ kind: 'base', role: 'present', rows: rebuilt.rows })]);
    expect(rebuilt.removed.length).toBeGreaterThan(0);
    expect((await rebuild(gw, 'customers')).rebuilt).toBe(true);

    expect(await verify(gw, 'orders')).toMatchObject({ ok: true, error: null });
    await expectSearchEqualsTruth(gw, 'after the rebuild');
    const gone = await gw.gql(`{ orders(where: {row_id: {_in: ["${ids[0]}", "${ids[2]}"]}}) { row_id } }`);
    expect(gone.data.orders).toEqual([]);
    const ledger = await changeLedger(gw, orders);
    expect(ledger.buffer).toEqual([]);
    expect(ledger.duplicates).toEqual([]);

    // later changes buffer above the rebuilt slot, flush and compact as usual
    await gw.oltp.writer.update(orders, ids[4]!, { note: 'after the rebuild' });
    await gw.oltp.writer.softDelete(orders, ids[5]!);
    expect(await verify(gw, 'orders')).toMatchObject({ ok: true });
    await gw.lakehouse.admin.flush(orders, true);
    await gw.lakehouse.admin.compact(orders, true);
    expect(await verify(gw, 'orders')).toMatchObject({ ok: true });
    await expectSearchEqualsTruth(gw, 'after changes on the rebuilt lake');
  });

  it('a rebuild past the base target size writes fixed-range historical files that new rows and later compactions build on', async () => {
    const orders = gw.catalog.entity('orders');
    await seed(gw, random, 300);
    const deps = gw.lakehouse.compactDeps;
    const outcome = await rebuildSchema({ ...deps, settings: { ...deps.settings, baseTargetBytes: 4_096, minBaseFileRows: 100 } }, orders, { trigger: 'test' });
    expect(outcome.status).toBe('rebuilt');
    const added = outcome.status === 'rebuilt' ? outcome.added : [];
    expect(added.length).toBeGreaterThan(1);
    expect(added.every((f) => f.role === 'historical' && f.kind === 'base')).toBe(true);
    const live = await liveFiles(gw.oltp.pool, orders);
    expect(live.map((f) => f.path).sort()).toEqual(added.map((f) => f.path).sort());
    for (let i = 1; i < live.length; i++) expect(live[i]!.rowIdMin > live[i - 1]!.rowIdMax || live[i - 1]!.rowIdMin > live[i]!.rowIdMax).toBe(true);
    expect(await verify(gw, 'orders')).toMatchObject({ ok: true });

    await seed(gw, random, 20);
    await gw.lakehouse.admin.flush(orders, true);
    await gw.lakehouse.admin.compact(orders, true);
    expect(await verify(gw, 'orders')).toMatchObject({ ok: true });
    await expectSearchEqualsTruth(gw, 'after a split rebuild and a compaction');
  });

  it('a rebuild beside concurrent writers loses and doubles nothing', async () => {
    const orders = gw.catalog.entity('orders');
    const customers = (await readTruth(gw)).get('customers')!;
    const customerIds = [...customers.keys()];
    const writeRandom = seededRandom(99);
    let stop = false;
    let writes = 0;
    const writer = (async () => {
      while (!stop) {
        const [row] = await gw.oltp.writer.insert(orders, [demoOrder(writeRandom, customerIds)]);
        await gw.oltp.writer.update(orders, row!.row_id, { quantity: writes });
        if (writes % 3 === 0) await gw.oltp.writer.softDelete(orders, row!.row_id);
        writes++;
      }
    })();
    try {
      for (let i = 0; i < 4; i++) {
        expect((await rebuild(gw, 'orders')).rebuilt).toBe(true);
        const during = await verify(gw, 'orders');
        expect(during.ok, JSON.stringify(during)).toBe(true);
        await gw.lakehouse.admin.flush(orders, true);
      }
    } finally {
      stop = true;
      await writer;
    }
    expect(writes).toBeGreaterThan(10);
    expect(await verify(gw, 'orders')).toMatchObject({ ok: true, concurrent: 0 });
    await expectSearchEqualsTruth(gw, 'after rebuilds beside writers');
    expect((await changeLedger(gw, orders)).duplicates).toEqual([]);
  });
});

describe('verify and rebuild with every attribute type at its edges', () => {
  const THINGS = {
    project: 'typed',
    entities: [
      OWNERS_ENTITY,
      { id: 2, name: 'things', attributes: attributesOfEveryType() },
    ],
  };
  let gw: TestGateway;
  beforeAll(async () => {
    const dir = await scratchDir('schema-');
    await fs.writeFile(path.join(dir, 'typed.json'), JSON.stringify(THINGS));
    gw = await startTestGateway({ schemaDir: dir });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('the truth and the lake agree on strings, 64-bit ints, floats, the first and last dates and times, refs and JSON, in every tier', async () => {
    const owner = await gw.gql(`mutation { insert_owners_one(object: {label: "o"}) { row_id } }`);
    const r = owner.data.insert_owners_one.row_id;
    const objects = [
      { s: 'a\r\nb "q" \\ 😀 \u2028', i: '-9223372036854775808', f: 5e-324, b: true, t: '0001-01-01T00:00:00Z', d: '0001-01-01', e: 'A', r, j: { a: { b: [1, 2, { c: 'ü', d: null }] }, 'k "q"': 'v' } },
      { s: '', i: '9223372036854775807', f: 1.7976931348623157e308, b: false, t: '9999-12-31T23:59:59.999Z', d: '9999-12-31', e: 'B', j: [1, 'two', null, true, [], {}] },
      { s: '\uFEFFbom', i: '9007199254740993', f: 0.1, t: '2026-06-30T23:30:00.123+14:00', d: '2024-02-29', j: { big: 12345678901234567000, tiny: 5e-324, neg: -1.5e-10 } },
      { i: '0', f: -1e308, j: 'just\r\na string' },
      { j: 42 },
      {},
    ];
    const res = await gw.gql(`mutation($o: [things_insert_input!]!) { insert_things(objects: $o) { affected_rows } }`, { o: objects });
    expect(res.errors).toBeUndefined();
    expect(await verify(gw, 'things')).toMatchObject({ ok: true, truth_rows: 6, lake_rows: 6 });
    await gw.lakehouse.admin.flush(gw.catalog.entity('things'), true);
    expect(await verify(gw, 'things')).toMatchObject({ ok: true, truth_rows: 6, lake_rows: 6 });
    await gw.lakehouse.admin.compact(gw.catalog.entity('things'), true);
    const compacted = await verify(gw, 'things');
    expect(compacted).toMatchObject({ ok: true });
    expect((await rebuild(gw, 'things')).rows).toBe(6);
    const rebuilt = await verify(gw, 'things');
    expect(rebuilt).toMatchObject({ ok: true, truth_rows: 6, lake_rows: 6 });
    // the rebuilt file holds what the flushed one held: the same hash over the same rows
    expect(rebuilt.lake_hash).toBe(compacted.lake_hash);
  });
});
