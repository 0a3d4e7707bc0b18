// The read API over base + delta + buffer: freshness, the stale-row case, refs, aggregates, groups.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

const flush = (entity: string) => gw.lakehouse.admin.flush(gw.catalog.entity(entity), true);

async function insertCustomers(objects: Record<string, unknown>[]): Promise<string[]> {
  const res = await gw.gql(`mutation($o: [customers_insert_input!]!) { insert_customers(objects: $o) { returning { row_id } } }`, { o: objects });
  expect(res.errors).toBeUndefined();
  return res.data.insert_customers.returning.map((r: { row_id: string }) => r.row_id);
}

async function insertOrders(objects: Record<string, unknown>[]): Promise<string[]> {
  const res = await gw.gql(`mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { returning { row_id } } }`, { o: objects });
  expect(res.errors).toBeUndefined();
  return res.data.insert_orders.returning.map((r: { row_id: string }) => r.row_id);
}

describe('search through GraphQL', () => {
  let ada: string, bob: string, cyd: string;
  let orders: string[];

  beforeAll(async () => {
    [ada, bob, cyd] = (await insertCustomers([
      { name: 'Ada', country: 'DE', tier: 'PRO', lifetime_value: 10.5 },
      { name: 'Bob', country: 'FR', tier: 'FREE' },
      { name: 'Cyd', country: 'DE', tier: 'ENTERPRISE', lifetime_value: 99 },
    ])) as [string, string, string];
    orders = await insertOrders([
      { customer: ada, total: 10, quantity: 1, paid: true, placed_at: '2026-01-05T10:00:00Z', note: 'first' },
      { customer: ada, total: 20, quantity: 2, paid: false, placed_at: '2026-01-20T10:00:00Z' },
      { customer: bob, total: 30, quantity: 3, paid: true, placed_at: '2026-02-01T00:30:00Z', note: "it's 100% \\ _odd_" },
      { customer: cyd, total: 40, quantity: 4, paid: true, placed_at: '2026-02-14T23:59:59Z' },
      { total: 50, quantity: 5, paid: null, placed_at: null },
    ]);
  });

  it('sees a mutation before any flush, and the same answer after flushes', async () => {
    const query = `{ orders(where: {total: {_gte: 20}}, order_by: [{total: desc}]) { row_id total } }`;
    const before = await gw.gql(query);
    expect(before.data.orders.map((o: { total: number }) => o.total)).toEqual([50, 40, 30, 20]);
    await flush('orders');
    await flush('customers');
    expect((await gw.gql(query)).data).toEqual(before.data);
  });

  it('does not return a stale version: an update or delete that moves a flushed row out of the result', async () => {
    // orders[3] (total 40) and orders[2] (total 30) are in a delta file and match total >= 30.
    await gw.gql(`mutation($id: UUID!) { update_orders_by_pk(row_id: $id, _set: {total: 5}) { row_id } }`, { id: orders[3] });
    await gw.gql(`mutation($id: UUID!) { delete_orders_by_pk(row_id: $id) { row_id } }`, { id: orders[2] });
    const query = `{ orders(where: {total: {_gte: 30}}) { row_id total } }`;
    expect((await gw.gql(query)).data.orders).toEqual([{ row_id: orders[4], total: 50 }]);
    await flush('orders'); // now the new versions are in a second delta file
    expect((await gw.gql(query)).data.orders).toEqual([{ row_id: orders[4], total: 50 }]);
    const moved = await gw.gql(`{ orders(where: {total: {_lt: 10}}) { row_id total } }`);
    expect(moved.data.orders).toEqual([{ row_id: orders[3], total: 5 }]);
  });

  it('sorts and filters by the system columns row_id and time_slot', async () => {
    const res = await gw.gql(`{ customers(order_by: [{time_slot: desc}]) { name time_slot } }`);
    const slots = res.data.customers.map((c: { time_slot: string | number }) => BigInt(c.time_slot));
    expect(slots).toEqual([...slots].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
    const after = await gw.gql(`query($s: BigInt!) { customers(where: {time_slot: {_gt: $s}}) { name } }`, { s: String(slots.at(-1)) });
    expect(after.data.customers).toHaveLength(2);
    const byId = await gw.gql(`query($ids: [UUID!]) { customers(where: {row_id: {_in: $ids}}, order_by: [{row_id: asc}]) { row_id } }`, { ids: [cyd, ada] });
    expect(byId.data.customers.map((c: { row_id: string }) => c.row_id)).toEqual([ada, cyd].sort());
  });

  it('filters through a ref with a semi-join over both merge-on-read views', async () => {
    const res = await gw.gql(`{ orders(where: {customer: {country: {_eq: "DE"}}}, order_by: [{total: asc}]) { total customer { name } } }`);
    expect(res.data.orders).toEqual([
      { total: 5, customer: { name: 'Cyd' } },
      { total: 10, customer: { name: 'Ada' } },
      { total: 20, customer: { name: 'Ada' } },
    ]);
    const byId = await gw.gql(`query($id: UUID!) { orders(where: {customer: {row_id: {_eq: $id}}}) { total } }`, { id: bob });
    expect(byId.data.orders).toEqual([]); // Bob's only order was deleted
    // A condition on the referenced row_id needs the referenced row to exist, as any other does.
    const nullId = await gw.gql(`{ orders(where: {customer: {row_id: {_is_null: true}}}) { total } }`);
    expect(nullId.data.orders).toEqual([]);
    const noRef = await gw.gql(`{ orders(where: {_not: {customer: {row_id: {_is_null: false}}}}) { total } }`);
    expect(noRef.data.orders).toEqual([{ total: 50 }]);
  });

  it('answers aggregates and group_by with time buckets', async () => {
    const res = await gw.gql(`{
      orders_aggregate(where: {paid: {_eq: true}}) { aggregate { count sum { total quantity } avg { total } min { placed_at } max { total } count_distinct { customer } } }
      by_month: orders_aggregate(group_by: [placed_at_month]) { groups { key { placed_at_month } aggregate { count sum { total } } } }
    }`);
    expect(res.errors?.map((e: { message: string }) => e.message)).toBeUndefined();
    expect(res.data.orders_aggregate.aggregate).toEqual({
      count: 2,
      sum: { total: 15, quantity: 5 },
      avg: { total: 7.5 },
      min: { placed_at: '2026-01-05T10:00:00.000Z' },
      max: { total: 10 },
      count_distinct: { customer: 2 },
    });
    expect(res.data.by_month.groups).toEqual([
      { key: { placed_at_month: '2026-01-01T00:00:00.000Z' }, aggregate: { count: 2, sum: { total: 30 } } },
      { key: { placed_at_month: '2026-02-01T00:00:00.000Z' }, aggregate: { count: 1, sum: { total: 5 } } },
      { key: { placed_at_month: null }, aggregate: { count: 1, sum: { total: 50 } } },
    ]);
  });

  it('resolves reverse relations in one batch per question', async () => {
    const res = await gw.gql(`{ customers(order_by: [{name: asc}]) { name orders(order_by: [{total: desc}], limit: 1) { total } } }`);
    expect(res.errors?.map((e: { message: string }) => e.message)).toBeUndefined();
    expect(res.data.customers).toEqual([
      { name: 'Ada', orders: [{ total: 20 }] },
      { name: 'Bob', orders: [] },
      { name: 'Cyd', orders: [{ total: 5 }] },
    ]);
    // Arguments of every scalar type, 64-bit integers included, in the relation's own filter.
    const filtered = await gw.gql(`{ customers(order_by: [{name: asc}]) { name orders(where: {quantity: {_gte: 2}, placed_at: {_lt: "2026-02-01T00:00:00Z"}}) { quantity } } }`);
    expect(filtered.errors).toBeUndefined();
    expect(filtered.data.customers).toEqual([
      { name: 'Ada', orders: [{ quantity: 2 }] },
      { name: 'Bob', orders: [] },
      { name: 'Cyd', orders: [] },
    ]);
  });

  it('reads the fields each selection asks for, also for aliases of one relation with the same arguments', async () => {
    const res = await gw.gql(`{
      customers(where: {name: {_eq: "Ada"}}) {
        by_total: orders(order_by: [{total: desc}]) { total }
        with_notes: orders(order_by: [{total: desc}]) { note time_slot customer { name } }
      }
      orders(where: {row_id: {_eq: "${orders[0]}"}}) { note deleted_at customer { country } }
    }`);
    expect(res.errors).toBeUndefined();
    const [ada] = res.data.customers;
    expect(ada.by_total).toEqual([{ total: 20 }, { total: 10 }]);
    expect(ada.with_notes.map((o: { note: string | null; customer: { name: string } }) => [o.note, o.customer.name])).toEqual([
      [null, 'Ada'],
      ['first', 'Ada'],
    ]);
    expect(ada.with_notes.every((o: { time_slot: unknown }) => /^\d+$/.test(String(o.time_slot)))).toBe(true);
    expect(res.data.orders).toEqual([{ note: 'first', deleted_at: null, customer: { country: 'DE' } }]);
  });

  it('treats quotes, backslashes, wildcards and SQL in every string input as plain text', async () => {
    const probe = async (op: string, value: string) =>
      (await gw.gql(`query($v: String!) { orders(where: {note: {${op}: $v}}) { note } }`, { v: value })).data?.orders;
    await gw.gql(`mutation($id: UUID!) { update_orders_by_pk(row_id: $id, _set: {note: "it's 100% \\\\ _odd_"}) { row_id } }`, { id: orders[0] });
    expect(await probe('_eq', "it's 100% \\ _odd_")).toEqual([{ note: "it's 100% \\ _odd_" }]);
    expect(await probe('_contains', '100% \\')).toEqual([{ note: "it's 100% \\ _odd_" }]);
    expect(await probe('_contains', '1_0')).toEqual([]);
    expect(await probe('_starts_with', "it'")).toEqual([{ note: "it's 100% \\ _odd_" }]);
    for (const attack of ["' OR 1=1 --", "'; DROP TABLE change_log; --", '") OR true --', '%']) {
      expect(await probe('_eq', attack)).toEqual([]);
    }
    for (const attack of ["' OR 1=1 --", "'; DROP TABLE change_log; --", '") OR true --', '%%%']) {
      expect(await probe('_contains', attack)).toEqual([]);
    }
    expect(await probe('_contains', '%')).toEqual([{ note: "it's 100% \\ _odd_" }]);
    const injected = await gw.gql(`query($v: [String!]) { customers(where: {name: {_in: $v}}) { name } }`, { v: ["Ada' OR '1'='1", 'Bob'] });
    expect(injected.data.customers).toEqual([{ name: 'Bob' }]);
    const { rows } = await gw.oltp.pool.query('SELECT count(*)::int AS n FROM change_log');
    expect(rows[0].n).toBeGreaterThan(0);
  });
});

describe('bad read input', () => {
  it.each([
    ['an unknown field in where', `{ orders(where: {colour: {_eq: "red"}}) { row_id } }`, 'Field "colour" is not defined by type "orders_bool_exp"'],
    ['an operator the type lacks', `{ orders(where: {paid: {_gt: true}}) { row_id } }`, 'Field "_gt" is not defined by type "Boolean_comparison_exp"'],
    ['a wrong value type', `{ orders(where: {quantity: {_eq: "many"}}) { row_id } }`, 'BigInt cannot represent "many"'],
    ['an unknown order_by field', `{ orders(order_by: [{colour: asc}]) { row_id } }`, 'Field "colour" is not defined by type "orders_order_by"'],
    ['a limit above the maximum', `{ orders(limit: 5000) { row_id } }`, 'limit: 5000 is outside 0..1000 (QUERY_MAX_LIMIT)'],
    ['a negative offset', `{ orders(offset: -1) { row_id } }`, 'offset: -1 must not be negative'],
    ['groups without group_by', `{ orders_aggregate { groups { aggregate { count } } } }`, 'orders_aggregate.groups needs group_by'],
  ])('%s', async (_what, query, message) => {
    const res = await gw.gql(query);
    expect(res.errors?.[0]?.message).toContain(message);
  });

  it('refuses an _in list above 10,000 values, and answers one at the limit', async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`);
    const query = `query($ids: [UUID!]) { orders(where: {row_id: {_in: $ids}}) { row_id } }`;
    const over = await gw.gql(query, { ids: ids(10_001) });
    expect(over.errors?.[0]?.message).toBe('where.row_id._in: 10001 values; at most 10000 are allowed');
    const at = await gw.gql(query, { ids: ids(10_000) });
    expect(at.errors).toBeUndefined();
    expect(at.data.orders).toEqual([]);
  });
});

describe('search over an S3 lake', () => {
  it('reads delta files through the local read-through cache and answers like the local lake', async () => {
    const { startTestS3 } = await import('../support/s3.js');
    const s3 = await startTestS3();
    const remote = await startTestGateway({ lake: s3.settings('search') });
    try {
      await remote.gql(`mutation { insert_orders(objects: [{total: 1}, {total: 2}, {total: 3}]) { affected_rows } }`);
      await remote.lakehouse.admin.flush(remote.catalog.entity('orders'), true);
      await remote.gql(`mutation { insert_orders(objects: [{total: 4}]) { affected_rows } }`);
      const query = `{ orders(where: {total: {_gte: 2}}, order_by: [{total: asc}]) { total } }`;
      expect((await remote.gql(query)).data.orders).toEqual([{ total: 2 }, { total: 3 }, { total: 4 }]);
      // Cached: the answer stays the same with the S3 server gone.
      await s3.stop();
      expect((await remote.gql(query)).data.orders).toEqual([{ total: 2 }, { total: 3 }, { total: 4 }]);
    } finally {
      await remote.close();
      await s3.close();
    }
  });
});
