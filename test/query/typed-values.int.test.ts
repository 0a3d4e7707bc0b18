// Filter values bound with their column's DuckDB type (not the type DuckDB guesses from the JS
// value), numeric aggregates at the edges of their types, one meaning for filters on a referenced
// row_id, and filter values outside the lake's range: all through GraphQL, across the tiers.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNERS_ENTITY, attributesOfEveryType } from '../support/definitions.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { answerList, readTruth } from '../support/oracle.js';
import { scratchDir } from '../support/scratch.js';

const DEFINITION = {
  project: 'edges',
  entities: [
    OWNERS_ENTITY,
    { id: 2, name: 'items', attributes: attributesOfEveryType({ json: false }) },
  ],
};

async function startEdges(): Promise<TestGateway> {
  const dir = await scratchDir('schema-');
  await fs.writeFile(path.join(dir, 'edges.json'), JSON.stringify(DEFINITION));
  return startTestGateway({ schemaDir: dir });
}

async function insert(gw: TestGateway, entity: string, objects: Record<string, unknown>[]): Promise<string[]> {
  const res = await gw.gql(`mutation($o: [${entity}_insert_input!]!) { insert_${entity}(objects: $o) { returning { row_id } } }`, { o: objects });
  expect(res.errors).toBeUndefined();
  return res.data[`insert_${entity}`].returning.map((r: { row_id: string }) => r.row_id);
}

async function itemIds(gw: TestGateway, where: unknown): Promise<string[]> {
  const res = await gw.gql(`query($w: items_bool_exp) { items(where: $w, limit: 1000) { row_id } }`, { w: where });
  expect(res.errors, JSON.stringify(where)).toBeUndefined();
  return res.data.items.map((r: { row_id: string }) => r.row_id);
}

/** The same values once per tier: compacted base, delta file, buffer. */
const FLOATS = [1, 1.5, 3_000_000_000, 1e19, -2.5];

describe('filter values bound with the column type, in every tier', () => {
  let gw: TestGateway;
  let owners: string[];
  const byTier: Record<'base' | 'delta' | 'buffer', string[]> = { base: [], delta: [], buffer: [] };

  beforeAll(async () => {
    gw = await startEdges();
    owners = await insert(gw, 'owners', [{ label: 'x' }, { label: 'y' }]);
    const batch = (tier: number) =>
      FLOATS.map((f, k) => ({
        s: `s${k}`,
        i: String(BigInt(k) * 3_000_000_000n),
        f,
        b: k % 2 === 0,
        t: new Date(Date.UTC(2026, 0, 1 + k, tier)).toISOString(),
        d: `2026-03-0${1 + k}`,
        e: k % 2 ? 'A' : 'B',
        r: owners[k % 2],
      }));
    const items = gw.catalog.entity('items');
    byTier.base = await insert(gw, 'items', batch(0));
    await gw.lakehouse.admin.flush(items, true);
    await gw.lakehouse.admin.flush(gw.catalog.entity('owners'), true);
    await gw.lakehouse.admin.compact(items, true);
    byTier.delta = await insert(gw, 'items', batch(1));
    await gw.lakehouse.admin.flush(items, true);
    byTier.buffer = await insert(gw, 'items', batch(2));
  });
  afterAll(async () => {
    await gw?.close();
  });

  /** Item ids of every tier whose float is one of `floats`, in row_id order (the default order). */
  const withFloats = (...floats: number[]) =>
    Object.values(byTier)
      .flatMap((ids) => ids.filter((_, k) => floats.includes(FLOATS[k]!)))
      .sort();

  it('_in of a float with an integer first ([1, 1.5]) finds both values', async () => {
    expect(await itemIds(gw, { f: { _in: [1, 1.5] } })).toEqual(withFloats(1, 1.5));
  });

  it('_gte 1e19 on a float (beyond int64 when read as an integer) compares as a double', async () => {
    expect(await itemIds(gw, { f: { _gte: 1e19 } })).toEqual(withFloats(1e19));
  });

  it('_in of a float with a value beyond int32 ([1, 3000000000]) finds both values', async () => {
    expect(await itemIds(gw, { f: { _in: [1, 3_000_000_000] } })).toEqual(withFloats(1, 3_000_000_000));
  });

  it('_nin and _eq of integer-looking floats', async () => {
    expect(await itemIds(gw, { f: { _nin: [1, 1.5, 3_000_000_000] } })).toEqual(withFloats(1e19, -2.5));
    expect(await itemIds(gw, { f: { _eq: 3_000_000_000 } })).toEqual(withFloats(3_000_000_000));
  });

  // Every column type and system column, every operator it takes: the oracle's answer.
  const matrix = (): Record<string, unknown>[] => [
    { i: { _in: [0, '3000000000'] } }, { i: { _gt: 3_000_000_000 } }, { i: { _lte: '6000000000' } }, { i: { _neq: 0 } }, { i: { _nin: ['0'] } },
    { f: { _lt: 1.5 } }, { f: { _neq: 1 } }, { f: { _gt: -3 } },
    { b: { _eq: true } }, { b: { _neq: false } },
    { t: { _gte: '2026-01-03T00:00:00Z' } }, { t: { _in: ['2026-01-01T00:00:00Z', '2026-01-02T01:00:00Z'] } }, { t: { _nin: ['2026-01-01T00:00:00Z'] } },
    { d: { _eq: '2026-03-02' } }, { d: { _in: ['2026-03-01', '2026-03-05'] } }, { d: { _lt: '2026-03-03' } }, { d: { _nin: ['2026-03-01'] } },
    { e: { _eq: 'A' } }, { e: { _in: ['B'] } }, { e: { _nin: ['A', 'B'] } },
    { s: { _in: ['s1', 's3'] } }, { s: { _gt: 's2' } }, { s: { _like: 's%' } }, { s: { _ilike: 'S1' } }, { s: { _contains: '4' } }, { s: { _starts_with: 's' } },
    { r: { label: { _eq: 'x' } } },
    { row_id: { _in: [byTier.base[0], byTier.delta[1], byTier.buffer[2]] } }, { row_id: { _eq: byTier.delta[3] } }, { row_id: { _nin: [byTier.base[0]] } },
    { time_slot: { _gt: 0 } }, { time_slot: { _in: [1, '2'] } }, { time_slot: { _lte: '9223372036854775807' } },
  ];

  it('every type and system column with every operator equals the oracle', async () => {
    const truth = await readTruth(gw);
    for (const where of matrix()) {
      const expected = answerList(gw.catalog, truth, gw.catalog.entity('items'), { where, limit: 1000 }).map((r) => r.row_id);
      expect(await itemIds(gw, where), JSON.stringify(where)).toEqual(expected);
    }
  });

  it('pages and reverse relations bind their limits, offsets and parent lists', async () => {
    const page = await gw.gql(`{ items(where: {f: {_in: [1, 1.5]}}, order_by: [{f: asc}], limit: 2, offset: 1) { f } }`);
    expect(page.errors).toBeUndefined();
    expect(page.data.items).toEqual([{ f: 1 }, { f: 1 }]);
    const nested = await gw.gql(`{ owners(order_by: [{label: asc}]) { label items(where: {f: {_in: [1, 1.5]}}, order_by: [{f: asc}], limit: 2, offset: 1) { f } } }`);
    expect(nested.errors).toBeUndefined();
    expect(nested.data.owners).toEqual([
      { label: 'x', items: [{ f: 1 }, { f: 1 }] },
      { label: 'y', items: [{ f: 1.5 }, { f: 1.5 }] },
    ]);
  });
});

describe('a ref filter on the referenced row_id means: that row exists and matches', () => {
  let gw: TestGateway;
  let live: string, gone: string;
  let ofLive: string[], ofGone: string[];
  beforeAll(async () => {
    gw = await startEdges();
    [live, gone] = (await insert(gw, 'owners', [{ label: 'live' }, { label: 'gone' }])) as [string, string];
    ofLive = await insert(gw, 'items', [{ s: 'a', r: live }]);
    await gw.lakehouse.admin.flush(gw.catalog.entity('items'), true);
    ofGone = await insert(gw, 'items', [{ s: 'b', r: gone }, { s: 'c' }]);
    const res = await gw.gql(`mutation($id: UUID!) { delete_owners_by_pk(row_id: $id) { row_id } }`, { id: gone });
    expect(res.errors).toBeUndefined();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('both forms find nothing through a deleted owner', async () => {
    expect(await itemIds(gw, { r: { row_id: { _eq: gone } } })).toEqual([]);
    expect(await itemIds(gw, { r: { _and: [{ row_id: { _eq: gone } }] } })).toEqual([]);
    expect(await itemIds(gw, { r: { row_id: { _in: [gone, live] } } })).toEqual(ofLive);
    expect(ofGone).toHaveLength(2);
  });

  it('both forms find the items of a live owner', async () => {
    expect(await itemIds(gw, { r: { row_id: { _eq: live } } })).toEqual(ofLive);
    expect(await itemIds(gw, { r: { _and: [{ row_id: { _eq: live } }] } })).toEqual(ofLive);
  });

  it('_is_null on the referenced row_id: true matches nothing, false means a live owner', async () => {
    expect(await itemIds(gw, { r: { row_id: { _is_null: true } } })).toEqual([]);
    expect(await itemIds(gw, { r: { row_id: { _is_null: false } } })).toEqual(ofLive);
    expect(await itemIds(gw, { r: { row_id: { _neq: live } } })).toEqual([]);
    expect(await itemIds(gw, { r: { row_id: { _in: [] } } })).toEqual([]);
    expect(await itemIds(gw, { _not: { r: { row_id: { _in: [] } } } })).toHaveLength(3);
  });

  it('the oracle agrees with both forms', async () => {
    const truth = await readTruth(gw);
    for (const where of [
      { r: { row_id: { _eq: gone } } },
      { r: { row_id: { _is_null: true } } },
      { r: { row_id: { _is_null: false } } },
      { _not: { r: { row_id: { _eq: gone } } } },
      { _not: { r: { row_id: { _is_null: true } } } },
    ]) {
      const expected = answerList(gw.catalog, truth, gw.catalog.entity('items'), { where, limit: 1000 }).map((r) => r.row_id);
      expect(await itemIds(gw, where), JSON.stringify(where)).toEqual(expected);
    }
  });
});

describe('sums and averages at the edges of their types', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startEdges();
    const max = '9223372036854775807';
    await insert(gw, 'items', [{ s: 'big', i: max, f: 1.7e308 }, { s: 'big', i: max, f: 1.7e308 }]);
    await gw.lakehouse.admin.flush(gw.catalog.entity('items'), true);
    await insert(gw, 'items', [{ s: 'neg', i: '-9223372036854775808', f: -1.7e308 }, { s: 'neg', i: '-9223372036854775808', f: -1.7e308 }]);
    await insert(gw, 'items', [{ s: 'one', i: max, f: 1.7e308 }]);
  });
  afterAll(async () => {
    await gw?.close();
  });

  const aggregate = (where: unknown, fields: string) =>
    gw.gql(`query($w: items_bool_exp) { items_aggregate(where: $w) { aggregate { ${fields} } } }`, { w: where });

  it('a sum of int64 values beyond the int64 range is exact (128-bit, a decimal string)', async () => {
    const res = await aggregate({ s: { _eq: 'big' } }, 'sum { i } avg { i }');
    expect(res.errors).toBeUndefined();
    expect(res.data.items_aggregate.aggregate).toEqual({ sum: { i: '18446744073709551614' }, avg: { i: 9223372036854775807 } });
    const neg = await aggregate({ s: { _eq: 'neg' } }, 'sum { i }');
    expect(neg.data.items_aggregate.aggregate.sum.i).toBe('-18446744073709551616');
  });

  it('a float sum beyond the double range is a validation error naming the field', async () => {
    for (const s of ['big', 'neg']) {
      const res = await aggregate({ s: { _eq: s } }, 'sum { f }');
      expect(res.errors?.[0]?.extensions?.code, s).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message, s).toMatch(/sum of f/);
    }
  });

  it('a float sum or average whose running total overflows but whose result fits is returned', async () => {
    const avg = await aggregate({ s: { _eq: 'big' } }, 'avg { f }');
    expect(avg.errors).toBeUndefined();
    expect(avg.data.items_aggregate.aggregate.avg.f).toBe(1.7e308);
    const mixed = await aggregate({ s: { _in: ['big', 'neg', 'one'] } }, 'sum { f } avg { f }');
    expect(mixed.errors).toBeUndefined();
    expect(mixed.data.items_aggregate.aggregate.sum.f).toBeCloseTo(1.7e308, -300);
    expect(mixed.data.items_aggregate.aggregate.avg.f).toBeCloseTo(1.7e308 / 5, -300);
  });

  it('grouped sums report the overflow of their group', async () => {
    const res = await gw.gql(`{ items_aggregate(group_by: [s]) { groups { key { s } aggregate { sum { f } } } } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toMatch(/sum of f/);
  });
});

describe('filter values outside the lake range are validation errors naming the path', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startEdges();
    await insert(gw, 'items', [{ s: 'a', d: '2026-01-01', t: '2026-01-01T00:00:00Z' }]);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it.each([
    [{ d: { _eq: '0000-01-01' } }, 'where.d._eq'],
    [{ d: { _in: ['2026-01-01', '0000-12-31'] } }, 'where.d._in[1]'],
    [{ t: { _gt: '0000-12-31T23:00:00Z' } }, 'where.t._gt'],
    [{ r: { label: { _eq: 'x' } }, _or: [{ t: { _lt: '0001-01-01T00:00:00+01:00' } }] }, 'where._or[0].t._lt'],
  ])('%j is refused by the filter binding', async (where, at) => {
    const res = await gw.gql(`query($w: items_bool_exp) { items(where: $w) { row_id } }`, { w: where });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain(at);
  });

  // Years past 9999 or before 0 do not get past the DateTime and Date scalars (a GraphQL variable error).
  it.each([
    [{ d: { _lte: '-0001-01-01' } }, 'w.d._lte'],
    [{ _or: [{ t: { _nin: ['+010000-01-01T00:00:00Z'] } }] }, 'w._or[0].t._nin[0]'],
    [{ d: { _gte: '10000-01-01' } }, 'w.d._gte'],
  ])('%j is refused by its scalar', async (where, at) => {
    const res = await gw.gql(`query($w: items_bool_exp) { items(where: $w) { row_id } }`, { w: where });
    expect(res.errors?.[0]?.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    expect(res.errors?.[0]?.message).toContain(at);
  });

  it('the first and last day of the range are accepted', async () => {
    expect(await itemIds(gw, { d: { _gte: '0001-01-01', _lte: '9999-12-31' } })).toHaveLength(1);
    expect(await itemIds(gw, { t: { _gte: '0001-01-01T00:00:00Z', _lte: '9999-12-31T23:59:59.999Z' } })).toHaveLength(1);
  });
});
