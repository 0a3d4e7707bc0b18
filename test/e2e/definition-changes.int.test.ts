// Two gateway processes on one database with different schema definitions (a rolling deploy), and
// the definition changes refused at start: no value is lost between them, no change crashes.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { liveFiles } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { scratchDir } from '../support/scratch.js';

type AttributeDef = Record<string, unknown>;

const BASE: AttributeDef[] = [
  { name: 'name', type: 'string' },
  { name: 'size', type: 'int' },
  { name: 'status', type: 'enum', values: ['NEW', 'DONE'] },
];
const COLOR: AttributeDef = { name: 'color', type: 'string' };

async function schemaDir(attributes: AttributeDef[], entities: object[] = []): Promise<string> {
  const dir = await scratchDir('schema-');
  await fs.writeFile(
    path.join(dir, 'shop.json'),
    JSON.stringify({ project: 'shop', entities: [{ id: 1, name: 'items', attributes }, ...entities] }),
  );
  return dir;
}

const open: TestGateway[] = [];
/** Starts a gateway; the first one creates the database, later ones join it as other processes. */
async function gatewayOn(attributes: AttributeDef[]): Promise<TestGateway> {
  const first = open[0];
  const gw = await startTestGateway({
    schemaDir: await schemaDir(attributes),
    ...(first ? { databaseUrl: first.databaseUrl, lake: { lakeUrl: first.lakeSettings.lakeUrl } } : {}),
  });
  open.push(gw);
  return gw;
}
afterEach(async () => {
  // Joined processes first: the first one drops the database and removes the lake.
  for (const gw of open.splice(0).reverse()) await gw.close();
});

/** What a process with `color` answers about the red rows: search, count, point lookup. */
async function redAsSeenBy(gw: TestGateway, rowId: string) {
  const res = await gw.gql(
    `query ($id: UUID!) {
       items(where: {color: {_eq: "red"}}, order_by: [{row_id: asc}]) { row_id color size }
       items_aggregate(where: {color: {_eq: "red"}}) { aggregate { count } }
       all: items_aggregate { aggregate { count } }
       items_by_pk(row_id: $id) { color size }
     }`,
    { id: rowId },
  );
  expect(res.errors).toBeUndefined();
  return res.data as {
    items: { row_id: string; color: string; size: number | null }[];
    items_aggregate: { aggregate: { count: number } };
    all: { aggregate: { count: number } };
    items_by_pk: { color: string | null; size: number | null };
  };
}

async function insertRed(gw: TestGateway, name: string): Promise<string> {
  const res = await gw.gql(`mutation ($n: String) { insert_items_one(object: {name: $n, color: "red", size: 1}) { row_id } }`, { n: name });
  expect(res.errors).toBeUndefined();
  return res.data.insert_items_one.row_id as string;
}

describe('two processes on different definitions', () => {
  it('an enum value added by the newer definition is a clear error in the older one, not an internal error', async () => {
    const older = await gatewayOn(BASE);
    const newer = await gatewayOn(BASE.map((a) => (a.name === 'status' ? { ...a, values: ['NEW', 'DONE', 'LATER'] } : a)));
    await newer.gql(`mutation { insert_items(objects: [{name: "l", status: LATER}, {name: "n", status: NEW}]) { affected_rows } }`);

    const list = await older.gql(`{ items(order_by: [{name: asc}]) { name status } }`);
    expect(list.data.items).toEqual([{ name: 'l', status: null }, { name: 'n', status: 'NEW' }]);
    const groups = await older.gql(`{ items_aggregate(group_by: [status]) { groups { key { status } aggregate { count } } } }`);
    for (const res of [list, groups]) {
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['CONFIG']);
      expect(res.errors?.[0]?.message).toContain('items.status: the stored value "LATER" is not in this process\'s definition');
    }
  });

  it('a value written by the newer definition survives a flush by the older one', async () => {
    const older = await gatewayOn(BASE);
    const newer = await gatewayOn([...BASE, COLOR]);
    const id = await insertRed(newer, 'a');

    await older.lakehouse.admin.flush(older.catalog.entity('items'), true);

    const seen = await redAsSeenBy(newer, id);
    expect(seen.items).toEqual([{ row_id: id, color: 'red', size: 1 }]);
    expect(seen.items_aggregate.aggregate.count).toBe(1);
    expect(seen.items_by_pk.color).toBe('red');
    const files = await liveFiles(newer.oltp.pool, newer.catalog.entity('items'));
    expect(files.map((f) => f.columns.includes('color'))).toEqual([true]);
  });

  it('an update and a delete by the older definition keep the newer one’s value through flush and compaction', async () => {
    const older = await gatewayOn(BASE);
    const newer = await gatewayOn([...BASE, COLOR]);
    const items = older.catalog.entity('items');
    const id = await insertRed(newer, 'a');
    const gone = await insertRed(newer, 'b');

    const updated = await older.gql(`mutation ($id: UUID!) { update_items_by_pk(row_id: $id, _set: {size: 7}) { size } }`, { id });
    expect(updated.errors).toBeUndefined();
    expect(updated.data.update_items_by_pk.size).toBe(7);
    // The older process's point lookup shows only what its definition has.
    const own = (await older.oltp.readRows(items, [id])).get(id)!;
    expect(Object.keys(own.values).sort()).toEqual(['name', 'size', 'status']);

    // Before any flush: the buffered snapshot of the update still has the colour.
    let seen = await redAsSeenBy(newer, id);
    expect(seen.items.map((r) => [r.row_id, r.color, r.size])).toEqual(
      [[id, 'red', 7], [gone, 'red', 1]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );

    expect((await older.gql(`mutation ($id: UUID!) { delete_items_by_pk(row_id: $id) { row_id } }`, { id: gone })).errors).toBeUndefined();
    await older.lakehouse.admin.flush(items, true);
    seen = await redAsSeenBy(newer, id);
    expect(seen.items).toEqual([{ row_id: id, color: 'red', size: 7 }]);
    expect(seen.items_aggregate.aggregate.count).toBe(1);
    expect(seen.all.aggregate.count).toBe(1);
    expect(seen.items_by_pk).toEqual({ color: 'red', size: 7 });

    // A file the newer process flushes (with the column) and one the older flushed, compacted by the older.
    const later = await insertRed(newer, 'c');
    await newer.lakehouse.admin.flush(newer.catalog.entity('items'), true);
    const compacted = await older.lakehouse.admin.compact(items, true);
    expect(compacted.compacted).toBe(true);
    seen = await redAsSeenBy(newer, later);
    expect(seen.items.map((r) => r.row_id).sort()).toEqual([id, later].sort());
    expect(seen.items_aggregate.aggregate.count).toBe(2);
    expect(seen.all.aggregate.count).toBe(2);
    expect(seen.items_by_pk.color).toBe('red');
    const older_count = await older.gql(`{ items_aggregate { aggregate { count } } }`);
    expect(older_count.data.items_aggregate.aggregate.count).toBe(2);
  });

  it('values of every type that only the newer definition has survive an update, flush and compaction by the older one', async () => {
    const extras: AttributeDef[] = [
      { name: 'c_int', type: 'int' },
      { name: 'c_float', type: 'float' },
      { name: 'c_bool', type: 'boolean' },
      { name: 'c_ts', type: 'timestamp' },
      { name: 'c_date', type: 'date' },
      { name: 'c_enum', type: 'enum', values: ['A', 'B'] },
      { name: 'c_ref', type: 'ref', entity: 'items' },
      { name: 'c_json', type: 'json' },
    ];
    const older = await gatewayOn(BASE);
    const newer = await gatewayOn([...BASE, ...extras]);
    const target = (await newer.gql(`mutation { insert_items_one(object: {name: "target"}) { row_id } }`)).data.insert_items_one.row_id as string;
    const values = {
      c_int: '9007199254740993',
      c_float: 1.5,
      c_bool: true,
      c_ts: '2026-01-02T03:04:05.678Z',
      c_date: '2026-02-03',
      c_enum: 'B',
      c_json: { a: [1, 'x'], b: null },
    };
    const inserted = await newer.gql(
      `mutation ($o: items_insert_input!) { insert_items_one(object: $o) { row_id } }`,
      { o: { name: 'all', ...values, c_ref: target } },
    );
    expect(inserted.errors).toBeUndefined();
    const id = inserted.data.insert_items_one.row_id as string;

    expect((await older.gql(`mutation ($id: UUID!) { update_items_by_pk(row_id: $id, _set: {size: 5}) { size } }`, { id })).errors).toBeUndefined();
    const items = older.catalog.entity('items');
    await older.lakehouse.admin.flush(items, true);
    expect((await older.lakehouse.admin.compact(items, true)).compacted).toBe(true);

    const fields = `size c_int c_float c_bool c_ts c_date c_enum c_json c_ref { row_id }`;
    const res = await newer.gql(
      `query ($id: UUID!) { items(where: {row_id: {_eq: $id}}) { ${fields} } items_by_pk(row_id: $id) { ${fields} } }`,
      { id },
    );
    expect(res.errors).toBeUndefined();
    const expected = { size: 5, ...values, c_ref: { row_id: target } };
    expect(res.data.items).toEqual([expected]);
    expect(res.data.items_by_pk).toEqual(expected);
  });

  it('an attribute dropped from the definition and added back keeps its values through flush and compaction', async () => {
    const before = await gatewayOn([...BASE, COLOR]);
    const id = await insertRed(before, 'a');
    await before.lakehouse.admin.flush(before.catalog.entity('items'), true);

    // Dropped: this process does not show color, and its update, flush and compaction carry it.
    const dropped = await gatewayOn(BASE);
    const items = dropped.catalog.entity('items');
    const noColor = await dropped.gql(`{ items { color } }`);
    expect(noColor.errors?.[0]?.message).toMatch(/Cannot query field "color"/);
    expect((await dropped.gql(`mutation ($id: UUID!) { update_items_by_pk(row_id: $id, _set: {size: 3}) { size } }`, { id })).errors).toBeUndefined();
    await dropped.lakehouse.admin.flush(items, true);
    expect((await dropped.lakehouse.admin.compact(items, true)).compacted).toBe(true);

    // Added back with the same type: the values are there, in the lake and the OLTP store alike.
    const readded = await gatewayOn([...BASE, COLOR]);
    const seen = await redAsSeenBy(readded, id);
    expect(seen.items).toEqual([{ row_id: id, color: 'red', size: 3 }]);
    expect(seen.items_by_pk).toEqual({ color: 'red', size: 3 });
  });
});

/** The ConfigError message starting a process with these attributes gives; fails when it starts. */
async function refusal(attributes: AttributeDef[], entities: object[] = []): Promise<string> {
  const first = open[0];
  const dir = await schemaDir(attributes, entities);
  try {
    open.push(
      await startTestGateway({
        schemaDir: dir,
        ...(first ? { databaseUrl: first.databaseUrl, lake: { lakeUrl: first.lakeSettings.lakeUrl } } : {}),
      }),
    );
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the definition to be refused at start');
}

describe('definition changes refused at start', () => {
  it('removing an enum value the database has seen names the file, entity, attribute and value', async () => {
    await gatewayOn(BASE.map((a) => (a.name === 'status' ? { ...a, values: ['NEW', 'DONE', 'ARCHIVED'] } : a)));
    const message = await refusal(BASE);
    expect(message).toContain('shop.json');
    expect(message).toMatch(/items\.status/);
    expect(message).toContain('"ARCHIVED"');
  });

  it('adding an enum value is allowed, and the older list is then refused', async () => {
    await gatewayOn(BASE);
    await gatewayOn(BASE.map((a) => (a.name === 'status' ? { ...a, values: ['NEW', 'DONE', 'LATER'] } : a)));
    expect(await refusal(BASE)).toContain('"LATER"');
  });

  it('changing an attribute’s type names the file, entity, attribute and both types', async () => {
    await gatewayOn([...BASE, COLOR]);
    const message = await refusal([...BASE, { name: 'color', type: 'int' }]);
    expect(message).toContain('shop.json');
    expect(message).toMatch(/items\.color: defined as int but stored as string/);
  });

  it('a changing type refused at start registers nothing of that definition', async () => {
    const gw = await gatewayOn(BASE);
    await refusal([{ name: 'size', type: 'string' }, { name: 'weight', type: 'float' }]);
    const { rows } = await gw.oltp.pool.query(`SELECT name FROM eav_attribute WHERE name = 'weight'`);
    expect(rows).toEqual([]);
  });

  it('a timestamp created beside a date created_day is refused: their group keys would share a name', async () => {
    const message = await refusal([
      { name: 'created', type: 'timestamp' },
      { name: 'created_day', type: 'date' },
    ]);
    expect(message).toContain('shop.json');
    expect(message).toContain('created_day');
  });

  it('an entity x beside an entity x_aggregate is refused with a clear error, not a crash while building the schema', async () => {
    const message = await refusal(BASE, [{ id: 2, name: 'items_aggregate', attributes: [{ name: 'n', type: 'int' }] }]);
    expect(message).toContain('shop.json');
    expect(message).toMatch(/"items_aggregate"/);
  });
});
