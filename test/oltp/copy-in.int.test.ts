// The binary COPY writer of the write path: each type as Postgres reads its text form, rows across
// many chunks, failures that leave the connection usable, and the writer's inserts through it (every
// value read back from the EAV store; a row_id a concurrent insert took first is a conflict).
import pino from 'pino';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog, parseProjectDefinition } from '../../src/catalog/index.js';
import { uuidv7 } from 'uuidv7';
import { ConflictError, ValidationError } from '../../src/errors/index.js';
import { COPY_MIN_ROWS, copyIn, type CopyTuples } from '../../src/oltp/copy-in.js';
import { isUuidV7, openOltpStore, type AttributeInput, type OltpStore, type PgClient } from '../../src/oltp/index.js';
import { attributesOfEveryType, OWNERS_ENTITY } from '../support/definitions.js';
import { createTestDatabase } from '../support/postgres.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let client: PgClient;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 1 });
  client = await pool.connect();
  await client.query(`CREATE TABLE every_type (
    n int4 PRIMARY KEY, u uuid, s int2, b int8, f float8, o bool, x text, j jsonb, ts timestamptz, d date)`);
});
afterAll(async () => {
  client?.release();
  await pool?.end();
  await database?.drop();
});

interface Row {
  n: number;
  u: string | null;
  s: number | null;
  b: bigint | null;
  f: number | null;
  o: boolean | null;
  x: string | null;
  j: string | null;
  ts: Date | null;
  d: string | null;
}

const EMPTY: Omit<Row, 'n'> = { u: null, s: null, b: null, f: null, o: null, x: null, j: null, ts: null, d: null };

const EDGES: Omit<Row, 'n'>[] = [
  { u: '00000000-0000-0000-0000-000000000000', s: -32768, b: -(2n ** 63n), f: -1.7976931348623157e308, o: false, x: '', j: '{}', ts: new Date('0001-01-01T00:00:00.000Z'), d: '0001-01-01' },
  { u: 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', s: 32767, b: 2n ** 63n - 1n, f: 5e-324, o: true, x: 'a\tb\nc\\d\r"e\'', j: '[1, "two", null, true, {"k": [2.5e-10]}]', ts: new Date('9999-12-31T23:59:59.999Z'), d: '9999-12-31' },
  { u: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', s: 0, b: 0n, f: -2.5, o: null, x: '😀 é 中 \u2028 \uffff', j: '"just a string with \\" and \\u00e9"', ts: new Date('1999-12-31T23:59:59.999Z'), d: '1999-12-31' },
  { u: null, s: 1, b: 9_007_199_254_740_993n, f: 0.1, o: true, x: 'x'.repeat(300_000), j: '{"big": 12345678901234567890, "ü": "v"}', ts: new Date('2000-01-01T00:00:00.000Z'), d: '2000-01-01' },
  { u: '7fffffff-0000-7000-8000-000000000001', s: -1, b: -1n, f: 1e19, o: false, x: null, j: null, ts: new Date('1969-07-20T20:17:40.001Z'), d: '2024-02-29' },
  { ...EMPTY },
];

function writeRow(out: CopyTuples, row: Row): void {
  const field = <T>(value: T | null, write: (value: T) => void) => (value === null ? out.null() : write(value));
  out.tuple(10);
  out.int4(row.n);
  field(row.u, (v) => out.uuid(v));
  field(row.s, (v) => out.int2(v));
  field(row.b, (v) => out.int8(v));
  field(row.f, (v) => out.float8(v));
  field(row.o, (v) => out.bool(v));
  field(row.x, (v) => out.text(v));
  field(row.j, (v) => out.jsonb(v));
  field(row.ts, (v) => out.timestamptz(v));
  field(row.d, (v) => out.date(v));
}

const COPY = 'COPY every_type (n, u, s, b, f, o, x, j, ts, d) FROM STDIN (FORMAT binary)';

describe('binary COPY', () => {
  it('writes each type as Postgres reads its text form, at the edges of each type', async () => {
    const rows = EDGES.map((edge, n) => ({ n, ...edge }));
    await copyIn(client, COPY, rows, writeRow);
    for (const row of rows) {
      const { rows: checked } = await client.query(
        `SELECT u IS NOT DISTINCT FROM $2::uuid AS u, s IS NOT DISTINCT FROM $3::int2 AS s, b IS NOT DISTINCT FROM $4::int8 AS b,
                f IS NOT DISTINCT FROM $5::float8 AS f, o IS NOT DISTINCT FROM $6::bool AS o, x IS NOT DISTINCT FROM $7::text AS x,
                j IS NOT DISTINCT FROM $8::jsonb AS j, ts IS NOT DISTINCT FROM $9::timestamptz AS ts, d IS NOT DISTINCT FROM $10::date AS d
           FROM every_type WHERE n = $1`,
        [row.n, row.u, row.s, row.b?.toString() ?? null, row.f, row.o, row.x, row.j, row.ts?.toISOString() ?? null, row.d],
      );
      expect(checked, `row ${row.n}`).toEqual([{ u: true, s: true, b: true, f: true, o: true, x: true, j: true, ts: true, d: true }]);
    }
  });

  it('streams many rows in many chunks, the last one short', async () => {
    await client.query('TRUNCATE every_type');
    const rows = Array.from({ length: 30_001 }, (_, n) => ({ ...EMPTY, n, b: BigInt(n) * 3n, x: `row ${n}` }));
    await copyIn(client, COPY, rows, writeRow);
    const { rows: summary } = await client.query(`SELECT count(*)::int AS rows, sum(b)::text AS b, max(x) AS x FROM every_type`);
    expect(summary).toEqual([{ rows: 30_001, b: String(3 * ((30_000 * 30_001) / 2)), x: 'row 9999' }]);
  });

  it('rejects with Postgres’ error on a duplicate key, and the connection runs the next statement', async () => {
    await client.query('TRUNCATE every_type');
    const rows = Array.from({ length: 20_000 }, (_, n) => ({ ...EMPTY, n: n === 19_999 ? 0 : n, x: 'y'.repeat(40) }));
    const failure = await copyIn(client, COPY, rows, writeRow).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: '23505', detail: 'Key (n)=(0) already exists.' });
    expect((await client.query('SELECT count(*)::int AS n FROM every_type')).rows).toEqual([{ n: 0 }]);
  });

  it('a value the encoder refuses after chunks went out fails the COPY (nothing stored) and the connection runs the next statement', async () => {
    const rows = Array.from({ length: 20_000 }, (_, n) => ({ ...EMPTY, n, u: n === 19_000 ? 'not-a-uuid' : '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' }));
    await expect(copyIn(client, COPY, rows, writeRow)).rejects.toThrow('"not-a-uuid" is not a UUID');
    expect((await client.query('SELECT count(*)::int AS n FROM every_type')).rows).toEqual([{ n: 0 }]);
  });
});

describe('the writer’s inserts by binary COPY', () => {
  const catalog = new Catalog([
    parseProjectDefinition({ project: 'copy', entities: [OWNERS_ENTITY, { id: 2, name: 'items', attributes: attributesOfEveryType() }] }, 'copy.json'),
  ]);
  const items = catalog.entity('items');
  let store: OltpStore;
  let other: OltpStore;

  beforeAll(async () => {
    store = await openOltpStore({ databaseUrl: database.url, catalog, log: pino({ level: 'silent' }) });
    other = await openOltpStore({ databaseUrl: database.url, catalog, log: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await store?.close();
    await other?.close();
  });

  it.each([
    { path: 'statements', copies: 1 },
    { path: 'binary COPY', copies: COPY_MIN_ROWS / 4 },
  ])('stores every value as given ($path): read back from the EAV store and from change_log', async ({ copies }) => {
    const [owner] = await store.writer.insert(catalog.entity('owners'), [{ label: 'o' }]);
    const objects: AttributeInput[] = [
      { s: 'a\r\nb "q" \\ 😀', i: '-9223372036854775808', f: 5e-324, b: true, t: '0001-01-01T00:00:00Z', d: '0001-01-01', e: 'A', r: owner!.row_id, j: { a: [1, { c: 'ü', d: null }] } },
      { s: '', i: '9223372036854775807', f: -1e308, b: false, t: '9999-12-31T23:59:59.999Z', d: '9999-12-31', e: 'B', j: [1, 'two', null] },
      { i: 9_007_199_254_740_993n, t: '1999-12-31T23:59:59.999Z', d: '2000-01-01', j: 'text' },
      {},
    ];
    const snapshots = [
      { s: 'a\r\nb "q" \\ 😀', i: '-9223372036854775808', f: 5e-324, b: true, t: '0001-01-01T00:00:00.000Z', d: '0001-01-01', e: 'A', r: owner!.row_id, j: { a: [1, { c: 'ü', d: null }] } },
      { s: '', i: '9223372036854775807', f: -1e308, b: false, t: '9999-12-31T23:59:59.999Z', d: '9999-12-31', e: 'B', j: [1, 'two', null] },
      { i: '9007199254740993', t: '1999-12-31T23:59:59.999Z', d: '2000-01-01', j: 'text' },
      {},
    ];
    const written = await store.writer.insert(items, Array.from({ length: copies }, () => objects).flat());
    const read = await store.readRows(items, written.map((r) => r.row_id));
    expect(read.size).toBe(written.length);
    for (const row of written) expect(read.get(row.row_id)?.values, row.row_id).toEqual(row.values);
    const { rows: logged } = await store.pool.query<{ row_id: string; snapshot: unknown; op: string }>(
      `SELECT row_id, snapshot, op FROM change_log WHERE row_id = ANY($1::uuid[]) ORDER BY time_slot`,
      [written.map((r) => r.row_id)],
    );
    expect(logged).toEqual(written.map((row, n) => ({ row_id: row.row_id, snapshot: snapshots[n % 4], op: 'c' })));
  });

  it('each change_log row of a large insert holds its own row’s snapshot (built while the values are stored)', async () => {
    const objects = Array.from({ length: 1_201 }, (_, n) => ({ s: `large ${n}`, i: n }));
    const written = await store.writer.insert(items, objects);
    const { rows } = await store.pool.query<{ row_id: string; s: string; i: string }>(
      `SELECT row_id, snapshot->>'s' AS s, snapshot->>'i' AS i FROM change_log WHERE snapshot->>'s' LIKE 'large %' ORDER BY time_slot`,
    );
    expect(rows).toEqual(written.map((row, n) => ({ row_id: row.row_id, s: `large ${n}`, i: String(n) })));
  });

  it('updates and soft deletes of 150 rows each capture their changes by binary COPY: new values, deleted_at, ops, the version each replaced', async () => {
    const written = await store.writer.insert(items, Array.from({ length: 300 }, (_, n) => ({ s: `set ${n}`, i: n })));
    const ids = written.map((r) => r.row_id);
    const updated = await store.writer.updateRows(items, new Map(ids.slice(0, 150).map((id, n) => [id, { s: `updated ${n}`, f: n / 2 }])));
    expect(updated.size).toBe(150);
    const deleted = await store.writer.transaction(async (tx) => (await tx.write(items, { deletes: [...(await tx.lockLive(items, ids.slice(150))).values()] })).deleted);
    expect(deleted).toHaveLength(150);

    type Logged = { row_id: string; op: string; time_slot: bigint; deleted_at: bigint | null; snapshot: Record<string, unknown>; previous_slot: bigint | null; previous_values: unknown };
    const { rows } = await store.pool.query<Logged>(
      `SELECT row_id, op, time_slot, deleted_at, snapshot, previous_slot, previous_values FROM change_log WHERE row_id = ANY($1::uuid[]) AND op <> 'c' ORDER BY time_slot`,
      [ids],
    );
    // Each names the version it replaced (the insert's); an update also the values it changed had (f none).
    const insertSlot = new Map(written.map((r) => [r.row_id, r.time_slot]));
    expect(rows.map((r) => r.previous_slot)).toEqual(rows.map((r) => insertSlot.get(r.row_id)));
    expect(rows.filter((r) => r.op === 'u').map((r) => [r.row_id, r.previous_values])).toEqual(ids.slice(0, 150).map((id, n) => [id, { s: `set ${n}`, f: null }]));
    expect(rows.filter((r) => r.op === 'd').map((r) => r.previous_values)).toEqual(ids.slice(150).map(() => null));
    const updates = rows.filter((r) => r.op === 'u');
    expect(updates.map((r) => [r.row_id, r.deleted_at, r.snapshot])).toEqual(ids.slice(0, 150).map((id, n) => [id, null, { s: `updated ${n}`, i: n, f: n / 2 }]));
    const deletes = rows.filter((r) => r.op === 'd');
    expect(deletes.map((r) => r.row_id).sort()).toEqual(ids.slice(150).sort());
    for (const r of deletes) expect(r.deleted_at, r.row_id).toBe(r.time_slot);
    expect(deletes.map((r) => r.snapshot.s).sort()).toEqual(ids.slice(150).map((_, n) => `set ${150 + n}`).sort());

    const live = await store.readRows(items, ids);
    expect([...live.keys()].sort()).toEqual(ids.slice(0, 150).sort());
    for (const [n, id] of ids.slice(0, 150).entries()) expect(live.get(id)!.values).toMatchObject({ s: `updated ${n}`, i: BigInt(n), f: n / 2 });
  });

  it('checks a bulk insert’s objects as its rows are written: an invalid one late in the batch fails it, named by its position, and nothing is written', async () => {
    const objects: AttributeInput[] = Array.from({ length: 250 }, (_, n) => ({ s: `checked ${n}`, i: n }));
    objects[230] = { s: 'checked 230', i: 'two hundred' };
    const failure = await store.writer.insert(items, objects).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ValidationError);
    expect((failure as Error).message).toMatch(/^objects\[230\]: .*\bi\b/);
    const unknown = await store.writer.insert(items, [...objects.slice(0, 230), { s: 'checked 230', colour: 'red' }]).catch((error: unknown) => error);
    expect((unknown as Error).message).toBe('objects[230]: unknown attribute "colour" of items');
    const { rows } = await store.pool.query(`SELECT count(*)::int AS n FROM change_log WHERE snapshot->>'s' LIKE 'checked %'`);
    expect(rows).toEqual([{ n: 0 }]);
    const { rows: values } = await store.pool.query(`SELECT count(*)::int AS n FROM eav_value WHERE v_text LIKE 'checked %'`);
    expect(values).toEqual([{ n: 0 }]);
    // The store's connections are fine afterwards.
    expect(await store.writer.insert(items, objects.slice(0, 200))).toHaveLength(200);
  });

  it('a bulk insert naming a missing ref row fails after its values went out, and nothing of it stays', async () => {
    const [owner] = await store.writer.insert(catalog.entity('owners'), [{ label: 'ref owner' }]);
    const missing = uuidv7();
    const objects: AttributeInput[] = Array.from({ length: 150 }, (_, n) => ({ s: `missing-ref ${n}`, r: n === 120 ? missing : owner!.row_id }));
    const failure = await store.writer.insert(items, objects).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ValidationError);
    expect((failure as Error).message).toBe(`items.r: no owners row with row_id ${missing}`);
    const { rows } = await store.pool.query(`SELECT count(*)::int AS n FROM eav_value WHERE v_text LIKE 'missing-ref %'`);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('a bulk insert keeps the row_ids given and gives the others new UUID v7s, rows in the order given', async () => {
    const given = new Map(Array.from({ length: 70 }, (_, k) => [k * 3, uuidv7()]));
    const objects = Array.from({ length: 210 }, (_, n) => ({ s: `ids ${n}` }));
    const written = await store.writer.insert(items, objects, objects.map((_, n) => given.get(n)));
    expect(written.map((row) => row.values.s)).toEqual(objects.map((o) => o.s));
    for (const [n, row] of written.entries()) {
      if (given.has(n)) expect(row.row_id).toBe(given.get(n));
      else expect(isUuidV7(row.row_id), row.row_id).toBe(true);
    }
    expect(new Set(written.map((row) => row.row_id)).size).toBe(210);
    const read = await store.readRows(items, written.map((row) => row.row_id));
    expect(written.map((row) => read.get(row.row_id)?.values.s)).toEqual(objects.map((o) => o.s));
  });

  it.each([
    { path: 'statements', count: 2 },
    { path: 'binary COPY', count: COPY_MIN_ROWS + 50 },
  ])('a row_id a concurrent insert took first is a conflict naming it, and nothing of the later insert is written ($path)', async ({ count }) => {
    const rowId = uuidv7();
    let later: Promise<unknown> | undefined;
    await store.writer.insert(items, [{ s: 'first' }], [rowId], async () => {
      // The later insert passes the row_id check (nothing committed yet) and waits on the unique index.
      const objects = Array.from({ length: count }, (_, n) => ({ s: `later ${n}` }));
      later = other.writer.insert(items, objects, objects.map((_, n) => (n === count - 1 ? rowId : undefined))).catch((error: unknown) => error);
      for (let i = 0; i < 200; i++) {
        const { rows } = await store.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if (rows.length > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error('the later insert never waited on the first');
    });
    const failure = await later;
    expect(failure).toBeInstanceOf(ConflictError);
    expect((failure as Error).message).toBe(`row_id ${rowId} was inserted by a concurrent write`);
    const { rows } = await store.pool.query(`SELECT snapshot->>'s' AS s FROM change_log WHERE row_id = $1 OR snapshot->>'s' LIKE 'later%'`, [rowId]);
    expect(rows).toEqual([{ s: 'first' }]);
  });
});
