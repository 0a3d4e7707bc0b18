// The emitted DuckDB DDL, run by a DuckDB of its own over the lake's files, answers what the gateway
// answers (after a flush, so nothing is buffered): last write wins, deletes dropped, only live files.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferStats } from '../../src/oltp/index.js';
import { externalDdl, liveFiles, type ManifestFile } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
let lakeRoot: string;
const orders = () => gw.catalog.entity('orders');

interface OrderRow {
  row_id: string;
  time_slot: string;
  customer: string | null;
  total: number | null;
  quantity: string | null;
  paid: boolean | null;
  placed_at: number | null;
  note: string | null;
}

async function ok<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await gw.gql<T>(query, variables, { admin: true });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!;
}

const flush = () => ok(`mutation { flush(entity: "orders", force: true) { flushed } }`);
const compact = () => ok(`mutation { compact(entity: "orders", force: true) { compacted removed } }`);

async function insertOrders(customers: string[], count: number, seed: number): Promise<string[]> {
  const objects = Array.from({ length: count }, (_, i) => ({
    customer: customers[(seed + i) % customers.length],
    total: Math.round((seed * 31 + i * 7.25) * 100) / 100,
    quantity: (seed + i) % 9,
    paid: i % 2 === 0,
    placed_at: new Date(Date.UTC(2025, seed % 12, 1 + (i % 28), i % 24, 30)).toISOString(),
    note: i % 3 === 0 ? null : `note ${seed}-${i} 'quoted' ✓`,
  }));
  const data = await ok(`mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { returning { row_id } } }`, { o: objects });
  return data.insert_orders.returning.map((r: { row_id: string }) => r.row_id);
}

const update = (id: string, set: Record<string, unknown>) =>
  ok(`mutation($id: UUID!, $s: orders_set_input!) { update_orders_by_pk(row_id: $id, _set: $s) { row_id } }`, { id, s: set });
const remove = (id: string) => ok(`mutation($id: UUID!) { delete_orders_by_pk(row_id: $id) { row_id } }`, { id });

/** The gateway's answer: every live order, by row_id. */
async function gatewayRows(): Promise<OrderRow[]> {
  const data = await ok(`{ orders(limit: 1000, order_by: {row_id: asc}) { row_id time_slot customer { row_id } total quantity paid placed_at note } }`);
  return data.orders.map((o: any) => ({
    row_id: o.row_id,
    time_slot: String(o.time_slot),
    customer: o.customer?.row_id ?? null,
    total: o.total,
    quantity: o.quantity === null ? null : String(o.quantity),
    paid: o.paid,
    placed_at: o.placed_at === null ? null : Date.parse(o.placed_at),
    note: o.note,
  }));
}

/** Runs `ddl` in a DuckDB of its own (not the gateway's) and reads the view the way gatewayRows reads the API. */
async function viewRows(ddl: string): Promise<OrderRow[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(ddl);
    const reader = await connection.runAndReadAll(
      `SELECT row_id, time_slot::VARCHAR AS time_slot, customer, total, quantity::VARCHAR AS quantity, paid,
              epoch_ms(placed_at) AS placed_at, note
         FROM "demo__orders" ORDER BY row_id`,
    );
    return reader.getRowObjects().map((r) => ({
      row_id: r.row_id as string,
      time_slot: r.time_slot as string,
      customer: r.customer as string | null,
      total: r.total as number | null,
      quantity: r.quantity as string | null,
      paid: r.paid as boolean | null,
      placed_at: r.placed_at === null ? null : Number(r.placed_at as bigint),
      note: r.note as string | null,
    }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function duckdbDdl(files?: ManifestFile[]): Promise<string> {
  const entity = orders();
  return externalDdl({
    engine: 'duckdb',
    entity,
    files: files ?? (await liveFiles(gw.oltp.pool, entity)),
    location: lakeRoot,
    listedAt: new Date(),
    buffered: { rows: 0, newestSlot: null },
  });
}

let deletedInA: string[] = [];
let replacedDelta: string;

beforeAll(async () => {
  gw = await startTestGateway();
  lakeRoot = fileURLToPath(gw.lakeSettings.lakeUrl);
  const customers = (
    await ok(`mutation { insert_customers(objects: [{name: "Ada"}, {name: "Bo"}, {name: "Cy"}]) { returning { row_id } } }`)
  ).insert_customers.returning.map((r: { row_id: string }) => r.row_id) as string[];

  // Base: 40 orders, compacted.
  const first = await insertOrders(customers, 40, 1);
  await flush();
  await compact();

  // Batch A: updates, deletes and inserts in one delta file, then compacted: the compaction drops
  // A's deleted rows and replaces the base file and A's delta file.
  for (const id of first.slice(0, 8)) await update(id, { total: 999.5, note: 'changed in A' });
  deletedInA = first.slice(8, 13);
  for (const id of deletedInA) await remove(id);
  const insertedA = await insertOrders(customers, 6, 2);
  await flush();
  const [deltaA] = (await liveFiles(gw.oltp.pool, orders())).filter((f) => f.kind === 'delta');
  replacedDelta = deltaA!.path;
  await compact();

  // Batch B: a row updated again, a row updated then deleted, inserts updated before the flush.
  for (const id of first.slice(0, 2)) await update(id, { quantity: 77, paid: null });
  await update(first[13]!, { note: 'about to go' });
  for (const id of [first[13]!, first[14]!, insertedA[0]!]) await remove(id);
  const insertedB = await insertOrders(customers, 4, 3);
  for (const id of insertedB.slice(0, 2)) await update(id, { placed_at: '2024-02-29T23:59:59.999Z', customer: customers[0] });
  await flush();

  // Batch C: a later delta file over B's rows.
  await update(first[0]!, { note: null, total: null });
  await update(insertedB[0]!, { note: 'changed in C' });
  await remove(insertedB[3]!);
  await flush();
}, 120_000);
afterAll(() => gw?.close());

describe('lake ddl (DuckDB dialect) over the gateway’s own lake', () => {
  it('answers exactly what the gateway answers after a flush, over base and delta files with updates, deletes and inserts', async () => {
    expect((await bufferStats(gw.oltp.pool, orders())).rows).toBe(0);
    const files = await liveFiles(gw.oltp.pool, orders());
    expect(files.filter((f) => f.kind === 'base').length).toBeGreaterThan(0);
    expect(files.filter((f) => f.kind === 'delta').length).toBe(2);

    const expected = await gatewayRows();
    expect(expected).toHaveLength(40 - 5 - 2 + 6 - 1 + 4 - 1);
    expect(await viewRows(await duckdbDdl(files))).toEqual(expected);
  });

  it('the CLI prints that DDL for the entity it is asked about, naming the buffered changes it cannot see', { timeout: 60_000 }, async () => {
    await update((await gatewayRows())[0]!.row_id, { note: 'buffered, not flushed' }); // one change the view cannot see
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'lake', 'ddl', '--engine', 'duckdb', '--entity', 'orders', '--project', 'demo'], {
      env: { PATH: process.env.PATH, DATABASE_URL: gw.databaseUrl, LAKE_URL: gw.lakeSettings.lakeUrl, DATA_DIR: path.dirname(lakeRoot), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('-- demo.orders (schema_id 2) for duckdb');
    expect(stdout).toMatch(/at listing 1 were buffered, up to time_slot \d+/);
    expect(stdout).not.toContain('demo__customers');
    // The view is the lake as flushed: the buffered note is not in it, the gateway already shows it.
    const fromCli = await viewRows(stdout);
    const now = await gatewayRows();
    expect(fromCli.find((r) => r.note === 'buffered, not flushed')).toBeUndefined();
    expect(now.filter((r) => r.note === 'buffered, not flushed')).toHaveLength(1);
    await flush();
    expect(await viewRows(await duckdbDdl())).toEqual(await gatewayRows());
  });

  it('would differ from the gateway without last-write-wins, without the delete filter, or reading whole directories mid-GC', async () => {
    const ddl = await duckdbDdl();
    const expected = await gatewayRows();
    const withoutLww = ddl.replace('"_lww_rank" = 1 AND ', '');
    const withoutDeleteFilter = ddl.replace(' AND ("deleted_at" IS NULL OR "deleted_at" = 0)', '');
    const everyFile = ddl.replace(/parse_filename\("_lake_file"\) IN \([^)]*\)/g, 'true');
    for (const variant of [withoutLww, withoutDeleteFilter, everyFile]) expect(variant).not.toBe(ddl);

    expect((await viewRows(withoutLww)).length).toBeGreaterThan(expected.length);
    expect(await viewRows(withoutDeleteFilter)).not.toEqual(expected);

    // GC deletes replaced files one by one: take A's replaced delta file (its tombstones) while the
    // replaced base file (the deleted rows' old versions) is still there.
    expect(replacedDelta).toMatch(/\/delta\//);
    await gw.lakehouse.store.delete([replacedDelta]);
    expect(await viewRows(ddl)).toEqual(expected);
    const revived = (await viewRows(everyFile)).filter((r) => deletedInA.includes(r.row_id));
    expect(revived.map((r) => r.row_id).sort()).toEqual([...deletedInA].sort());
  });
});
