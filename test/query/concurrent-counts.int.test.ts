// Counts under concurrent writes and flushes (issue 10 defect 5), black-box over GraphQL: no count
// is below what was acknowledged before the read was sent, nor above what was sent before its
// answer came. CONCURRENCY_SECONDS sets the duration (default 15, the `npm test` form).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type GraphQLResponse, type TestGateway } from '../support/gateway.js';

const SECONDS = Number(process.env.CONCURRENCY_SECONDS ?? 15);
/** Bounds each loop in count as well as time. */
const MAX_STEPS = 200_000;

interface Tally {
  /** Rows acknowledged by a writer. */
  acked: number;
  /** Rows whose insert was sent (acknowledged or not yet). */
  sent: number;
}

describe('counts while two writers insert and a loop flushes', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it(
    'no count through a reference, nor of the referenced entity, is below what was acknowledged before the read',
    async () => {
      // given: two writers, each inserting a customer "c" and then an order that references it
      const customers: Tally = { acked: 0, sent: 0 };
      const orders: Tally = { acked: 0, sent: 0 };
      const deadline = Date.now() + SECONDS * 1000;
      let failed = false;
      const running = () => !failed && Date.now() < deadline;
      /** A loop that fails stops the others, so none outlives the test. */
      const loop = (work: () => Promise<void>) =>
        work().catch((error: unknown) => {
          failed = true;
          throw error;
        });
      const ok = <T>(res: GraphQLResponse<T>): T => {
        expect(res.errors).toBeUndefined();
        return res.data!;
      };
      const writer = async () => {
        for (let step = 0; running() && step < MAX_STEPS; step++) {
          customers.sent++;
          const customer = ok(await gw.gql<{ insert_customers_one: { row_id: string } }>(`mutation { insert_customers_one(object: {name: "c"}) { row_id } }`));
          customers.acked++;
          orders.sent++;
          ok(await gw.gql(`mutation ($c: UUID) { insert_orders_one(object: {customer: $c, quantity: 1}) { row_id } }`, {
            c: customer.insert_customers_one.row_id,
          }));
          orders.acked++;
        }
      };
      // and: a loop that force-flushes customers (and now and then orders) through the admin API
      let flushes = 0;
      const flusher = async () => {
        for (let step = 0; running() && step < MAX_STEPS; step++) {
          const entity = step % 4 === 3 ? 'orders' : 'customers';
          const res = ok(await gw.gql<{ flush: { flushed: boolean } }>(`mutation ($e: String!) { flush(entity: $e, force: true) { flushed } }`, { e: entity }, { admin: true }));
          if (res.flush.flushed) flushes++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      // when: readers count orders through the reference, and customers, all the while
      const reads = { orders: 0, customers: 0 };
      const inconsistent: string[] = [];
      const reader = async (kind: 'orders' | 'customers') => {
        const tally = kind === 'orders' ? orders : customers;
        const query =
          kind === 'orders'
            ? `{ counted: orders_aggregate(where: {customer: {name: {_eq: "c"}}}) { aggregate { count } } }`
            : `{ counted: customers_aggregate(where: {name: {_eq: "c"}}) { aggregate { count } } }`;
        for (let step = 0; running() && step < MAX_STEPS; step++) {
          const ackedBefore = tally.acked;
          const res = ok(await gw.gql<{ counted: { aggregate: { count: number } } }>(query));
          const sentAfter = tally.sent;
          const count = res.counted.aggregate.count;
          reads[kind]++;
          if (count < ackedBefore || count > sentAfter) inconsistent.push(`${kind}: ${count} outside [${ackedBefore}, ${sentAfter}]`);
        }
      };
      const loops = await Promise.allSettled([writer, writer, flusher, () => reader('orders'), () => reader('orders'), () => reader('customers')].map(loop));
      for (const result of loops) if (result.status === 'rejected') throw result.reason;

      // then: every read was consistent, and the run really interleaved writes, flushes and reads
      console.log(
        `concurrent counts over ${SECONDS}s: ${reads.orders} order reads, ${reads.customers} customer reads, ` +
          `${inconsistent.length} inconsistent (${inconsistent.filter((r) => r.startsWith('orders')).length} of orders); ` +
          `${orders.acked} orders, ${flushes} flushes`,
      );
      expect(inconsistent.slice(0, 10)).toEqual([]);
      expect(reads.orders).toBeGreaterThan(5);
      expect(reads.customers).toBeGreaterThan(3);
      expect(flushes).toBeGreaterThan(3);
      // and: once quiet, both counts are exact
      const final = ok(
        await gw.gql<{ o: { aggregate: { count: number } }; c: { aggregate: { count: number } } }>(
          `{ o: orders_aggregate(where: {customer: {name: {_eq: "c"}}}) { aggregate { count } } c: customers_aggregate { aggregate { count } } }`,
        ),
      );
      expect(final.o.aggregate.count).toBe(orders.acked);
      expect(final.c.aggregate.count).toBe(customers.acked);
    },
    (SECONDS + 60) * 1000,
  );
});
