// Set-based mutations (update_<name>, update_<name>_many, delete_<name>) through the API: which rows
// they match across the lake's tiers, _inc, change capture, all-or-nothing, and concurrent writers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
const MAX_ROWS = 60;

beforeAll(async () => {
  gw = await startTestGateway({ maxInsertObjects: MAX_ROWS });
});
afterAll(() => gw?.close());

const flush = (entity: string) => gw.lakehouse.admin.flush(gw.catalog.entity(entity), true);
const compact = (entity: string) => gw.lakehouse.admin.compact(gw.catalog.entity(entity), true);

interface Order {
  row_id: string;
  quantity: number | null;
  total: number | null;
  paid: boolean | null;
  note: string | null;
  time_slot: number;
}

async function insertOrders(objects: Record<string, unknown>[]): Promise<Order[]> {
  const res = await gw.gql(
    `mutation($objects: [orders_insert_input!]!) { insert_orders(objects: $objects) { returning { row_id quantity total paid note time_slot } } }`,
    { objects },
  );
  expect(res.errors).toBeUndefined();
  return res.data.insert_orders.returning;
}

async function search(where: Record<string, unknown>): Promise<Order[]> {
  const res = await gw.gql(`query($where: orders_bool_exp) { orders(where: $where, limit: 1000) { row_id quantity total paid note time_slot } }`, { where });
  expect(res.errors).toBeUndefined();
  return res.data.orders;
}

async function changesOf(rowIds: readonly string[]) {
  const { rows } = await gw.oltp.pool.query<{ row_id: string; time_slot: bigint; op: string; tx: string; deleted_at: bigint | null }>(
    `SELECT row_id, time_slot, op, xmin::text AS tx, deleted_at FROM change_log WHERE row_id = ANY($1::uuid[]) ORDER BY time_slot`,
    [rowIds],
  );
  return rows;
}

async function counts() {
  const { rows } = await gw.oltp.pool.query(
    `SELECT (SELECT count(*) FROM eav_entity) AS entities, (SELECT count(*) FROM eav_value) AS values,
            (SELECT count(*) FROM change_log) AS changes, (SELECT coalesce(sum(time_slot), 0) FROM eav_entity) AS slots`,
  );
  return rows[0];
}

const ids = (rows: readonly { row_id: string }[]) => rows.map((r) => r.row_id).sort();

describe('update_<name>(where, _set, _inc)', () => {
  it('matches the current rows in every tier (base file, delta file, buffer) and never a stale lake version', async () => {
    // given: rows compacted into a base file, rows in a delta file, rows still buffered
    const base = await insertOrders(Array.from({ length: 3 }, (_, i) => ({ note: 'tiers', quantity: i })));
    await flush('orders');
    await compact('orders');
    const delta = await insertOrders(Array.from({ length: 3 }, (_, i) => ({ note: 'tiers', quantity: 10 + i })));
    await flush('orders');
    const buffered = await insertOrders(Array.from({ length: 3 }, (_, i) => ({ note: 'tiers', quantity: 20 + i })));
    // and a lake row whose newer (buffered) version no longer matches
    await gw.gql(`mutation($id: UUID!) { update_orders_by_pk(row_id: $id, _set: {note: "moved"}) { row_id } }`, { id: base[0]!.row_id });

    // when
    const res = await gw.gql(`mutation { update_orders(where: {note: {_eq: "tiers"}}, _set: {paid: true}) { affected_rows returning { row_id paid note quantity } } }`);

    // then
    expect(res.errors).toBeUndefined();
    const expected = ids([...base.slice(1), ...delta, ...buffered]);
    expect(res.data.update_orders.affected_rows).toBe(8);
    expect(ids(res.data.update_orders.returning)).toEqual(expected);
    expect(res.data.update_orders.returning.every((r: Order) => r.paid === true && r.note === 'tiers')).toBe(true);
    expect(ids(await search({ note: { _eq: 'tiers' }, paid: { _eq: true } }))).toEqual(expected);
    expect(await search({ row_id: { _eq: base[0]!.row_id }, paid: { _eq: true } })).toEqual([]);
  });

  it('_inc adds to int and float attributes, and a NULL value stays NULL', async () => {
    const rows = await insertOrders([
      { note: 'inc', quantity: 1, total: 1.5 },
      { note: 'inc', quantity: null, total: null },
      { note: 'inc', quantity: '9007199254740990', total: -2 },
    ]);
    await flush('orders');
    const res = await gw.gql(`mutation { update_orders(where: {note: {_eq: "inc"}}, _inc: {quantity: 5, total: 0.25}) { affected_rows returning { row_id quantity total } } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.update_orders.affected_rows).toBe(3);
    const byId = new Map(res.data.update_orders.returning.map((r: Order) => [r.row_id, r]));
    expect(byId.get(rows[0]!.row_id)).toMatchObject({ quantity: 6, total: 1.75 });
    expect(byId.get(rows[1]!.row_id)).toMatchObject({ quantity: null, total: null });
    expect(byId.get(rows[2]!.row_id)).toMatchObject({ quantity: '9007199254740995', total: -1.75 });
    const read = new Map((await search({ note: { _eq: 'inc' } })).map((r) => [r.row_id, r]));
    expect(read.get(rows[0]!.row_id)).toMatchObject({ quantity: 6, total: 1.75 });
    expect(read.get(rows[1]!.row_id)).toMatchObject({ quantity: null, total: null });
    expect(read.get(rows[2]!.row_id)).toMatchObject({ quantity: '9007199254740995', total: -1.75 });
  });

  it('update_<name>_by_pk takes _inc as well', async () => {
    const [row, empty] = await insertOrders([{ note: 'pk-inc', quantity: 1, total: 2 }, { note: 'pk-inc' }]);
    const inc = `mutation($id: UUID!) { update_orders_by_pk(row_id: $id, _inc: {quantity: 2, total: 0.5}, _set: {paid: true}) { quantity total paid } }`;
    expect((await gw.gql(inc, { id: row!.row_id })).data.update_orders_by_pk).toEqual({ quantity: 3, total: 2.5, paid: true });
    expect((await gw.gql(inc, { id: empty!.row_id })).data.update_orders_by_pk).toEqual({ quantity: null, total: null, paid: true });
    const both = await gw.gql(`mutation($id: UUID!) { update_orders_by_pk(row_id: $id, _inc: {quantity: 2}, _set: {quantity: 1}) { quantity } }`, { id: row!.row_id });
    expect(both.errors?.[0]?.message).toBe('update: "quantity" is in both _set and _inc; change it with one of them');
  });

  it('writes one change_log row per changed row, in one transaction and one consecutive slot range', async () => {
    const rows = await insertOrders(Array.from({ length: 5 }, (_, i) => ({ note: 'capture', quantity: i })));
    const res = await gw.gql(`mutation { update_orders(where: {note: {_eq: "capture"}}, _inc: {quantity: 1}) { affected_rows returning { row_id time_slot } } }`);
    expect(res.data.update_orders.affected_rows).toBe(5);
    const changes = (await changesOf(ids(rows))).filter((c) => c.op === 'u');
    expect(changes).toHaveLength(5);
    expect(new Set(changes.map((c) => c.row_id)).size).toBe(5);
    expect(new Set(changes.map((c) => c.tx)).size).toBe(1);
    expect(changes.at(-1)!.time_slot - changes[0]!.time_slot).toBe(4n);
    expect(res.data.update_orders.returning.map((r: Order) => String(r.time_slot)).sort()).toEqual(changes.map((c) => String(c.time_slot)).sort());
  });

  it('writes nothing when one row of the set cannot take the change (an _inc past int64)', async () => {
    await insertOrders([{ note: 'overflow', quantity: 1 }, { note: 'overflow', quantity: '9223372036854775800' }, { note: 'overflow', quantity: 2 }]);
    const before = await counts();
    const res = await gw.gql(`mutation { update_orders(where: {note: {_eq: "overflow"}}, _inc: {quantity: 100}) { affected_rows } }`);
    expect(res.errors?.[0]?.message).toMatch(/^_inc\.quantity: 9223372036854775800 \+ 100 on orders row [0-9a-f-]{36} is outside the 64-bit integer range$/);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(before);
    expect((await search({ note: { _eq: 'overflow' } })).map((r) => r.quantity).sort()).toEqual([1, 2, '9223372036854775800'].sort());
  });

  it('refuses an update that changes nothing or names an attribute twice, and a where it cannot bind', async () => {
    const cases: [string, string][] = [
      [`mutation { update_orders(where: {}) { affected_rows } }`, 'update: at least any one of _set, _inc is expected'],
      [`mutation { update_orders(where: {}, _set: {quantity: 1}, _inc: {quantity: 1}) { affected_rows } }`, 'update: "quantity" is in both _set and _inc'],
      [`mutation { update_orders(_set: {paid: true}) { affected_rows } }`, 'argument "where" of type "orders_bool_exp!" is required'],
      [`mutation { update_customers(where: {}, _set: {name: null}) { affected_rows } }`, '_set: customers.name: a value is required'],
    ];
    for (const [mutation, message] of cases) {
      const before = await counts();
      const res = await gw.gql(mutation);
      expect(res.errors?.[0]?.message).toContain(message);
      expect(await counts()).toEqual(before);
    }
  });

  it('refuses a where matching more rows than one call may change, naming the limit, and writes nothing', async () => {
    await insertOrders(Array.from({ length: MAX_ROWS }, () => ({ note: 'many' })));
    await insertOrders([{ note: 'many' }]);
    const before = await counts();
    const res = await gw.gql(`mutation { update_orders(where: {note: {_eq: "many"}}, _set: {paid: true}) { affected_rows } }`);
    expect(res.errors?.[0]?.message).toBe(`update_orders: where matches more than ${MAX_ROWS} rows; one call changes at most ${MAX_ROWS} (MAX_INSERT_OBJECTS): narrow the where`);
    expect(res.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    expect(await counts()).toEqual(before);
    const deleting = await gw.gql(`mutation { delete_orders(where: {note: {_eq: "many"}}) { affected_rows } }`);
    expect(deleting.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    const many = await gw.gql(`mutation { update_orders_many(updates: [{where: {note: {_eq: "many"}, paid: {_is_null: true}}, _set: {paid: false}}]) { affected_rows } }`);
    expect(many.errors?.[0]?.message).toContain('update_orders_many: updates[0].where matches more than');
    expect(await counts()).toEqual(before);
  });

  it('two clients updating overlapping sets at once lose no update, and their affected rows add up', async () => {
    // given: 20 rows; client A increments all of them, client B the 10 with total < 10
    const rows = await insertOrders(Array.from({ length: 20 }, (_, i) => ({ note: 'race', quantity: 0, total: i })));
    await flush('orders');
    const rounds = 4;
    const client = (mutation: string) => async () => {
      let affected = 0;
      for (let i = 0; i < rounds; i++) {
        const res = await gw.gql(mutation);
        expect(res.errors).toBeUndefined();
        affected += res.data.update_orders.affected_rows;
      }
      return affected;
    };
    // when
    const [a, b] = await Promise.all([
      client(`mutation { update_orders(where: {note: {_eq: "race"}}, _inc: {quantity: 1}) { affected_rows } }`)(),
      client(`mutation { update_orders(where: {note: {_eq: "race"}, total: {_lt: 10}}, _inc: {quantity: 100}) { affected_rows } }`)(),
    ]);
    // then
    expect(a).toBe(20 * rounds);
    expect(b).toBe(10 * rounds);
    const read = await search({ note: { _eq: 'race' } });
    for (const row of read) expect(row.quantity).toBe(rounds + (row.total! < 10 ? 100 * rounds : 0));
    const updates = (await changesOf(ids(rows))).filter((c) => c.op === 'u');
    expect(updates).toHaveLength(a + b);
  });
});

describe('delete_<name>(where)', () => {
  it('soft-deletes the matching rows of every tier in one transaction and returns them with deleted_at', async () => {
    const flushed = await insertOrders([{ note: 'gone', quantity: 1 }, { note: 'kept', quantity: 2 }]);
    await flush('orders');
    const buffered = await insertOrders([{ note: 'gone', quantity: 3 }]);
    const res = await gw.gql(`mutation { delete_orders(where: {note: {_eq: "gone"}}) { affected_rows returning { row_id quantity deleted_at time_slot } } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.delete_orders.affected_rows).toBe(2);
    expect(ids(res.data.delete_orders.returning)).toEqual(ids([flushed[0]!, buffered[0]!]));
    for (const row of res.data.delete_orders.returning) expect(row.deleted_at).toBe(row.time_slot);
    expect(await search({ note: { _in: ['gone', 'kept'] } })).toMatchObject([{ row_id: flushed[1]!.row_id }]);
    const deletes = (await changesOf(ids([flushed[0]!, buffered[0]!]))).filter((c) => c.op === 'd');
    expect(deletes).toHaveLength(2);
    expect(new Set(deletes.map((c) => c.tx)).size).toBe(1);
    const again = await gw.gql(`mutation { delete_orders(where: {note: {_eq: "gone"}}) { affected_rows returning { row_id } } }`);
    expect(again.data.delete_orders).toEqual({ affected_rows: 0, returning: [] });
  });
});

describe('update_<name>_many(updates)', () => {
  it('applies the updates in order in one transaction, one response each and one change_log row per row', async () => {
    const rows = await insertOrders([
      { note: 'many-a', quantity: 5 },
      { note: 'many-a', quantity: 6 },
      { note: 'many-b', quantity: 7 },
    ]);
    const res = await gw.gql(
      `mutation($id: UUID!) { update_orders_many(updates: [
          {where: {note: {_eq: "many-a"}}, _set: {quantity: 1}},
          {where: {note: {_like: "many-%"}}, _inc: {quantity: 10}},
          {where: {row_id: {_eq: $id}}, _set: {paid: true}, _inc: {quantity: 100}}
        ]) { affected_rows returning { row_id quantity paid } } }`,
      { id: rows[0]!.row_id },
    );
    expect(res.errors).toBeUndefined();
    const [first, second, third] = res.data.update_orders_many;
    expect(first.affected_rows).toBe(2);
    expect(first.returning.map((r: Order) => r.quantity)).toEqual([1, 1]);
    expect(second.affected_rows).toBe(3);
    expect(new Map(second.returning.map((r: Order) => [r.row_id, r.quantity]))).toEqual(
      new Map([
        [rows[0]!.row_id, 11],
        [rows[1]!.row_id, 11],
        [rows[2]!.row_id, 17],
      ]),
    );
    expect(third).toEqual({ affected_rows: 1, returning: [{ row_id: rows[0]!.row_id, quantity: 111, paid: true }] });
    const read = new Map((await search({ note: { _like: 'many-%' } })).map((r) => [r.row_id, r.quantity]));
    expect(read).toEqual(
      new Map([
        [rows[0]!.row_id, 111],
        [rows[1]!.row_id, 11],
        [rows[2]!.row_id, 17],
      ]),
    );
    const updates = (await changesOf(ids(rows))).filter((c) => c.op === 'u');
    expect(updates).toHaveLength(3);
    expect(new Set(updates.map((c) => c.tx)).size).toBe(1);
  });

  it('a later update’s where sees what earlier ones of the call changed (Hasura), also through a ref', async () => {
    const customer = (await gw.gql(`mutation { insert_customers_one(object: {name: "Chain", country: "DE"}) { row_id } }`)).data.insert_customers_one.row_id;
    const [a, b] = await insertOrders([
      { note: 'chain-a', quantity: 1, customer },
      { note: 'chain-b', quantity: 2 },
    ]);
    await flush('orders');
    const res = await gw.gql(`mutation { update_orders_many(updates: [
        {where: {note: {_eq: "chain-a"}}, _set: {note: "chain-b"}},
        {where: {note: {_eq: "chain-b"}}, _inc: {quantity: 10}},
        {where: {note: {_eq: "chain-b"}, quantity: {_eq: 2}}, _set: {paid: true}},
        {where: {note: {_eq: "chain-b"}, customer: {country: {_eq: "DE"}}}, _set: {paid: false}}
      ]) { affected_rows returning { row_id } } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.update_orders_many.map((r: { affected_rows: number }) => r.affected_rows)).toEqual([1, 2, 0, 1]);
    expect(res.data.update_orders_many[3].returning).toEqual([{ row_id: a!.row_id }]);
    const read = new Map((await search({ row_id: { _in: [a!.row_id, b!.row_id] } })).map((r) => [r.row_id, r]));
    expect(read.get(a!.row_id)).toMatchObject({ note: 'chain-b', quantity: 11, paid: false });
    expect(read.get(b!.row_id)).toMatchObject({ note: 'chain-b', quantity: 12, paid: null });
  });

  it('writes nothing when a later update is bad', async () => {
    await insertOrders([{ note: 'many-bad', quantity: 1 }]);
    const before = await counts();
    const missing = '01900000-0000-7000-8000-000000000000';
    const res = await gw.gql(
      `mutation { update_orders_many(updates: [
          {where: {note: {_eq: "many-bad"}}, _set: {quantity: 2}},
          {where: {note: {_eq: "many-bad"}}, _set: {customer: "${missing}"}}
        ]) { affected_rows } }`,
    );
    expect(res.errors?.[0]?.message).toBe(`orders.customer: no customers row with row_id ${missing}`);
    expect(await counts()).toEqual(before);
    expect((await search({ note: { _eq: 'many-bad' } }))[0]!.quantity).toBe(1);
  });

  it('names the update whose input is bad', async () => {
    const res = await gw.gql(`mutation { update_customers_many(updates: [{where: {}, _set: {tier: PRO}}, {where: {}, _set: {name: null}}]) { affected_rows } }`);
    expect(res.errors?.[0]?.message).toBe('updates[1]._set: customers.name: a value is required');
  });
});
