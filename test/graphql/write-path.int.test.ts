import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
let customerId: string;

beforeAll(async () => {
  gw = await startTestGateway();
  const res = await gw.gql(`mutation { insert_customers_one(object: {name: "Ada", country: "DE", tier: PRO}) { row_id } }`);
  customerId = res.data.insert_customers_one.row_id;
});
afterAll(() => gw?.close());

async function counts() {
  const { rows } = await gw.oltp.pool.query<{ entities: string; values: string; changes: string }>(
    `SELECT (SELECT count(*) FROM eav_entity) AS entities, (SELECT count(*) FROM eav_value) AS values,
            (SELECT count(*) FROM change_log) AS changes`,
  );
  return rows[0];
}

async function changesOf(rowId: string) {
  const { rows } = await gw.oltp.pool.query<{ time_slot: bigint; deleted_at: bigint | null; snapshot: Record<string, unknown> }>(
    'SELECT time_slot, deleted_at, snapshot FROM change_log WHERE row_id = $1 ORDER BY time_slot',
    [rowId],
  );
  return rows;
}

describe('write path', () => {
  it('records insert, update and delete in change_log with increasing time_slots', async () => {
    const inserted = await gw.gql(
      `mutation($c: UUID!) { insert_orders_one(object: {customer: $c, total: 10.5, quantity: 2, paid: false, placed_at: "2025-03-01T10:00:00Z"}) { row_id time_slot } }`,
      { c: customerId },
    );
    const rowId = inserted.data.insert_orders_one.row_id as string;
    expect(rowId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/); // UUID v7

    const updated = await gw.gql(`mutation($id: UUID!) { update_orders_by_pk(row_id: $id, _set: {paid: true, note: null}) { paid time_slot } }`, {
      id: rowId,
    });
    expect(updated.data.update_orders_by_pk.paid).toBe(true);
    const deleted = await gw.gql(`mutation($id: UUID!) { delete_orders_by_pk(row_id: $id) { row_id deleted_at } }`, { id: rowId });
    expect(deleted.data.delete_orders_by_pk.deleted_at).toEqual(expect.any(Number));

    const changes = await changesOf(rowId);
    expect(changes).toHaveLength(3);
    expect(changes[0]!.time_slot).toBeLessThan(changes[1]!.time_slot);
    expect(changes[1]!.time_slot).toBeLessThan(changes[2]!.time_slot);
    expect(changes[0]!.snapshot).toMatchObject({ total: 10.5, quantity: 2, paid: false, placed_at: '2025-03-01T10:00:00.000Z' });
    expect(changes[1]!.snapshot).toMatchObject({ total: 10.5, paid: true });
    expect(changes[2]!.deleted_at).toBe(changes[2]!.time_slot);
    expect(String(inserted.data.insert_orders_one.time_slot)).toBe(String(changes[0]!.time_slot));

    const after = await gw.gql(`query($id: UUID!) { orders_by_pk(row_id: $id) { row_id } }`, { id: rowId });
    expect(after.data.orders_by_pk).toBeNull();
    const again = await gw.gql(`mutation($id: UUID!) { update_orders_by_pk(row_id: $id, _set: {paid: false}) { row_id } }`, { id: rowId });
    expect(again.data.update_orders_by_pk).toBeNull();
    expect(await changesOf(rowId)).toHaveLength(3);
  });

  it('inserts in bulk with Hasura’s response shape, resolving refs', async () => {
    const objects = Array.from({ length: 25 }, (_, i) => ({ customer: customerId, quantity: i, total: i / 4 }));
    const res = await gw.gql(
      `mutation($objects: [orders_insert_input!]!) { insert_orders(objects: $objects) { affected_rows returning { row_id quantity customer { name tier } } } }`,
      { objects },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.insert_orders.affected_rows).toBe(25);
    expect(res.data.insert_orders.returning.map((r: { quantity: number }) => r.quantity)).toEqual(objects.map((o) => o.quantity));
    expect(res.data.insert_orders.returning[3].customer).toEqual({ name: 'Ada', tier: 'PRO' });
  });

  it('keeps int64 values exact beyond 2^53 and reads them back by pk', async () => {
    const res = await gw.gql(`mutation { insert_orders_one(object: {quantity: "9007199254740993"}) { row_id quantity } }`);
    expect(res.data.insert_orders_one.quantity).toBe('9007199254740993');
    const read = await gw.gql(`query($id: UUID!) { orders_by_pk(row_id: $id) { quantity customer { name } } }`, {
      id: res.data.insert_orders_one.row_id,
    });
    expect(read.data.orders_by_pk).toEqual({ quantity: '9007199254740993', customer: null });
  });

  it('stores quotes, backslashes and SQL in strings as plain text', async () => {
    const note = `'); DROP TABLE change_log; -- \\ "quoted" \u00e9`;
    const res = await gw.gql(`mutation($note: String) { insert_orders_one(object: {note: $note}) { row_id note } }`, { note });
    expect(res.data.insert_orders_one.note).toBe(note);
    expect((await changesOf(res.data.insert_orders_one.row_id))[0]!.snapshot.note).toBe(note);
  });
});

describe('bad input is refused with a message naming the problem, and nothing is written', () => {
  const unknownCustomer = '01900000-0000-7000-8000-000000000000';
  it.each([
    ['an unknown field', `mutation { insert_customers_one(object: {name: "x", nickname: "y"}) { row_id } }`, 'Field "nickname" is not defined by type "customers_insert_input"'],
    ['a wrong type', `mutation { insert_orders_one(object: {quantity: "three"}) { row_id } }`, 'BigInt cannot represent "three"'],
    ['a float for an int', `mutation { insert_orders_one(object: {quantity: 1.5}) { row_id } }`, 'BigInt cannot represent a FloatValue literal'],
    ['an unknown enum value', `mutation { insert_customers_one(object: {name: "x", tier: GOLD}) { row_id } }`, 'Value "GOLD" does not exist in "customers_tier_enum" enum'],
    ['a missing required attribute', `mutation { insert_customers_one(object: {country: "DE"}) { row_id } }`, 'Field "customers_insert_input.name" of required type "String!" was not provided'],
    ['a ref to a row that does not exist', `mutation { insert_orders_one(object: {customer: "${unknownCustomer}"}) { row_id } }`, `orders.customer: no customers row with row_id ${unknownCustomer}`],
    ['a malformed UUID', `mutation { insert_orders_one(object: {customer: "not-a-uuid"}) { row_id } }`, 'Value is not a valid UUID: not-a-uuid'],
    ['a malformed row_id', `mutation { update_orders_by_pk(row_id: "123", _set: {paid: true}) { row_id } }`, 'Value is not a valid UUID: 123'],
    ['a bad timestamp', `mutation { insert_orders_one(object: {placed_at: "yesterday"}) { row_id } }`, 'DateTime cannot represent an invalid date-time-string yesterday'],
  ])('%s', async (_what, mutation, message) => {
    const before = await counts();
    const res = await gw.gql(mutation);
    expect(res.errors?.[0]?.message).toContain(message);
    expect(await counts()).toEqual(before);
  });

  it('a bulk insert with one bad row writes none of them', async () => {
    const before = await counts();
    const res = await gw.gql(`mutation($objects: [orders_insert_input!]!) { insert_orders(objects: $objects) { affected_rows } }`, {
      objects: [{ customer: customerId }, { customer: customerId }, { customer: unknownCustomer }],
    });
    expect(res.errors?.[0]?.message).toBe(`orders.customer: no customers row with row_id ${unknownCustomer}`);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(before);
  });

  it('a variable of the wrong type names the variable and the field', async () => {
    const before = await counts();
    const res = await gw.gql(`mutation($objects: [orders_insert_input!]!) { insert_orders(objects: $objects) { affected_rows } }`, {
      objects: [{ total: 'cheap' }],
    });
    expect(res.errors?.[0]?.message).toMatch(/Variable "\$objects" got invalid value "cheap" at "objects\[0\]\.total"; Float cannot represent/);
    expect(await counts()).toEqual(before);
  });

  it('clearing a required attribute is refused', async () => {
    const before = await counts();
    const res = await gw.gql(`mutation($id: UUID!) { update_customers_by_pk(row_id: $id, _set: {name: null}) { row_id } }`, { id: customerId });
    expect(res.errors?.[0]?.message).toBe('customers.name: a value is required');
    expect(await counts()).toEqual(before);
  });

  it('a ref to a soft-deleted row is refused', async () => {
    const gone = await gw.gql(`mutation { insert_customers_one(object: {name: "Gone"}) { row_id } }`);
    const goneId = gone.data.insert_customers_one.row_id;
    await gw.gql(`mutation($id: UUID!) { delete_customers_by_pk(row_id: $id) { row_id } }`, { id: goneId });
    const before = await counts();
    const res = await gw.gql(`mutation($c: UUID!) { insert_orders_one(object: {customer: $c}) { row_id } }`, { c: goneId });
    expect(res.errors?.[0]?.message).toBe(`orders.customer: no customers row with row_id ${goneId}`);
    expect(await counts()).toEqual(before);
  });
});

// Mutations compiled by graphql-jit (src/graphql/compiled-mutations.ts): a string literal never
// reaches its generated code, and a compiled bulk insert answers as graphql-js answers a query.
describe('compiled mutations', () => {
  it('a string literal carrying graphql-jit’s Date marker is stored as the string it is, and runs nothing', async () => {
    // graphql-jit 0.8.9 turns `"<marker><text>"` in a literal argument into `new Date(<text>)` in its code.
    const payload = '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d0, (globalThis.__compiledMutationProbe = 1)';
    const res = await gw.gql(`mutation { insert_orders_one(object: {note: ${JSON.stringify(payload)}, total: 1.5}) { note total } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.insert_orders_one).toEqual({ note: payload, total: 1.5 });
    expect((globalThis as { __compiledMutationProbe?: unknown }).__compiledMutationProbe).toBeUndefined();
  });

  it('a bulk insert by variables returns its rows as a query through graphql-js reads them back, every scalar alike', async () => {
    const objects = Array.from({ length: 150 }, (_, n) => ({
      customer: n % 3 === 0 ? null : customerId,
      total: n / 4,
      quantity: n === 0 ? '9007199254740993' : n,
      paid: n % 2 === 0,
      placed_at: new Date(Date.UTC(2025, 0, 1) + n * 3_600_000).toISOString(),
      note: n % 5 === 0 ? null : `note "${n}" ü`,
    }));
    const fields = 'row_id time_slot customer { row_id name } total quantity paid placed_at note __typename';
    const inserted = await gw.gql(`mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { affected_rows rows: returning { ${fields} } } }`, { o: objects });
    expect(inserted.errors, JSON.stringify(inserted.errors)).toBeUndefined();
    expect(inserted.data.insert_orders.affected_rows).toBe(150);
    const rows = inserted.data.insert_orders.rows as Record<string, unknown>[];
    expect(rows.map((r) => r.note)).toEqual(objects.map((o) => o.note));
    expect(rows[0]!.quantity).toBe('9007199254740993');

    const read = await gw.gql(`query($ids: [UUID!]!) { orders(where: {row_id: {_in: $ids}}, order_by: {placed_at: asc}, limit: 150) { ${fields} } }`, {
      ids: rows.map((r) => r.row_id),
    });
    expect(read.errors, JSON.stringify(read.errors)).toBeUndefined();
    expect(read.data.orders).toEqual(rows);
  });
});
