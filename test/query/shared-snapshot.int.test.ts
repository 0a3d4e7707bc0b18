// engine.snapshot(entities): statements of one handle read one snapshot, step by step: a write, a
// flush and a compaction committing between them change nothing they see; a statement of an
// entity the handle does not cover reads a snapshot of its own and is reported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntitySchema } from '../../src/catalog/index.js';
import type { BuildStatement, QueryEngine, SnapshotHandle } from '../../src/query/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('a snapshot shared by several statements', () => {
  let gw: TestGateway;
  let engine: QueryEngine;
  let orders: EntitySchema;
  let customers: EntitySchema;
  beforeAll(async () => {
    gw = await startTestGateway();
    engine = gw.lakehouse.search.engine;
    orders = gw.catalog.entity('orders');
    customers = gw.catalog.entity('customers');
  });
  afterAll(async () => {
    await gw?.close();
  });
  type Read = (entities: readonly EntitySchema[], build: BuildStatement) => Promise<Record<string, unknown>[]>;
  const count = async (read: Read, entity: EntitySchema) =>
    Number((await read([entity], (view) => ({ sql: `SELECT count(*) AS n FROM ${view(entity)} AS o`, params: [] })))[0]!.n);
  const countIn = (handle: SnapshotHandle, entity: EntitySchema) => count((e, b) => handle.read(e, b), entity);
  const countNow = (entity: EntitySchema) => count((e, b) => engine.read(e, b), entity);

  it('sees neither a write nor the flush and compaction after its first statement', async () => {
    // given: 10 orders in the lake, 5 buffered, and a customer
    await gw.oltp.writer.insert(orders, Array.from({ length: 10 }, (_, i) => ({ quantity: i })));
    await gw.lakehouse.admin.flush(orders, true);
    const buffered = await gw.oltp.writer.insert(orders, Array.from({ length: 5 }, (_, i) => ({ quantity: 100 + i })));
    await gw.oltp.writer.insert(customers, [{ name: 'c' }]);
    const handle = engine.snapshot([orders, customers]);
    try {
      expect(await countIn(handle, orders)).toBe(15);
      const slot = handle.timeSlot;
      expect(slot).toBe(buffered[4]!.time_slot);
      // when: more orders and customers are written, both flushed, orders compacted
      await gw.oltp.writer.insert(orders, [{ quantity: 1 }]);
      await gw.oltp.writer.softDelete(orders, buffered[0]!.row_id);
      await gw.oltp.writer.insert(customers, [{ name: 'd' }]);
      expect((await gw.lakehouse.admin.flush(orders, true)).flushed).toBe(true);
      expect((await gw.lakehouse.admin.flush(customers, true)).flushed).toBe(true);
      expect((await gw.lakehouse.admin.compact(orders, true)).compacted).toBe(true);
      // then: the handle's statements still see its snapshot, also of customers read only now
      expect(await countIn(handle, orders)).toBe(15);
      expect(await countIn(handle, customers)).toBe(1);
      await expect(handle.read((view) => ({ sql: `SELECT (SELECT count(*) FROM ${view(orders)}) + (SELECT count(*) FROM ${view(customers)}) AS n`, params: [] }))).resolves.toEqual([{ n: 16n }]);
      // and: a statement of its own sees now
      expect(await countNow(orders)).toBe(15);
      expect(await countNow(customers)).toBe(2);
    } finally {
      handle.release();
    }
    expect(engine.held()).toEqual({ snapshots: 0, changedSetPins: 0, hotReaders: 0, cachePins: 0 });
  });

  it('a scoped engine answers an entity its snapshot does not cover from a snapshot of its own, and names it', async () => {
    const handle = engine.snapshot([orders]);
    const scoped = engine.scoped(() => handle);
    try {
      await count((e, b) => scoped.read(e, b), orders);
      await gw.oltp.writer.insert(customers, [{ name: 'e' }]);
      const seen = await count((e, b) => scoped.read(e, b), customers);
      expect(seen).toBe(await countNow(customers));
      expect(handle.uncovered).toEqual(['customers']);
    } finally {
      handle.release();
    }
  });

  it('refuses statements after its release', async () => {
    const handle = engine.snapshot([orders]);
    await countIn(handle, orders);
    handle.release();
    await expect(countIn(handle, orders)).rejects.toThrow('read after release');
    expect(engine.held().snapshots).toBe(0);
  });
});
