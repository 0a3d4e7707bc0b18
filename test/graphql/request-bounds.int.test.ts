// A request cannot make the process hold more than its bounds: rows across nested fields and
// aliases (MAX_ROWS_PER_REQUEST), response bytes (MAX_RESPONSE_BYTES), parsed documents kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentCacheOf } from '../../src/graphql/index.js';
import { TEST_ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';

const MAX_ROWS = 500;
const DOCUMENT_CACHE = { maxBytes: 64 * 1024, maxDocumentBytes: 4 * 1024 };

/** `customers { orders { customer { orders … } } }`, `levels` fields deep. */
function nestedQuery(levels: number): string {
  let inner = 'row_id';
  for (let level = levels; level >= 1; level--) {
    const field = level === 1 ? 'customers' : level % 2 === 0 ? 'orders' : 'customer';
    inner = `${field} { row_id ${inner} }`;
  }
  return `{ ${inner} }`;
}

/** An insert with its objects written inline in the document, as GraphiQL users and scripts do. */
function inlineInsert(tag: string, objects: number): string {
  const items = Array.from({ length: objects }, (_, i) => `{name: "${tag}-${i}", country: "DE", tier: FREE, lifetime_value: ${i}.5}`);
  return `mutation { insert_customers(objects: [${items.join(', ')}]) { affected_rows } }`;
}

describe('request bounds', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ bounds: { maxRows: MAX_ROWS, maxResponseBytes: 1024 * 1024, documentCache: DOCUMENT_CACHE } });
    // Five customers with two orders each: 21 levels of customers/orders/customer resolve ~20k rows.
    const customers = await gw.gql(
      `mutation($o: [customers_insert_input!]!) { insert_customers(objects: $o) { returning { row_id } } }`,
      { o: Array.from({ length: 5 }, (_, i) => ({ name: `c${i}`, country: 'DE', tier: 'PRO' })) },
    );
    const ids = customers.data.insert_customers.returning.map((r: { row_id: string }) => r.row_id) as string[];
    const orders = ids.flatMap((customer, i) => [0, 1].map((j) => ({ customer, total: i * 10 + j, quantity: 1, paid: true, note: 'x'.repeat(40) })));
    const inserted = await gw.gql(`mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { affected_rows } }`, { o: orders });
    expect(inserted.data.insert_orders.affected_rows).toBe(10);
  });
  afterAll(() => gw?.close());

  it('a 21-level nested query ends with one error naming MAX_ROWS_PER_REQUEST, and the next request is answered', async () => {
    const response = await gw.gql(nestedQuery(21));
    expect(response.data).toBeNull();
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]!.extensions?.code).toBe('LIMIT_EXCEEDED');
    expect(response.errors![0]!.message).toContain(`more than ${MAX_ROWS} rows (MAX_ROWS_PER_REQUEST)`);

    const next = await gw.gql(`{ customers(order_by: [{name: asc}]) { name orders { total } } }`);
    expect(next.errors).toBeUndefined();
    expect(next.data.customers).toHaveLength(5);
  });

  it('a nested query within the bound is answered in full', async () => {
    const response = await gw.gql(nestedQuery(7));
    expect(response.errors).toBeUndefined();
    // 5 customers, 10 orders, 10 customers, 20 orders, 20 customers, 40 orders, 40 customers.
    expect(response.data.customers.flatMap((c: any) => c.orders).flatMap((o: any) => o.customer.orders)).toHaveLength(20);
  });

  it('200 aliases of a list pass the row bound together, though each alias is small', async () => {
    const aliases = Array.from({ length: 200 }, (_, i) => `a${i}: orders(limit: 1000) { row_id total note }`).join('\n');
    const response = await gw.gql(`{ ${aliases} }`);
    expect(response.data).toBeNull();
    expect(response.errors).toEqual([expect.objectContaining({ extensions: { code: 'LIMIT_EXCEEDED' } })]);
    expect(response.errors![0]!.message).toContain('MAX_ROWS_PER_REQUEST');
  });

  it('a list whose limit passes what the budget has left reads no more than the budget', async () => {
    // 50 aliases of 10 orders = exactly the bound: every row fits, nothing is cut.
    const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: orders(limit: 1000) { row_id }`).join('\n');
    const response = await gw.gql(`{ ${aliases} }`);
    expect(response.errors).toBeUndefined();
    expect(Object.values(response.data as Record<string, unknown[]>).every((rows) => rows.length === 10)).toBe(true);
  });

  it('an answer larger than MAX_RESPONSE_BYTES is refused with an error naming it, not sent', async () => {
    const wide = await startTestGateway({
      databaseUrl: gw.databaseUrl,
      bounds: { maxRows: 1_000_000, maxResponseBytes: 16 * 1024, documentCache: DOCUMENT_CACHE },
    });
    try {
      const aliases = Array.from({ length: 200 }, (_, i) => `a${i}: orders(limit: 1000) { row_id total note }`).join('\n');
      const response = await wide.gql(`{ ${aliases} }`);
      expect(response.data).toBeNull();
      expect(response.errors).toEqual([expect.objectContaining({ extensions: { code: 'LIMIT_EXCEEDED' } })]);
      expect(response.errors![0]!.message).toContain('larger than 16384 bytes (MAX_RESPONSE_BYTES)');
      expect((await wide.gql(`{ orders(limit: 2) { row_id } }`)).data.orders).toHaveLength(2);
    } finally {
      await wide.close();
    }
  });

  it('200 distinct inline-object inserts keep the parse cache within its bound', async () => {
    const cache = documentCacheOf(gw.yoga)!;
    for (let i = 0; i < 200; i++) {
      // Alternately past the per-document bound (never kept) and under it (kept, oldest evicted).
      const document = inlineInsert(`bulk${i}`, i % 2 === 0 ? 80 : 20);
      expect(document.length > DOCUMENT_CACHE.maxDocumentBytes).toBe(i % 2 === 0);
      const response = await gw.gql(document);
      expect(response.errors).toBeUndefined();
      expect(cache.size.bytes).toBeLessThanOrEqual(DOCUMENT_CACHE.maxBytes);
    }
    expect(cache.get(inlineInsert('bulk0', 80))).toBeUndefined();
    expect(cache.get(inlineInsert('bulk199', 20))).toBeDefined();
    expect(cache.get(inlineInsert('bulk1', 20))).toBeUndefined();
  });

  it('a small document sent again is answered from the cache', async () => {
    const query = `{ customers(limit: 1, where: {name: {_eq: "c1"}}) { name } }`;
    await gw.gql(query);
    const parsed = documentCacheOf(gw.yoga)!.get(query);
    expect(parsed).toBeDefined();
    expect((await gw.gql(query)).data.customers).toEqual([{ name: 'c1' }]);
    expect(documentCacheOf(gw.yoga)!.get(query)).toBe(parsed);
  });

  // Last: it adds orders that the tests above do not expect.
  it('a mutation whose answer passes the row bound keeps its answer, saying the rest failed: its writes committed', async () => {
    const [customer] = (await gw.gql(`{ customers(limit: 1) { row_id } }`)).data.customers;
    const objects = Array.from({ length: MAX_ROWS + 100 }, (_, i) => ({ customer: customer.row_id, total: i }));
    const response = await gw.gql(
      `mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { affected_rows returning { total customer { name } } } }`,
      { o: objects },
    );
    expect(response.data.insert_orders.affected_rows).toBe(MAX_ROWS + 100);
    expect(response.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    const { rows } = await gw.oltp.pool.query<{ n: string }>(`SELECT count(*) AS n FROM change_log WHERE schema_id = 2`);
    expect(Number(rows[0]!.n)).toBe(10 + MAX_ROWS + 100);
  });

  // After the count above: it adds and changes orders too.
  it('a role with a select filter writes and deletes more rows than the bound and asks affected_rows only: answered, not failed', async () => {
    const analyst = { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'x-hasura-role': 'analyst', 'x-hasura-country': 'DE' } };
    const [customer] = (await gw.gql(`{ customers(limit: 1) { row_id } }`)).data.customers;
    const objects = Array.from({ length: MAX_ROWS + 100 }, (_, i) => ({ customer: customer.row_id, total: i, quantity: 1, note: 'bulk' }));
    const inserted = await gw.gql(`mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { affected_rows } }`, { o: objects }, analyst);
    expect(inserted.errors).toBeUndefined();
    expect(inserted.data.insert_orders.affected_rows).toBe(MAX_ROWS + 100);
    const updated = await gw.gql(`mutation { update_orders(where: {note: {_eq: "bulk"}}, _set: {note: "bulk, seen"}) { affected_rows } }`, undefined, analyst);
    expect(updated.errors).toBeUndefined();
    expect(updated.data.update_orders.affected_rows).toBe(MAX_ROWS + 100);
    // Asked for, the rows are judged and charged as any rows read: past the bound, the answer says so.
    const asked = await gw.gql(`mutation { update_orders(where: {note: {_eq: "bulk, seen"}}, _set: {note: "bulk"}) { affected_rows returning { total } } }`, undefined, analyst);
    expect(asked.errors?.[0]?.message).toContain('MAX_ROWS_PER_REQUEST');
    const { rows } = await gw.oltp.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM eav_value v JOIN eav_attribute a USING (attribute_id) WHERE a.name = 'note' AND v.v_text = 'bulk'`,
    );
    expect(Number(rows[0]!.n)).toBe(MAX_ROWS + 100);

    // Deleted the same way: the rows the role may see are judged before a delete only when it asks for them.
    const deleted = await gw.gql(`mutation { delete_orders(where: {note: {_eq: "bulk"}}) { affected_rows } }`, undefined, analyst);
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data.delete_orders.affected_rows).toBe(MAX_ROWS + 100);
    const left = await gw.gql(`{ orders_aggregate(where: {note: {_eq: "bulk"}}) { aggregate { count } } }`);
    expect(left.data.orders_aggregate.aggregate.count).toBe(0);
  });
});
