// One flush, against the local lake and a real S3 server: the file, the manifest, the buffer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCustomer, demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import { liveFiles, rowKeyOf } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { changeLedger, localCopy } from '../support/lake.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.close();
});

const FLUSH = `mutation($entity: String!, $force: Boolean) {
  flush(entity: $entity, force: $force) { entity flushed reason rows path bytes duration_ms }
}`;
const STATUS = `{ lake_status { entity buffered_rows oldest_buffered_age_ms delta_files delta_bytes base_files last_flush_at } }`;

describe.each([
  ['local lake', () => ({})],
  ['S3 lake', () => s3.settings(`flush-${Date.now()}`)],
])('flush into the %s', (_name, lake) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ lake: lake() });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('writes one sorted ZSTD Parquet delta file with typed columns and takes exactly its changes out of the buffer', async () => {
    const random = seededRandom(11);
    const customers = gw.catalog.entity('customers');
    const orders = gw.catalog.entity('orders');
    const customerRows = await gw.oltp.writer.insert(customers, [demoCustomer(random), demoCustomer(random)]);
    const inserted = await gw.oltp.writer.insert(
      orders,
      Array.from({ length: 300 }, () => demoOrder(random, customerRows.map((c) => c.row_id))),
    );
    const updated = await gw.oltp.writer.update(orders, inserted[7]!.row_id, { quantity: 4242, note: 'it\'s "quoted", with\ttab' });
    await gw.oltp.writer.softDelete(orders, inserted[8]!.row_id);
    const expected = [...inserted.map((r) => `${r.row_id}@${r.time_slot}`), `${updated!.row_id}@${updated!.time_slot}`];
    const before = await changeLedger(gw, orders);
    expect(before.buffer).toHaveLength(302);

    const res = await gw.gql(FLUSH, { entity: 'orders', force: true }, { admin: true });
    expect(res.errors).toBeUndefined();
    const report = res.data.flush;
    expect(report).toMatchObject({ entity: 'orders', flushed: true, rows: 302 });
    expect(report.path).toMatch(/^demo\/2\/delta\/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\.parquet$/);
    expect(report.bytes).toBeGreaterThan(0);

    const after = await changeLedger(gw, orders);
    expect(after.buffer).toEqual([]);
    expect(after.duplicates).toEqual([]);
    expect(after.all).toEqual(before.all);
    expect(after.all).toEqual(expect.arrayContaining(expected));
    // Other entities' buffers are not touched.
    expect((await changeLedger(gw, customers)).buffer).toHaveLength(2);

    const [file] = await liveFiles(gw.oltp.pool, orders);
    const slots = before.all.map((c) => BigInt(c.split('@')[1]!));
    expect(file).toMatchObject({ path: report.path, kind: 'delta', level: 0, rowCount: 302, bytes: report.bytes });
    expect(file!.slotMin).toBe(slots.reduce((a, b) => (a < b ? a : b)));
    expect(file!.slotMax).toBe(slots.reduce((a, b) => (a > b ? a : b)));
    const local = await localCopy(gw, report.path);

    await gw.lakehouse.duck.use(async (connection) => {
      const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${local}')`);
      expect(Object.fromEntries(described.getRowObjects().map((r) => [r.column_name, r.column_type]))).toEqual({
        time_slot: 'BIGINT',
        schema_id: 'SMALLINT',
        row_id: 'UUID',
        deleted_at: 'BIGINT',
        customer: 'UUID',
        total: 'DOUBLE',
        quantity: 'BIGINT',
        paid: 'BOOLEAN',
        placed_at: 'TIMESTAMP WITH TIME ZONE',
        note: 'VARCHAR',
        _row_key: 'BIGINT',
      });
      // The row key is each row_id's first 8 bytes (lake/columns.ts), the same as rowKeyOf says.
      const keys = await connection.runAndReadAll(`SELECT row_id::VARCHAR AS row_id, _row_key FROM read_parquet('${local}')`);
      const keyRows = keys.getRowObjects();
      expect(keyRows).toHaveLength(302);
      for (const row of keyRows) expect(row._row_key).toBe(rowKeyOf(row.row_id as string));
      expect(file!.columns).toContain('_row_key');
      const codecs = await connection.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${local}')`);
      expect(codecs.getRowObjects().map((r) => r.compression)).toEqual(['ZSTD']);

      const order = await connection.runAndReadAll(
        `SELECT bool_and(ordered) AS sorted FROM (
           SELECT (row_id, time_slot) >= lag((row_id, time_slot)) OVER (ORDER BY file_row_number) OR lag(row_id) OVER (ORDER BY file_row_number) IS NULL AS ordered
             FROM read_parquet('${local}', file_row_number = true))`,
      );
      expect(order.getRowObjects()[0]!.sorted).toBe(true);

      const versions = await connection.runAndReadAll(
        `SELECT quantity::VARCHAR AS quantity, note, deleted_at IS NOT NULL AS deleted, schema_id
           FROM read_parquet('${local}') WHERE row_id = '${inserted[7]!.row_id}' ORDER BY time_slot`,
      );
      expect(versions.getRowObjects()).toEqual([
        { quantity: String(inserted[7]!.values.quantity), note: inserted[7]!.values.note ?? null, deleted: false, schema_id: 2 },
        { quantity: '4242', note: 'it\'s "quoted", with\ttab', deleted: false, schema_id: 2 },
      ]);
      const deleted = await connection.runAndReadAll(
        `SELECT deleted_at, time_slot FROM read_parquet('${local}') WHERE row_id = '${inserted[8]!.row_id}' ORDER BY time_slot`,
      );
      const [, deletion] = deleted.getRowObjects();
      expect(deletion!.deleted_at).toBe(deletion!.time_slot);
    });

    const status = (await gw.gql(STATUS, {}, { admin: true })).data.lake_status;
    expect(status.find((s: { entity: string }) => s.entity === 'orders')).toMatchObject({
      buffered_rows: 0,
      oldest_buffered_age_ms: null,
      delta_files: 1,
      delta_bytes: report.bytes,
      base_files: 0,
    });
    expect(status.find((s: { entity: string }) => s.entity === 'orders').last_flush_at).not.toBeNull();
    expect(status.find((s: { entity: string }) => s.entity === 'customers')).toMatchObject({ buffered_rows: 2, delta_files: 0, last_flush_at: null });
  });

  it('flushes nothing when nothing is buffered, and nothing unforced below the triggers', async () => {
    const empty = await gw.gql(FLUSH, { entity: 'orders', force: true }, { admin: true });
    expect(empty.data.flush).toMatchObject({ flushed: false, rows: 0, path: null, reason: 'the buffer is empty' });
    const below = await gw.gql(FLUSH, { entity: 'customers' }, { admin: true });
    expect(below.data.flush).toMatchObject({ flushed: false, rows: 2, path: null });
    expect(below.data.flush.reason).toContain('below');
    expect(await liveFiles(gw.oltp.pool, gw.catalog.entity('customers'))).toEqual([]);
  });
});

describe('admin API guard and bad input', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('refuses flush and lake_status without the admin token', async () => {
    await gw.oltp.writer.insert(gw.catalog.entity('customers'), [{ name: 'Kept' }]);
    // A role's schema has no admin API: the fields are absent, not just refused.
    const flush = await gw.gql(FLUSH, { entity: 'customers', force: true }, { admin: false });
    // (this role may write nothing, so its schema has no mutation type at all)
    expect(flush.errors?.[0]?.message).toMatch(/Cannot query field "flush"|not configured to execute mutation/);
    expect(flush.data ?? null).toBeNull();
    const status = await gw.gql(STATUS, undefined, { admin: false });
    expect(status.errors?.[0]?.message).toContain('Cannot query field "lake_status"');
    expect((await changeLedger(gw, gw.catalog.entity('customers'))).buffer).toHaveLength(1);
  });

  it('names an unknown entity and flushes nothing', async () => {
    const res = await gw.gql(FLUSH, { entity: 'invoices', force: true }, { admin: true });
    expect(res.errors?.[0]?.message).toBe('unknown entity "invoices" in project "demo" (known: customers, orders)');
    expect((await changeLedger(gw, gw.catalog.entity('customers'))).buffer).toHaveLength(1);
  });
});
