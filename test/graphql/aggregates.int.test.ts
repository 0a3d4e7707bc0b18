// Aggregates where a UI needs them, over base + delta + buffer: nested <rel>_aggregate (one
// statement per level), stddev/variance, group by referenced rows' fields, HAVING, group order,
// top-N with ties, the quarter bucket and time zones (a DST change).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
let statements = 0;
beforeAll(async () => {
  // Every DuckDB statement of a search passes this hook once: the count of statements a request ran.
  gw = await startTestGateway({ lake: { queryFaults: { beforeStatement: async () => void statements++ } } });
});
afterAll(async () => {
  await gw?.close();
});

async function ok(query: string, variables?: Record<string, unknown>) {
  const res = await gw.gql(query, variables);
  expect(res.errors?.map((e) => e.message)).toBeUndefined();
  return res.data;
}

async function insert(entity: string, objects: Record<string, unknown>[]): Promise<string[]> {
  const data = await ok(`mutation($o: [${entity}_insert_input!]!) { insert_${entity}(objects: $o) { returning { row_id } } }`, { o: objects });
  return data[`insert_${entity}`].returning.map((r: { row_id: string }) => r.row_id);
}

const flush = (entity: string) => gw.lakehouse.admin.flush(gw.catalog.entity(entity), true);

/** Statements run by one request. */
async function countStatements(query: string): Promise<{ data: any; statements: number }> {
  const before = statements;
  const data = await ok(query);
  return { data, statements: statements - before };
}

describe('aggregates across tiers', () => {
  beforeAll(async () => {
    const [ada, bob, cyd, , eve] = await insert('customers', [
      { name: 'Ada', country: 'DE', tier: 'PRO' },
      { name: 'Bob', country: 'FR', tier: 'FREE' },
      { name: 'Cyd', country: 'DE', tier: 'ENTERPRISE' },
      { name: 'Dee', country: 'US', tier: 'PRO' },
      { name: 'Eve', country: 'US', tier: 'FREE' },
    ]);
    // Base: compacted.
    await insert('orders', [
      { customer: ada, total: 10, quantity: 1, placed_at: '2026-01-05T10:00:00Z' },
      { customer: ada, total: 20, quantity: 2, placed_at: '2026-03-28T23:30:00Z' },
      { customer: bob, total: 30, quantity: 3, placed_at: '2026-03-31T22:30:00Z' },
    ]);
    await flush('orders');
    await flush('customers');
    await gw.lakehouse.admin.compact(gw.catalog.entity('orders'), true);
    // Delta: flushed.
    await insert('orders', [
      { customer: cyd, total: 40, quantity: 4, placed_at: '2026-04-15T12:00:00Z' },
      { customer: eve, total: 5, quantity: 5, placed_at: '2026-07-01T00:00:00Z' },
    ]);
    await flush('orders');
    // Buffer: not flushed.
    await insert('orders', [
      { customer: ada, total: 60, quantity: 6, placed_at: '2026-10-01T01:00:00Z' },
      { total: 7, quantity: 7 },
      { customer: bob, total: 8, quantity: 8, placed_at: '2026-03-29T21:30:00Z' },
    ]);
    // Referenced rows change after their orders were written: Cyd's tier (buffered), Eve deleted.
    await ok(`mutation($id: UUID!) { update_customers_by_pk(row_id: $id, _set: {tier: PRO}) { row_id } }`, { id: cyd });
    await ok(`mutation($id: UUID!) { delete_customers_by_pk(row_id: $id) { row_id } }`, { id: eve });
  });

  it('answers nested orders_aggregate per customer in one statement per level, zero for a customer without orders', async () => {
    const { data, statements: ran } = await countStatements(`{
      customers(order_by: [{name: asc}]) {
        name
        orders_aggregate { aggregate { count sum { total } max { placed_at } } }
        big: orders_aggregate(where: {total: {_gt: 15}}) { aggregate { count sum { quantity } } }
      }
    }`);
    expect(data.customers).toEqual([
      { name: 'Ada', orders_aggregate: { aggregate: { count: 3, sum: { total: 90 }, max: { placed_at: '2026-10-01T01:00:00.000Z' } } }, big: { aggregate: { count: 2, sum: { quantity: 8 } } } },
      { name: 'Bob', orders_aggregate: { aggregate: { count: 2, sum: { total: 38 }, max: { placed_at: '2026-03-31T22:30:00.000Z' } } }, big: { aggregate: { count: 1, sum: { quantity: 3 } } } },
      { name: 'Cyd', orders_aggregate: { aggregate: { count: 1, sum: { total: 40 }, max: { placed_at: '2026-04-15T12:00:00.000Z' } } }, big: { aggregate: { count: 1, sum: { quantity: 4 } } } },
      { name: 'Dee', orders_aggregate: { aggregate: { count: 0, sum: { total: null }, max: { placed_at: null } } }, big: { aggregate: { count: 0, sum: { quantity: null } } } },
    ]);
    // The page, and one statement per distinct nested question (two aliases), not one per customer.
    expect(ran).toBe(3);
  });

  it('batches nested aggregates two levels down into one statement per level', async () => {
    const { data, statements: ran } = await countStatements(`{
      orders(where: {customer: {name: {_in: ["Ada", "Bob"]}}}, order_by: [{total: asc}]) {
        total
        customer { name }
      }
      customers(where: {name: {_in: ["Ada", "Bob"]}}, order_by: [{name: asc}]) {
        orders(order_by: [{total: asc}], limit: 1) { total customer { orders_aggregate { aggregate { count } } } }
      }
    }`);
    expect(data.customers).toEqual([
      { orders: [{ total: 10, customer: { orders_aggregate: { aggregate: { count: 3 } } } }] },
      { orders: [{ total: 8, customer: { orders_aggregate: { aggregate: { count: 2 } } } }] },
    ]);
    // orders page, customers page, their orders (one batch), and the nested aggregates (one batch).
    expect(ran).toBe(4);
  });

  it('computes stddev and variance, sample and population, against hand-computed values', async () => {
    const data = await ok(`{
      ada: orders_aggregate(where: {customer: {name: {_eq: "Ada"}}}) {
        aggregate { stddev { total } stddev_pop { total } stddev_samp { total quantity } variance { total } var_pop { total } var_samp { total quantity } }
      }
      cyd: orders_aggregate(where: {customer: {name: {_eq: "Cyd"}}}) {
        aggregate { stddev { total } stddev_pop { total } stddev_samp { total } variance { total } var_pop { total } var_samp { total } }
      }
      none: orders_aggregate(where: {total: {_gt: 1000}}) { aggregate { stddev_pop { total } var_pop { total } } }
    }`);
    // Ada's totals 10, 20, 60: mean 30, squared deviations 400 + 100 + 900 = 1400; quantities 1, 2, 6.
    const ada = data.ada.aggregate;
    expect(ada.var_pop.total).toBeCloseTo(1400 / 3, 10);
    expect(ada.var_samp.total).toBeCloseTo(700, 10);
    expect(ada.variance.total).toBeCloseTo(700, 10);
    expect(ada.stddev_pop.total).toBeCloseTo(Math.sqrt(1400 / 3), 10);
    expect(ada.stddev_samp.total).toBeCloseTo(Math.sqrt(700), 10);
    expect(ada.stddev.total).toBeCloseTo(Math.sqrt(700), 10);
    expect(ada.var_samp.quantity).toBeCloseTo(7, 10); // (1-3)^2 + (2-3)^2 + (6-3)^2 = 14, / 2
    expect(ada.stddev_samp.quantity).toBeCloseTo(Math.sqrt(7), 10);
    // One value: the population spread is 0, the sample one undefined (null).
    expect(data.cyd.aggregate).toEqual({ stddev: { total: null }, stddev_pop: { total: 0 }, stddev_samp: { total: null }, variance: { total: null }, var_pop: { total: 0 }, var_samp: { total: null } });
    expect(data.none.aggregate).toEqual({ stddev_pop: { total: null }, var_pop: { total: null } });
  });

  it('computes spreads per parent in the nested aggregate', async () => {
    const data = await ok(`{ customers(where: {name: {_in: ["Ada", "Cyd"]}}, order_by: [{name: asc}]) { orders_aggregate { aggregate { var_samp { total } stddev_pop { total } } } } }`);
    expect(data.customers[0].orders_aggregate.aggregate.var_samp.total).toBeCloseTo(700, 10);
    expect(data.customers[1].orders_aggregate.aggregate).toEqual({ var_samp: { total: null }, stddev_pop: { total: 0 } });
  });

  it("groups by a referenced row's field: updated refs count with their new value, deleted ones as NULL", async () => {
    const data = await ok(`{
      by_tier: orders_aggregate(group_by: [customer__tier]) { groups { key { customer__tier } aggregate { count sum { total } } } }
      by_country: orders_aggregate(group_by: [customer__country, paid]) { groups { key { customer__country paid } aggregate { count } } }
    }`);
    expect(data.by_tier.groups).toEqual([
      { key: { customer__tier: 'FREE' }, aggregate: { count: 2, sum: { total: 38 } } },
      { key: { customer__tier: 'PRO' }, aggregate: { count: 4, sum: { total: 130 } } },
      { key: { customer__tier: null }, aggregate: { count: 2, sum: { total: 12 } } },
    ]);
    expect(data.by_country.groups).toEqual([
      { key: { customer__country: 'DE', paid: null }, aggregate: { count: 4 } },
      { key: { customer__country: 'FR', paid: null }, aggregate: { count: 2 } },
      { key: { customer__country: null, paid: null }, aggregate: { count: 2 } },
    ]);
  });

  it('keeps groups by HAVING on their figures, also on figures not selected', async () => {
    const data = await ok(`{
      many: orders_aggregate(group_by: [customer__tier]) { groups(having: {count: {_gt: 2}}) { key { customer__tier } aggregate { count } } }
      big: orders_aggregate(group_by: [customer__tier]) { groups(having: {sum: {total: {_gt: 20}}}) { key { customer__tier } } }
      either: orders_aggregate(group_by: [customer__tier]) {
        groups(having: {_or: [{max: {total: {_gte: 60}}}, {avg: {quantity: {_lt: 6}}}]}) { key { customer__tier } }
      }
      not_null: orders_aggregate(group_by: [customer__tier]) { groups(having: {_not: {min: {placed_at: {_is_null: true}}}}) { key { customer__tier } } }
      none: orders_aggregate(group_by: [customer__tier]) { groups(having: {_not: {}}) { key { customer__tier } } }
    }`);
    expect(data.many.groups).toEqual([{ key: { customer__tier: 'PRO' }, aggregate: { count: 4 } }]);
    expect(data.big.groups).toEqual([{ key: { customer__tier: 'FREE' } }, { key: { customer__tier: 'PRO' } }]);
    // FREE: avg quantity (3 + 8) / 2 = 5.5; PRO: max 60; NULL: avg (5 + 7) / 2 = 6, max 7.
    expect(data.either.groups).toEqual([{ key: { customer__tier: 'FREE' } }, { key: { customer__tier: 'PRO' } }]);
    // The NULL-tier group's min placed_at is Eve's order's (o7 has none, but min skips NULLs).
    expect(data.not_null.groups).toHaveLength(3);
    expect(data.none.groups).toEqual([]);
  });

  it('orders groups by a figure or a key, and takes the top N with ties broken by key', async () => {
    const data = await ok(`{
      revenue: orders_aggregate(group_by: [customer__tier]) { groups(order_by: [{sum: {total: desc}}], limit: 1) { key { customer__tier } aggregate { sum { total } } } }
      countries: orders_aggregate(group_by: [customer__country]) { groups(order_by: [{key: {customer__country: desc}}]) { key { customer__country } } }
      ties: orders_aggregate(group_by: [customer__country]) { groups(order_by: [{count: desc}], limit: 2) { key { customer__country } aggregate { count } } }
      next: orders_aggregate(group_by: [customer__country]) { groups(order_by: [{count: desc}], limit: 2, offset: 1) { key { customer__country } } }
    }`);
    expect(data.revenue.groups).toEqual([{ key: { customer__tier: 'PRO' }, aggregate: { sum: { total: 130 } } }]);
    // desc puts NULLs first (Postgres' default, as in order_by of rows).
    expect(data.countries.groups.map((g: any) => g.key.customer__country)).toEqual([null, 'FR', 'DE']);
    // FR and NULL both count 2: the key, ascending with NULLs last, breaks the tie.
    expect(data.ties.groups).toEqual([
      { key: { customer__country: 'DE' }, aggregate: { count: 4 } },
      { key: { customer__country: 'FR' }, aggregate: { count: 2 } },
    ]);
    expect(data.next.groups.map((g: any) => g.key.customer__country)).toEqual(['FR', null]);
  });

  it('buckets by quarter, in UTC by default and in a time zone when asked', async () => {
    const query = (zone: string | null) => `{
      orders_aggregate(group_by: [placed_at_quarter]${zone ? `, time_zone: ${JSON.stringify(zone)}` : ''}) { groups { key { placed_at_quarter } aggregate { count sum { total } } } }
    }`;
    const utc = await ok(query(null));
    expect(utc.orders_aggregate.groups).toEqual([
      { key: { placed_at_quarter: '2026-01-01T00:00:00.000Z' }, aggregate: { count: 4, sum: { total: 68 } } },
      { key: { placed_at_quarter: '2026-04-01T00:00:00.000Z' }, aggregate: { count: 1, sum: { total: 40 } } },
      { key: { placed_at_quarter: '2026-07-01T00:00:00.000Z' }, aggregate: { count: 1, sum: { total: 5 } } },
      { key: { placed_at_quarter: '2026-10-01T00:00:00.000Z' }, aggregate: { count: 1, sum: { total: 60 } } },
      { key: { placed_at_quarter: null }, aggregate: { count: 1, sum: { total: 7 } } },
    ]);
    expect((await ok(query('UTC'))).orders_aggregate).toEqual(utc.orders_aggregate);
    // In Berlin, 2026-03-31T22:30Z is already 00:30 on April 1st (CEST): Bob's order moves to Q2.
    const berlin = await ok(query('Europe/Berlin'));
    expect(berlin.orders_aggregate.groups).toEqual([
      { key: { placed_at_quarter: '2025-12-31T23:00:00.000Z' }, aggregate: { count: 3, sum: { total: 38 } } },
      { key: { placed_at_quarter: '2026-03-31T22:00:00.000Z' }, aggregate: { count: 2, sum: { total: 70 } } },
      { key: { placed_at_quarter: '2026-06-30T22:00:00.000Z' }, aggregate: { count: 1, sum: { total: 5 } } },
      { key: { placed_at_quarter: '2026-09-30T22:00:00.000Z' }, aggregate: { count: 1, sum: { total: 60 } } },
      { key: { placed_at_quarter: null }, aggregate: { count: 1, sum: { total: 7 } } },
    ]);
  });

  it('puts a day bucket across a DST change on the local day (23 hours long)', async () => {
    const query = (zone: string) => `{
      orders_aggregate(where: {placed_at: {_gte: "2026-03-28T00:00:00Z", _lt: "2026-03-30T00:00:00Z"}}, group_by: [placed_at_day], time_zone: "${zone}") {
        groups { key { placed_at_day } aggregate { count sum { total } } }
      }
    }`;
    expect((await ok(query('UTC'))).orders_aggregate.groups).toEqual([
      { key: { placed_at_day: '2026-03-28T00:00:00.000Z' }, aggregate: { count: 1, sum: { total: 20 } } },
      { key: { placed_at_day: '2026-03-29T00:00:00.000Z' }, aggregate: { count: 1, sum: { total: 8 } } },
    ]);
    // 23:30Z on the 28th is 00:30 CET on the 29th; 21:30Z on the 29th is 23:30 CEST, the same local day.
    expect((await ok(query('Europe/Berlin'))).orders_aggregate.groups).toEqual([
      { key: { placed_at_day: '2026-03-28T23:00:00.000Z' }, aggregate: { count: 2, sum: { total: 28 } } },
    ]);
    // An alias of a zone is its canonical zone.
    expect((await ok(query('CET'))).orders_aggregate.groups).toHaveLength(1);
  });

  it.each([
    ['an unknown time zone', `{ orders_aggregate(group_by: [placed_at_day], time_zone: "Mars/Base") { groups { key { placed_at_day } } } }`, 'time_zone: "Mars/Base" is not an IANA time zone'],
    ['an order by a key not grouped by', `{ orders_aggregate(group_by: [paid]) { groups(order_by: [{key: {note: asc}}]) { key { paid } } } }`, 'groups.order_by[0].key.note: not a key of group_by (paid)'],
    ['a negative limit of groups', `{ orders_aggregate(group_by: [paid]) { groups(limit: -1) { key { paid } } } }`, 'groups.limit: -1 must not be negative'],
    ['groups under a nested aggregate', `{ customers { orders_aggregate { groups { key { paid } } } } }`, 'groups is not available under a nested orders aggregate'],
  ])('refuses %s, naming the argument', async (_what, query, message) => {
    const res = await gw.gql(query);
    expect(res.errors?.[0]?.message).toContain(message);
  });

  it('still bounds groups by the request row budget', async () => {
    const small = await startTestGateway({ bounds: { maxRows: 2, maxResponseBytes: 1024 * 1024, documentCache: { maxBytes: 64 * 1024, maxDocumentBytes: 4 * 1024 } } });
    try {
      await small.gql(`mutation { insert_orders(objects: [{note: "a"}, {note: "b"}, {note: "c"}]) { affected_rows } }`);
      const res = await small.gql(`{ orders_aggregate(group_by: [note]) { groups(limit: 10) { key { note } } } }`);
      expect(res.errors?.[0]?.message).toContain('MAX_ROWS_PER_REQUEST');
    } finally {
      await small.close();
    }
  });

  it('computes the spread of floats near the limit of the range, and refuses one beyond it', async () => {
    await insert('orders', [
      { total: 1e200, note: 'huge' },
      { total: -1e200, note: 'huge' },
    ]);
    const data = await ok(`{ orders_aggregate(where: {note: {_eq: "huge"}}) { aggregate { stddev_pop { total } stddev_samp { total } } } }`);
    expect(data.orders_aggregate.aggregate.stddev_pop.total / 1e200).toBeCloseTo(1, 12);
    expect(data.orders_aggregate.aggregate.stddev_samp.total / (Math.SQRT2 * 1e200)).toBeCloseTo(1, 12);
    const beyond = await gw.gql(`{ orders_aggregate(where: {note: {_eq: "huge"}}) { aggregate { var_pop { total } } } }`);
    expect(beyond.errors?.[0]?.message).toContain('the var_pop of total is beyond the range of Float');
  });
});
