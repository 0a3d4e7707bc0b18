// After this process's own writes commit, the hot mirror of an entity that searches read is topped
// up in the background (QueryEngine.topUp): the next search finds it current and copies nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntitySchema } from '../../src/catalog/index.js';
import { bufferStats } from '../../src/oltp/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('the hot mirror after this process writes', () => {
  let gw: TestGateway;
  let customers: EntitySchema;
  let orders: EntitySchema;
  beforeAll(async () => {
    gw = await startTestGateway();
    customers = gw.catalog.entity('customers');
    orders = gw.catalog.entity('orders');
  });
  afterAll(async () => {
    await gw?.close();
  });

  const engine = () => gw.lakehouse.search.engine;
  const count = async () => (await gw.gql('{ customers_aggregate { aggregate { count } } }')).data?.customers_aggregate.aggregate.count;
  const newestSlot = async (entity: EntitySchema) => (await bufferStats(gw.oltp.pool, entity)).newestSlot;

  it('tops up the mirror of an entity searches read, and leaves the others alone', async () => {
    // given: a search read the customers (their mirror exists), none the orders
    await gw.oltp.writer.insert(customers, [{ name: 'first' }]);
    expect(await count()).toBe(1);
    const before = engine().mirroredThrough(customers);
    expect(before).toBe(await newestSlot(customers));

    // when: this process writes both, and no search runs
    expect((await gw.gql('mutation { insert_customers(objects: [{ name: "a" }, { name: "b" }]) { affected_rows } }')).errors).toBeUndefined();
    await gw.oltp.writer.insert(orders, [{ quantity: 1 }]);
    await engine().toppedUp();

    // then: the customers' mirror holds the new rows already; the orders have none to keep current
    expect(engine().mirroredThrough(customers)).toBe(await newestSlot(customers));
    expect(engine().mirroredThrough(customers)).toBeGreaterThan(before);
    expect(engine().mirroredThrough(orders)).toBe(-1n);
    // and the next search sees them, nothing left held
    expect(await count()).toBe(3);
    expect(engine().held()).toEqual({ snapshots: 0, changedSetPins: 0, hotReaders: 0, cachePins: 0 });
  });

  it('writes while a top-up runs are topped up after it', async () => {
    // when: several writes commit back to back
    await Promise.all(Array.from({ length: 5 }, (_, i) => gw.oltp.writer.insert(customers, [{ name: `burst ${i}` }])));
    await engine().toppedUp();

    // then: the mirror holds the last of them
    expect(engine().mirroredThrough(customers)).toBe(await newestSlot(customers));
  });

  it('a commit listener that throws does not fail the write it heard of', async () => {
    // given: a listener that throws
    const heard: string[][] = [];
    const stop = gw.oltp.writer.onCommit((entities) => {
      heard.push(entities.map((e) => e.name));
      throw new Error('listener broke');
    });
    try {
      // when: a write commits
      const [row] = await gw.oltp.writer.insert(customers, [{ name: 'after a broken listener' }]);

      // then: the write answers with its row, which is stored, and the listener heard of it
      expect(row?.values.name).toBe('after a broken listener');
      expect((await gw.oltp.readRows(customers, [row!.row_id])).get(row!.row_id)?.values.name).toBe('after a broken listener');
      expect(heard).toEqual([['customers']]);
    } finally {
      stop();
    }
  });
});
