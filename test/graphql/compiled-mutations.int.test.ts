// Mutations compiled by graphql-jit (src/graphql/compiled-mutations.ts): a string literal never
// reaches its generated code, and a compiled bulk insert answers as graphql-js answers a query.
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
