// Sorting by related data and distinct_on over base files, delta files and the unflushed buffer:
// order_by through refs (any depth), by aggregates of reverse relations, on root lists and batched
// children, and Hasura's distinct_on with its error. Referenced rows change after the rows that
// reference them were flushed: the sort follows their current version, or NULL once deleted.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactSchema } from '../../src/compaction/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { scratchDir } from '../support/scratch.js';

const SHOP = {
  project: 'shop',
  entities: [
    { id: 1, name: 'regions', attributes: [{ name: 'label', type: 'string' }] },
    {
      id: 2,
      name: 'customers',
      attributes: [
        { name: 'name', type: 'string' },
        { name: 'country', type: 'string' },
        { name: 'region', type: 'ref', entity: 'regions' },
      ],
    },
    {
      id: 3,
      name: 'orders',
      attributes: [
        { name: 'customer', type: 'ref', entity: 'customers' },
        { name: 'total', type: 'float' },
        { name: 'note', type: 'string' },
      ],
    },
  ],
};

let gw: TestGateway;
const ids: Record<string, string> = {};

async function insert(entity: string, rows: Record<string, Record<string, unknown>>): Promise<void> {
  const res = await gw.gql(`mutation($o: [${entity}_insert_input!]!) { insert_${entity}(objects: $o) { returning { row_id } } }`, { o: Object.values(rows) });
  expect(res.errors).toBeUndefined();
  Object.keys(rows).forEach((key, i) => (ids[key] = res.data[`insert_${entity}`].returning[i].row_id));
}

async function mutate(query: string, variables: Record<string, unknown>): Promise<void> {
  expect((await gw.gql(query, variables)).errors).toBeUndefined();
}

async function toBase(...entities: string[]): Promise<void> {
  for (const name of entities) {
    await gw.lakehouse.admin.flush(gw.catalog.entity(name), true);
    const outcome = await compactSchema(gw.lakehouse.compactDeps, gw.catalog.entity(name), { force: true, trigger: 'test' });
    expect(outcome.status).toBe('compacted');
  }
}

beforeAll(async () => {
  const dir = await scratchDir('schema-');
  await fs.writeFile(path.join(dir, 'shop.json'), JSON.stringify(SHOP));
  gw = await startTestGateway({ schemaDir: dir });

  // Base files: regions, Ada and Bob with Ada's orders.
  await insert('regions', { north: { label: 'North' }, south: { label: 'South' } });
  await toBase('regions');
  await insert('customers', { ada: { name: 'Ada', country: 'DE', region: ids.north }, bob: { name: 'Bob', country: 'FR', region: ids.north } });
  await insert('orders', { o1: { customer: ids.ada, total: 10 }, o2: { customer: ids.ada, total: 20 } });
  await toBase('customers', 'orders');
  // Delta files: Cyd and Eve, and orders of Bob, Cyd and Eve.
  await insert('customers', { cyd: { name: 'Cyd', country: 'DE', region: ids.south }, eve: { name: 'Eve', country: 'FR' } });
  await insert('orders', { o3: { customer: ids.bob, total: 5 }, o4: { customer: ids.cyd, total: null }, o5: { customer: ids.eve, total: 7 }, o8: { customer: ids.cyd, total: 50 } });
  for (const name of ['customers', 'orders']) await gw.lakehouse.admin.flush(gw.catalog.entity(name), true);
  // The buffer: referenced rows change after the rows referencing them were flushed; new rows.
  await mutate(`mutation($id: UUID!) { update_customers_by_pk(row_id: $id, _set: {name: "Zed"}) { row_id } }`, { id: ids.bob });
  await mutate(`mutation($id: UUID!) { update_regions_by_pk(row_id: $id, _set: {label: "Austral"}) { row_id } }`, { id: ids.south });
  await mutate(`mutation($id: UUID!) { delete_customers_by_pk(row_id: $id) { row_id } }`, { id: ids.eve });
  await mutate(`mutation($id: UUID!) { delete_orders_by_pk(row_id: $id) { row_id } }`, { id: ids.o8 });
  await insert('customers', { dan: { name: 'Dan', region: ids.south }, fay: { name: 'Fay', country: 'DE', region: ids.north } });
  await insert('orders', { o6: { customer: ids.dan, total: 30 }, o7: { total: 1 } });
});
afterAll(async () => {
  await gw?.close();
});

async function totals(orderBy: string, extra = ''): Promise<(number | null)[]> {
  const res = await gw.gql(`{ orders(order_by: ${orderBy}${extra}) { total } }`);
  expect(res.errors).toBeUndefined();
  return res.data.orders.map((o: { total: number | null }) => o.total);
}

async function names(query: string): Promise<unknown> {
  const res = await gw.gql(query);
  expect(res.errors).toBeUndefined();
  return res.data;
}

describe('order_by through an object relationship', () => {
  it.each([
    // Ada 10 20, Cyd null, Dan 30, Zed (was Bob) 5; then no current customer: Eve deleted (7), none (1).
    ['asc', [10, 20, null, 30, 5, 1, 7]],
    ['asc_nulls_last', [10, 20, null, 30, 5, 1, 7]],
    ['asc_nulls_first', [1, 7, 10, 20, null, 30, 5]],
    ['desc', [1, 7, 5, 30, null, 10, 20]],
    ['desc_nulls_first', [1, 7, 5, 30, null, 10, 20]],
    ['desc_nulls_last', [5, 30, null, 10, 20, 1, 7]],
  ])('{customer: {name: %s}} sorts by the current name, NULL for a deleted or missing customer', async (direction, expected) => {
    expect(await totals(`[{customer: {name: ${direction}}}, {total: asc}]`)).toEqual(expected);
  });

  it('goes any depth: orders by their customer’s region’s current label', async () => {
    // NULL region first (desc): Eve deleted 7 and no customer 1; North (Ada, Zed); Austral (was South; Cyd, Dan).
    expect(await totals(`[{customer: {region: {label: desc}}}, {total: asc}]`)).toEqual([1, 7, 5, 10, 20, 30, null]);
  });

  it('pages without overlap or gaps, ties broken by row_id', async () => {
    const all = await gw.gql(`{ orders(order_by: {customer: {country: asc}}) { row_id } }`);
    const pages = [];
    for (let offset = 0; offset < 7; offset += 2) {
      const page = await gw.gql(`{ orders(order_by: {customer: {country: asc}}, limit: 2, offset: ${offset}) { row_id } }`);
      pages.push(...page.data.orders);
    }
    expect(all.data.orders).toHaveLength(7);
    expect(pages).toEqual(all.data.orders);
  });
});

describe('order_by an aggregate of a reverse relation', () => {
  const customers = async (orderBy: string) =>
    ((await names(`{ customers(order_by: [${orderBy}, {name: asc}]) { name } }`)) as { customers: { name: string }[] }).customers.map((c) => c.name);

  it.each([
    // Live orders only: Ada 2, Cyd 1 (its other order deleted), Dan 1, Zed 1, Fay 0.
    ['{orders_aggregate: {count: desc}}', ['Ada', 'Cyd', 'Dan', 'Zed', 'Fay']],
    ['{orders_aggregate: {count: asc}}', ['Fay', 'Cyd', 'Dan', 'Zed', 'Ada']],
    // Sums: Ada 30, Dan 30, Zed 5; NULL for Cyd (a NULL total) and Fay (no orders).
    ['{orders_aggregate: {sum: {total: desc_nulls_last}}}', ['Ada', 'Dan', 'Zed', 'Cyd', 'Fay']],
    ['{orders_aggregate: {sum: {total: desc}}}', ['Cyd', 'Fay', 'Ada', 'Dan', 'Zed']],
    ['{orders_aggregate: {max: {total: asc}}}', ['Zed', 'Ada', 'Dan', 'Cyd', 'Fay']],
    ['{orders_aggregate: {avg: {total: asc_nulls_first}}}', ['Cyd', 'Fay', 'Zed', 'Ada', 'Dan']],
    ['{orders_aggregate: {min: {total: desc}}}', ['Cyd', 'Fay', 'Dan', 'Ada', 'Zed']],
    // Sample statistics need two values: only Ada's (10, 20) has them; population ones are 0 for one value.
    ['{orders_aggregate: {stddev: {total: asc}}}', ['Ada', 'Cyd', 'Dan', 'Fay', 'Zed']],
    ['{orders_aggregate: {var_pop: {total: desc_nulls_last}}}', ['Ada', 'Dan', 'Zed', 'Cyd', 'Fay']],
  ])('%s', async (orderBy, expected) => {
    expect(await customers(orderBy)).toEqual(expected);
  });

  it('through a ref: orders by the order count of their customer', async () => {
    // Ada's 2 orders first; then the 1-order customers' (Zed 5, Dan 30, Cyd null) by total; no current customer last.
    expect(await totals(`[{customer: {orders_aggregate: {count: desc_nulls_last}}}, {total: asc}]`)).toEqual([10, 20, 5, 30, null, 1, 7]);
    // Of a missing customer the count is NULL (last ascending), not 0.
    expect(await totals(`[{customer: {orders_aggregate: {count: asc}}}, {total: asc}]`)).toEqual([5, 30, null, 10, 20, 1, 7]);
  });

  it('sorts batched children: each region’s customers by their order count, one page each', async () => {
    const data = await names(`{ regions(order_by: {label: asc}) { label customers(order_by: [{orders_aggregate: {count: desc}}, {name: asc}], limit: 2) { name } } }`);
    expect(data).toEqual({
      regions: [
        { label: 'Austral', customers: [{ name: 'Cyd' }, { name: 'Dan' }] },
        { label: 'North', customers: [{ name: 'Ada' }, { name: 'Zed' }] },
      ],
    });
  });

  it('sorts batched children by a related field', async () => {
    const data = await names(`{ customers(where: {name: {_in: ["Ada", "Dan"]}}, order_by: {name: asc}) { name orders(order_by: [{customer: {region: {label: asc}}}, {total: desc}]) { total } } }`);
    expect(data).toEqual({ customers: [{ name: 'Ada', orders: [{ total: 20 }, { total: 10 }] }, { name: 'Dan', orders: [{ total: 30 }] }] });
  });
});

describe('distinct_on', () => {
  it('keeps the first row of each value in order_by order, a NULL value being one group', async () => {
    expect(await names(`{ customers(distinct_on: [country], order_by: [{country: asc}, {name: desc}]) { name country } }`)).toEqual({
      customers: [
        { name: 'Fay', country: 'DE' },
        { name: 'Zed', country: 'FR' },
        { name: 'Dan', country: null },
      ],
    });
  });

  it('picks the first row by a related sort after its columns', async () => {
    expect(await names(`{ customers(distinct_on: country, order_by: [{country: desc}, {orders_aggregate: {count: desc}}]) { name } }`)).toEqual({
      customers: [{ name: 'Dan' }, { name: 'Zed' }, { name: 'Ada' }],
    });
  });

  it('applies per parent among batched children, before their paging', async () => {
    const query = (page: string) =>
      names(`{ regions(order_by: {label: asc}) { customers(distinct_on: [country], order_by: [{country: asc}, {name: asc}]${page}) { name } } }`);
    expect(await query('')).toEqual({ regions: [{ customers: [{ name: 'Cyd' }, { name: 'Dan' }] }, { customers: [{ name: 'Ada' }, { name: 'Zed' }] }] });
    expect(await query(', limit: 1, offset: 1')).toEqual({ regions: [{ customers: [{ name: 'Dan' }] }, { customers: [{ name: 'Zed' }] }] });
  });

  it('on a ref column: one order per referenced row_id, dangling and NULL refs included', async () => {
    const data = (await names(`{ orders(distinct_on: [customer], order_by: [{customer: {row_id: asc}}, {total: desc}]) { total } }`)) as { orders: { total: number }[] };
    // Ada's largest (20), Zed 5, Cyd's only live order (null), Dan 30, Eve's (7, dangling), none (1).
    expect(data.orders.map((o) => o.total).sort()).toEqual([1, 20, 30, 5, 7, null].sort());
  });

  it.each([
    ['a column that is not first', `{ orders(distinct_on: [note], order_by: [{total: asc}, {note: asc}]) { total } }`, 'orders'],
    ['a related term first', `{ customers(distinct_on: [name], order_by: [{region: {label: asc}}]) { name } }`, 'customers'],
    ['among children', `{ customers { orders(distinct_on: [note], order_by: {total: asc}) { total } } }`, 'customers.orders'],
  ])('refuses order_by that does not lead with its columns: %s', async (_what, query, path) => {
    const res = await gw.gql(query);
    expect(res.errors?.[0]?.message).toBe(`${path}: "distinct_on" columns must match initial "order_by" columns`);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
