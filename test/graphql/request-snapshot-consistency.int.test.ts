// One request, one snapshot (issue 13 item 6), under load: while a writer inserts, updates and
// deletes orders and customers, and a second "process" flushes and compacts, a page and its total
// never disagree, nor a parent list, its nested reverse relations and their totals.
// SNAPSHOT_SECONDS sets the duration (default 10).
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/cli/demo-data.js';
import { openLakehouse, type Lakehouse } from '../../src/cli/lakehouse.js';
import { openOltpStore, type OltpStore } from '../../src/oltp/index.js';
import { startTestGateway, type GraphQLResponse, type TestGateway } from '../support/gateway.js';

const SECONDS = Number(process.env.SNAPSHOT_SECONDS ?? 10);
/** Live orders are kept below this (the page's limit), so a page holds every matching row. */
const MAX_ORDERS = 400;
const MAX_STEPS = 100_000;

const PAGE_AND_TOTAL = `{
  orders(where: {paid: {_eq: true}}, limit: 1000) { row_id }
  orders_aggregate(where: {paid: {_eq: true}}) { aggregate { count } }
}`;
const NESTED = `{
  customers(where: {name: {_eq: "c"}}, limit: 1000) { row_id orders(limit: 1000) { row_id } }
  customers_aggregate(where: {name: {_eq: "c"}}) { aggregate { count } }
  orders_aggregate(where: {customer: {name: {_eq: "c"}}}) { aggregate { count } }
}`;

interface PageAndTotal {
  orders: { row_id: string }[];
  orders_aggregate: { aggregate: { count: number } };
}
interface Nested {
  customers: { row_id: string; orders: { row_id: string }[] }[];
  customers_aggregate: { aggregate: { count: number } };
  orders_aggregate: { aggregate: { count: number } };
}
type WithSlot<T> = GraphQLResponse<T> & { extensions?: { snapshot?: { time_slot: number | string | null } } };

describe('one snapshot per request, under concurrent writes, flushes and compactions', () => {
  let gw: TestGateway;
  let otherOltp: OltpStore;
  let other: Lakehouse;
  beforeAll(async () => {
    gw = await startTestGateway();
    const log = pino({ level: 'silent' });
    otherOltp = await openOltpStore({ databaseUrl: gw.databaseUrl, catalog: gw.catalog, log });
    other = await openLakehouse(gw.lakeSettings, gw.catalog, otherOltp, log);
  });
  afterAll(async () => {
    await other?.close();
    await otherOltp?.close();
    await gw?.close();
  });

  it('a page and its total, and parents with their children, never disagree', { timeout: (SECONDS + 90) * 1000 }, async () => {
    const customers = gw.catalog.entity('customers');
    const orders = gw.catalog.entity('orders');
    const random = seededRandom(13);
    // given: customers named "c" (and others), with orders, some paid, partly in the lake
    const customerIds = (await gw.oltp.writer.insert(customers, Array.from({ length: 30 }, (_, i) => ({ name: i % 3 === 2 ? 'd' : 'c' })))).map((r) => r.row_id);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
    const live = (await gw.oltp.writer.insert(orders, Array.from({ length: 200 }, () => ({ customer: pick(customerIds), paid: random() < 0.5, total: 1 })))).map(
      (r) => r.row_id,
    );
    await other.admin.flush(orders, true);
    await other.admin.flush(customers, true);

    const deadline = Date.now() + SECONDS * 1000;
    let failed = false;
    const running = () => !failed && Date.now() < deadline;
    const loop = (work: () => Promise<void>) =>
      work().catch((error: unknown) => {
        failed = true;
        throw error;
      });
    // and: a writer that inserts, updates (paid flips, customers move) and deletes all the while
    let writes = 0;
    const writer = async () => {
      for (let step = 0; running() && step < MAX_STEPS; step++) {
        const roll = random();
        if (roll < 0.3 && live.length < MAX_ORDERS) {
          const [row] = await gw.oltp.writer.insert(orders, [{ customer: pick(customerIds), paid: random() < 0.5, total: 1 }]);
          live.push(row!.row_id);
        } else if (roll < 0.45 && live.length > 50) {
          const [id] = live.splice(Math.floor(random() * live.length), 1);
          await gw.oltp.writer.softDelete(orders, id!);
        } else if (roll < 0.9) {
          await gw.oltp.writer.update(orders, pick(live), random() < 0.7 ? { paid: random() < 0.5 } : { customer: pick(customerIds) });
        } else {
          // A customer changes its name in and out of "c": its orders join and leave the nested answer.
          await gw.oltp.writer.update(customers, pick(customerIds), { name: random() < 0.5 ? 'c' : 'd' });
        }
        writes++;
      }
    };
    // and: another process flushing both entities and compacting orders
    const maintenance = { flushes: 0, compactions: 0 };
    const maintainer = async () => {
      for (let step = 0; running() && step < MAX_STEPS; step++) {
        if (step % 5 === 4) {
          if ((await other.admin.compact(orders, true)).compacted) maintenance.compactions++;
        } else if ((await other.admin.flush(step % 3 === 2 ? customers : orders, true)).flushed) {
          maintenance.flushes++;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    // when: readers ask for a page and its total, and for parents with nested children and totals
    const reads = { pages: 0, nested: 0 };
    const disagreements: string[] = [];
    const slotOf = (res: WithSlot<unknown>) => {
      const slot = res.extensions?.snapshot?.time_slot;
      return slot === undefined || slot === null ? null : BigInt(slot);
    };
    const pageReader = async () => {
      let lastSlot: bigint | null = null;
      for (let step = 0; running() && step < MAX_STEPS; step++) {
        const res = (await gw.gql<PageAndTotal>(PAGE_AND_TOTAL)) as WithSlot<PageAndTotal>;
        expect(res.errors).toBeUndefined();
        const { orders: page, orders_aggregate: total } = res.data!;
        if (page.length !== total.aggregate.count) disagreements.push(`page of ${page.length} paid orders, total ${total.aggregate.count}`);
        const slot = slotOf(res);
        if (slot !== null && lastSlot !== null && slot < lastSlot) disagreements.push(`time_slot went back from ${lastSlot} to ${slot}`);
        lastSlot = slot;
        reads.pages++;
      }
    };
    const nestedReader = async () => {
      for (let step = 0; running() && step < MAX_STEPS; step++) {
        const res = await gw.gql<Nested>(NESTED);
        expect(res.errors).toBeUndefined();
        const data = res.data!;
        const children = data.customers.reduce((sum, c) => sum + c.orders.length, 0);
        if (data.customers.length !== data.customers_aggregate.aggregate.count) {
          disagreements.push(`${data.customers.length} customers listed, total ${data.customers_aggregate.aggregate.count}`);
        }
        if (children !== data.orders_aggregate.aggregate.count) {
          disagreements.push(`${children} nested orders, total through the ref ${data.orders_aggregate.aggregate.count}`);
        }
        reads.nested++;
      }
    };
    const loops = await Promise.allSettled([writer, maintainer, pageReader, pageReader, nestedReader].map(loop));
    for (const result of loops) if (result.status === 'rejected') throw result.reason;

    // then: no answer disagreed with itself, and the run really interleaved all of it
    console.log(
      `request snapshots over ${SECONDS}s: ${reads.pages} page+total reads, ${reads.nested} nested reads, ${writes} writes, ` +
        `${maintenance.flushes} flushes, ${maintenance.compactions} compactions; ${disagreements.length} disagreements`,
    );
    expect(disagreements.slice(0, 10)).toEqual([]);
    expect(reads.pages).toBeGreaterThan(5);
    expect(reads.nested).toBeGreaterThan(2);
    expect(writes).toBeGreaterThan(20);
    expect(maintenance.flushes).toBeGreaterThan(3);
    expect(maintenance.compactions).toBeGreaterThan(0);
    // and: nothing stays held once the requests are answered (and the writes' mirror top-ups done)
    await gw.lakehouse.search.engine.toppedUp();
    expect(gw.lakehouse.search.engine.held()).toEqual({ snapshots: 0, changedSetPins: 0, hotReaders: 0, cachePins: 0 });
  });
});
