// SQL injection through every string-typed input of the read and admin API: each attack string is
// plain text, the answers equal the truth, and nothing in the database changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { answerList, readTruth } from '../support/oracle.js';

const ATTACKS = [
  "'; DROP TABLE change_log; --",
  "' OR '1'='1",
  '" OR ""="',
  "\\'; SELECT pg_sleep(5); --",
  "1); DELETE FROM eav_value; --",
  "%' UNION SELECT row_id FROM eav_entity --",
  '$1',
  '?',
  "E'\\x00'",
];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
  const notes = [...ATTACKS, 'plain', null];
  await gw.gql(`mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { affected_rows } }`, {
    o: notes.map((note, i) => ({ note, total: i })),
  });
  await gw.lakehouse.admin.flush(gw.catalog.entity('orders'), true);
  await gw.gql(`mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { affected_rows } }`, {
    o: ATTACKS.map((note, i) => ({ note: `${note}${i}`, total: 100 + i })),
  });
});
afterAll(async () => {
  await gw?.close();
});

async function tableCounts(): Promise<unknown> {
  const { rows } = await gw.oltp.pool.query(
    `SELECT (SELECT count(*) FROM change_log) AS log, (SELECT count(*) FROM eav_value) AS vals, (SELECT count(*) FROM eav_entity) AS ents, (SELECT count(*) FROM lake_file) AS files`,
  );
  return rows[0];
}

describe('SQL injection attempts are plain text', () => {
  // Patterns take the attack as literal text, escaped as a user would (unbalanced parentheses are refused).
  const regexText = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const similarText = (text: string) => text.replace(/[%_|*+?{}()[\]\\.]/g, '\\$&');
  const operand = (op: string, attack: string): unknown =>
    op === '_in' || op === '_nin' ? [attack, 'plain']
    : op.includes('regex') ? regexText(attack)
    : op.includes('similar') ? similarText(attack)
    : attack;

  it.each(['_eq', '_neq', '_gt', '_lte', '_like', '_ilike', '_nlike', '_nilike', '_contains', '_starts_with', '_in', '_nin', '_regex', '_niregex', '_similar', '_nsimilar'])('through %s', async (op) => {
    const before = await tableCounts();
    const truth = await readTruth(gw);
    const orders = gw.catalog.entity('orders');
    for (const attack of ATTACKS) {
      const where = { note: { [op]: operand(op, attack) } };
      const res = await gw.gql(`query($w: orders_bool_exp) { orders(where: $w, limit: 1000) { row_id } }`, { w: where });
      expect(res.errors, `${op} ${attack}`).toBeUndefined();
      const expected = answerList(gw.catalog, truth, orders, { where, limit: 1000 }).map((r) => r.row_id);
      expect(res.data.orders.map((r: { row_id: string }) => r.row_id), `${op} ${attack}`).toEqual(expected);
      const grouped = await gw.gql(`query($w: orders_bool_exp) { orders_aggregate(where: $w) { aggregate { count } } }`, { w: where });
      expect(grouped.data.orders_aggregate.aggregate.count).toBe(expected.length);
    }
    expect(await tableCounts()).toEqual(before);
  });

  it('through a filter on a referenced entity and the admin entity name', async () => {
    const before = await tableCounts();
    for (const attack of ATTACKS) {
      const res = await gw.gql(`query($v: String!) { orders(where: {customer: {name: {_eq: $v}}}) { row_id } }`, { v: attack });
      expect(res.data.orders).toEqual([]);
      const reverse = await gw.gql(`query($v: String!) { customers(where: {orders: {note: {_eq: $v}}, orders_aggregate: {count: {predicate: {_gt: 0}, filter: {note: {_eq: $v}}}}}) { row_id } }`, { v: attack });
      expect(reverse.errors).toBeUndefined();
      expect(reverse.data.customers).toEqual([]);
      const flush = await gw.gql(`mutation($e: String!) { flush(entity: $e, force: true) { rows } }`, { e: attack }, { admin: true });
      expect(flush.errors?.[0]?.message).toBe(`unknown entity "${attack}" (known: customers, orders)`);
    }
    expect(await tableCounts()).toEqual(before);
  });
});
