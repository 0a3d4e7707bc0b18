// One request, one snapshot: the answer names the snapshot's high-water time_slot, and the snapshot
// (its hot-mirror claim, pinned files and changed sets, its Postgres connection) is let go when the
// request ends, however it ends: answered, failed, cancelled, or past QUERY_TIMEOUT_MS.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { QueryFaults } from '../../src/query/index.js';
import { startTestGateway, type GraphQLResponse, type TestGateway } from '../support/gateway.js';

type Answer<T = any> = GraphQLResponse<T> & { extensions?: { snapshot?: { time_slot: number | string | null } } };

const NOTHING_HELD = { snapshots: 0, changedSetPins: 0, hotReaders: 0, cachePins: 0 };

/**
 * Waits until the gateway holds no snapshot and no Postgres connection is checked out; not as long
 * as QUERY_TIMEOUT_MS below, at which a snapshot would go by itself.
 */
async function expectNothingHeld(gw: TestGateway): Promise<void> {
  await vi.waitFor(
    () => {
      expect(gw.lakehouse.search.engine.held()).toEqual(NOTHING_HELD);
      expect(gw.oltp.pool.totalCount - gw.oltp.pool.idleCount).toBe(0);
    },
    { timeout: 3_000, interval: 50 },
  );
}

describe('the snapshot time_slot in extensions', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });
  const slotOf = (res: Answer) => {
    expect(res.errors).toBeUndefined();
    const slot = res.extensions?.snapshot?.time_slot;
    return slot === undefined || slot === null ? slot : BigInt(slot);
  };
  const insertOrder = async () => {
    const res = await gw.gql<{ insert_orders_one: { time_slot: number } }>(`mutation { insert_orders_one(object: {quantity: 1}) { row_id time_slot } }`);
    expect(res.errors).toBeUndefined();
    expect((res as Answer).extensions?.snapshot).toBeUndefined(); // a mutation has no request snapshot
    return BigInt(res.data!.insert_orders_one.time_slot);
  };
  const countOrders = async () => (await gw.gql(`{ orders_aggregate { aggregate { count } } }`)) as Answer;

  it('is the newest committed slot of the entities read; a write advances it, a flush or compaction does not', async () => {
    // given: nothing written yet
    expect(slotOf(await countOrders())).toBeNull();
    // when: an order is written, then another
    const first = await insertOrder();
    expect(slotOf(await countOrders())).toBe(first);
    const second = await insertOrder();
    expect(second).toBeGreaterThan(first);
    const beforeFlush = await countOrders();
    expect(slotOf(beforeFlush)).toBe(second);
    // then: moving the rows into the lake changes nothing a reader sees, nor the slot
    expect((await gw.lakehouse.admin.flush(gw.catalog.entity('orders'), true)).flushed).toBe(true);
    expect(slotOf(await countOrders())).toBe(second);
    expect((await gw.lakehouse.admin.compact(gw.catalog.entity('orders'), true)).compacted).toBe(true);
    const afterCompaction = await countOrders();
    expect(slotOf(afterCompaction)).toBe(second);
    expect(afterCompaction.data).toEqual(beforeFlush.data);
    // and: a write to customers moves the slot of requests that read customers only
    const customer = await gw.gql(`mutation { insert_customers_one(object: {name: "c"}) { time_slot } }`);
    const customerSlot = BigInt(customer.data.insert_customers_one.time_slot);
    expect(slotOf(await countOrders())).toBe(second);
    const both = await gw.gql(`{ customers_aggregate { aggregate { count } } orders(limit: 5) { row_id } }`);
    expect(slotOf(both)).toBe(customerSlot > second ? customerSlot : second);
  });

  it('is absent when no search ran (a point lookup reads the OLTP store)', async () => {
    const res = (await gw.gql(`{ orders_by_pk(row_id: "00000000-0000-7000-8000-000000000000") { row_id } }`)) as Answer;
    expect(res.errors).toBeUndefined();
    expect(res.extensions?.snapshot).toBeUndefined();
  });
});

describe('a request snapshot is let go however the request ends', () => {
  let gw: TestGateway;
  const faults: QueryFaults = {};
  const defaults = loadConfig({});
  beforeAll(async () => {
    gw = await startTestGateway({
      lake: { queryFaults: faults, query: { timeoutMs: 8_000 } },
      bounds: { maxRows: 20, maxResponseBytes: defaults.request.maxResponseBytes, documentCache: defaults.documentCache },
    });
    await gw.oltp.writer.insert(gw.catalog.entity('orders'), Array.from({ length: 30 }, (_, i) => ({ quantity: i })));
    // Part in the lake (pinned files, changed sets), part buffered (the hot mirror's claim).
    await gw.lakehouse.admin.flush(gw.catalog.entity('orders'), true);
    await gw.oltp.writer.update(gw.catalog.entity('orders'), (await gw.gql(`{ orders(limit: 1) { row_id } }`)).data.orders[0].row_id, { quantity: 99 });
    await expectNothingHeld(gw);
  });
  afterAll(async () => {
    await gw?.close();
  });
  /** Fails or delays the searches of the next request: `plan[i]` runs before its i-th statement. */
  const onStatements = (plan: (() => Promise<void>)[]) => {
    let n = 0;
    faults.beforeStatement = async () => {
      const step = plan[n++];
      if (n >= plan.length) delete faults.beforeStatement;
      await step?.();
    };
  };

  it('after the row bound ends it while later fields wait for their turn', async () => {
    // when: the first field passes MAX_ROWS_PER_REQUEST, and two more searches are queued behind it
    const res = await gw.gql(`{ a: orders(limit: 30) { row_id } b: orders_aggregate { aggregate { count } } c: orders(limit: 1) { row_id } }`);
    // then
    expect(res.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    await expectNothingHeld(gw);
  });

  it('after a search fails inside the engine', async () => {
    onStatements([async () => undefined, async () => Promise.reject(new Error('injected failure before the second statement'))]);
    const res = await gw.gql(`{ a: orders(limit: 3) { row_id } b: orders_aggregate { aggregate { count } } }`);
    expect(res.errors?.length).toBeGreaterThan(0);
    await expectNothingHeld(gw);
  });

  it('after the client cancels it mid-search', async () => {
    const controller = new AbortController();
    onStatements([() => new Promise((resolve) => setTimeout(resolve, 500))]);
    const sent = gw.yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ orders(limit: 3) { row_id } orders_aggregate { aggregate { count } } }` }),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await Promise.resolve(sent).then(
      (response) => response.text(),
      () => undefined,
    );
    await expectNothingHeld(gw);
  });

  it('at QUERY_TIMEOUT_MS, which bounds the whole request from its first search', async () => {
    // given: each of two searches alone well within the bound, together past it
    onStatements([() => new Promise((resolve) => setTimeout(resolve, 4_500)), () => new Promise((resolve) => setTimeout(resolve, 4_500))]);
    const started = Date.now();
    const res = await gw.gql(`{ a: orders(limit: 3) { row_id } b: orders_aggregate { aggregate { count } } }`);
    // then: the second is stopped with the request's bound named
    expect(res.errors?.[0]?.extensions?.code).toBe('TIMEOUT');
    expect(res.errors?.[0]?.message).toContain("request's searches ran longer than their limit of 8000 ms (QUERY_TIMEOUT_MS)");
    expect(Date.now() - started).toBeLessThan(15_000);
    await expectNothingHeld(gw);
    // and: the next request is answered
    const next = await gw.gql(`{ orders_aggregate { aggregate { count } } }`);
    expect(next.errors).toBeUndefined();
    expect(next.data.orders_aggregate.aggregate.count).toBe(30);
  });
});
