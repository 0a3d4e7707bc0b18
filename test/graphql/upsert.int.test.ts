// Inserts with client row_ids and Hasura's on_conflict: a client that lost a reply sends the same
// insert again and gets no second copy; without on_conflict the repeat is a conflict naming the row.
import { uuidv4, uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw?.close());

const INSERT = `mutation($objects: [orders_insert_input!]!, $on_conflict: orders_on_conflict) {
  insert_orders(objects: $objects, on_conflict: $on_conflict) { affected_rows returning { row_id quantity note paid time_slot } }
}`;

async function copiesOf(rowIds: readonly string[]) {
  const { rows } = await gw.oltp.pool.query<{ row_id: string; versions: string; changes: string }>(
    `SELECT e.row_id, count(*)::text AS versions, (SELECT count(*) FROM change_log c WHERE c.row_id = e.row_id)::text AS changes
       FROM eav_entity e WHERE e.row_id = ANY($1::uuid[]) GROUP BY e.row_id ORDER BY e.row_id`,
    [rowIds],
  );
  return rows;
}

async function counts() {
  const { rows } = await gw.oltp.pool.query(
    `SELECT (SELECT count(*) FROM eav_entity) AS entities, (SELECT count(*) FROM eav_value) AS values, (SELECT count(*) FROM change_log) AS changes`,
  );
  return rows[0];
}

async function search(rowIds: readonly string[]) {
  const res = await gw.gql(`query($ids: [UUID!]) { orders(where: {row_id: {_in: $ids}}) { row_id quantity note } }`, { ids: rowIds });
  expect(res.errors).toBeUndefined();
  return res.data.orders as { row_id: string; quantity: number | null; note: string | null }[];
}

const doNothing = { constraint: 'orders_pkey', update_columns: [] };

describe('client row_ids and on_conflict', () => {
  it('a bulk insert sent twice with on_conflict do-nothing leaves one copy of each row and returns only new rows', async () => {
    const objects = Array.from({ length: 5 }, (_, i) => ({ row_id: uuidv7(), quantity: i, note: 'retry' }));
    const first = await gw.gql(INSERT, { objects, on_conflict: doNothing });
    expect(first.errors).toBeUndefined();
    expect(first.data.insert_orders.affected_rows).toBe(5);
    expect(first.data.insert_orders.returning.map((r: { row_id: string }) => r.row_id)).toEqual(objects.map((o) => o.row_id));

    const again = await gw.gql(INSERT, { objects, on_conflict: doNothing });
    expect(again.errors).toBeUndefined();
    expect(again.data.insert_orders).toEqual({ affected_rows: 0, returning: [] });
    const ids = objects.map((o) => o.row_id);
    expect((await copiesOf(ids)).map((r) => [r.versions, r.changes])).toEqual(ids.map(() => ['1', '1']));
    expect(await search(ids)).toHaveLength(5);

    // A retry that mixes sent and new rows inserts only the new ones.
    const extra = { row_id: uuidv7(), quantity: 99, note: 'retry' };
    const mixed = await gw.gql(INSERT, { objects: [...objects, extra], on_conflict: doNothing });
    expect(mixed.data.insert_orders).toMatchObject({ affected_rows: 1, returning: [{ row_id: extra.row_id, quantity: 99 }] });
  });

  it('the same insert sent twice at once (both replies lost, both retried) still gives one copy', async () => {
    const objects = Array.from({ length: 20 }, (_, i) => ({ row_id: uuidv7(), quantity: i, note: 'twice-at-once' }));
    const [a, b] = await Promise.all([gw.gql(INSERT, { objects, on_conflict: doNothing }), gw.gql(INSERT, { objects, on_conflict: doNothing })]);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(a.data.insert_orders.affected_rows + b.data.insert_orders.affected_rows).toBe(20);
    expect((await copiesOf(objects.map((o) => o.row_id))).every((r) => r.versions === '1' && r.changes === '1')).toBe(true);
  });

  it('without on_conflict, a row_id that exists is a conflict naming it, and nothing of the batch is written', async () => {
    const taken = uuidv7();
    await gw.gql(INSERT, { objects: [{ row_id: taken, quantity: 1 }] });
    const before = await counts();
    const res = await gw.gql(INSERT, { objects: [{ row_id: uuidv7(), quantity: 2 }, { row_id: taken, quantity: 3 }] });
    expect(res.errors?.[0]?.message).toBe(
      `objects[1].row_id: row_id ${taken} already exists in orders (uniqueness violation of orders_pkey; use on_conflict to upsert)`,
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(await counts()).toEqual(before);
  });

  it('update_columns update the existing rows to the inserted values (absent ones to null) and return them', async () => {
    const rowId = uuidv7();
    await gw.gql(INSERT, { objects: [{ row_id: rowId, quantity: 1, note: 'before', paid: true }] });
    const res = await gw.gql(INSERT, {
      objects: [{ row_id: rowId, quantity: 2 }],
      on_conflict: { constraint: 'orders_pkey', update_columns: ['quantity', 'note'] },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.insert_orders).toMatchObject({ affected_rows: 1, returning: [{ row_id: rowId, quantity: 2, note: null, paid: true }] });
    expect(await search([rowId])).toEqual([{ row_id: rowId, quantity: 2, note: null }]);
    expect((await copiesOf([rowId]))[0]).toMatchObject({ versions: '1', changes: '2' });
  });

  it('on_conflict.where updates only the existing rows that match it; the others are neither changed nor returned', async () => {
    const [low, high] = [uuidv7(), uuidv7()];
    await gw.gql(INSERT, { objects: [{ row_id: low, quantity: 1 }, { row_id: high, quantity: 100 }] });
    await gw.lakehouse.admin.flush(gw.catalog.entity('orders'), true);
    const res = await gw.gql(INSERT, {
      objects: [{ row_id: low, quantity: 50 }, { row_id: high, quantity: 50 }],
      on_conflict: { constraint: 'orders_pkey', update_columns: ['quantity'], where: { quantity: { _lt: 10 } } },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.insert_orders).toMatchObject({ affected_rows: 1, returning: [{ row_id: low, quantity: 50 }] });
    expect(new Map((await search([low, high])).map((r) => [r.row_id, r.quantity]))).toEqual(
      new Map([
        [low, 50],
        [high, 100],
      ]),
    );
  });

  it('insert_<name>_one with on_conflict do-nothing returns null for an existing row', async () => {
    const rowId = uuidv7();
    const query = `mutation($o: orders_insert_input!) { insert_orders_one(object: $o, on_conflict: {constraint: orders_pkey, update_columns: []}) { row_id } }`;
    expect((await gw.gql(query, { o: { row_id: rowId } })).data.insert_orders_one).toEqual({ row_id: rowId });
    expect((await gw.gql(query, { o: { row_id: rowId } })).data.insert_orders_one).toBeNull();
  });

  it('a soft-deleted row_id is not revived by an upsert, and is a conflict without on_conflict', async () => {
    const rowId = uuidv7();
    await gw.gql(INSERT, { objects: [{ row_id: rowId, quantity: 1 }] });
    await gw.gql(`mutation($id: UUID!) { delete_orders_by_pk(row_id: $id) { row_id } }`, { id: rowId });
    const upsert = await gw.gql(INSERT, { objects: [{ row_id: rowId, quantity: 2 }], on_conflict: { constraint: 'orders_pkey', update_columns: ['quantity'] } });
    expect(upsert.data.insert_orders).toEqual({ affected_rows: 0, returning: [] });
    expect(await search([rowId])).toEqual([]);
    const plain = await gw.gql(INSERT, { objects: [{ row_id: rowId, quantity: 2 }] });
    expect(plain.errors?.[0]?.message).toBe(`object.row_id: row_id ${rowId} was a orders row that is soft-deleted; a deleted row_id is never reused`);
  });

  it('a row_id of another entity is a conflict, also with on_conflict', async () => {
    const customer = (await gw.gql(`mutation { insert_customers_one(object: {name: "Ada"}) { row_id } }`)).data.insert_customers_one.row_id;
    const res = await gw.gql(INSERT, { objects: [{ row_id: customer }], on_conflict: doNothing });
    expect(res.errors?.[0]?.message).toBe(`object.row_id: row_id ${customer} is already a row of customers`);
    expect(res.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it.each([
    ['a UUID v4', () => uuidv4(), 'is not a UUID v7'],
    ['a UUID with v7 nibble but the wrong variant', () => uuidv7().split('-').map((part, i) => (i === 3 ? `c${part.slice(1)}` : part)).join('-'), 'is not a UUID v7'],
  ])('refuses %s as a row_id, naming the object, and writes nothing', async (_what, make, message) => {
    const before = await counts();
    const bad = make();
    const res = await gw.gql(INSERT, { objects: [{ row_id: uuidv7() }, { row_id: bad }] });
    expect(res.errors?.[0]?.message).toBe(`objects[1].row_id: "${bad}" ${message} (version nibble 7, variant 10xx; e.g. from the uuidv7 package)`);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(before);
  });

  it('refuses one row_id given twice in one call', async () => {
    const rowId = uuidv7();
    const res = await gw.gql(INSERT, { objects: [{ row_id: rowId }, { row_id: rowId }], on_conflict: doNothing });
    expect(res.errors?.[0]?.message).toBe(`objects[1].row_id: ${rowId} is also the row_id of objects[0]`);
  });
});
