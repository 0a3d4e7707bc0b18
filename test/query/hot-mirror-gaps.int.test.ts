// The hot mirror never hides a row a query's snapshot holds (DESIGN 4b), in the interleaving of
// issue 10 defect 5, driven step by step: query A lists, a flush commits, query B tops up the
// mirror in its newer snapshot (which no longer buffers the flushed rows), then A reads.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EntitySchema } from '../../src/catalog/index.js';
import type { DuckDb } from '../../src/lake/index.js';
import { takeSnapshot, type QuerySnapshot, type SnapshotHooks } from '../../src/query/snapshot.js';
import { currentRowsSql } from '../../src/query/view.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { openSnapshotParts, type SnapshotParts } from '../support/snapshot-parts.js';

describe('hot mirror: a snapshot older than a flush and a newer top-up', () => {
  let gw: TestGateway;
  let duck: DuckDb;
  let deps: SnapshotParts['deps'];
  let customers: EntitySchema;
  let orders: EntitySchema;

  beforeEach(async () => {
    gw = await startTestGateway();
    ({ duck, deps } = await openSnapshotParts(gw, 'hot-gaps-'));
    customers = gw.catalog.entity('customers');
    orders = gw.catalog.entity('orders');
  });
  afterEach(async () => {
    duck?.close();
    await gw?.close();
  });

  /** A snapshot; on `copies: 'in a transaction'` its listing carries no changes, so every top-up takes the transaction path. */
  const snapshotOf = (entities: EntitySchema[], hooks?: SnapshotHooks, copies: 'as listed' | 'in a transaction' = 'as listed') =>
    takeSnapshot({ ...deps, hooks, ...(copies === 'in a transaction' ? { listedChanges: { rows: 0, bytes: 0 } } : {}) }, entities);
  const countIn = async (snapshot: QuerySnapshot, entity: EntitySchema) =>
    duck.use(async (c) => {
      const reader = await c.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ${currentRowsSql(snapshot.tiers(entity))} AS current`);
      return reader.getRowObjectsJS()[0]!.n as number;
    });
  const mirrorTables = async () =>
    duck.use(async (c) => {
      const reader = await c.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND table_name LIKE 'hot%' ORDER BY table_name`);
      return reader.getRowObjectsJS().map((r) => r.table_name as string);
    });
  const insertCustomers = (n: number) => gw.oltp.writer.insert(customers, Array.from({ length: n }, () => ({ name: 'c' })));
  /** Refreshes the customer mirror up to everything committed now, as any query would. */
  const readCustomers = async () => {
    const snapshot = await snapshotOf([customers]);
    try {
      return await countIn(snapshot, customers);
    } finally {
      snapshot.release();
    }
  };
  /** Between A's listing and its refresh: a flush of customers, one more customer, and query B. */
  const flushThenNewerQuery = (onPath: 'statement' | 'transaction') => {
    const seen = { bCount: -1 };
    let done = false;
    const hooks: SnapshotHooks = {
      async afterListing(path) {
        if (path !== onPath || done) return;
        done = true;
        const flushed = await gw.lakehouse.admin.flush(customers, true);
        expect(flushed.flushed).toBe(true);
        await insertCustomers(1);
        seen.bCount = await readCustomers();
      },
    };
    return { hooks, seen };
  };

  it('a query whose snapshot copies after a newer query topped up the mirror still sees every buffered row of its snapshot', async () => {
    // given: the mirror holds 3 customers, 3 more are buffered, and an order too
    await insertCustomers(3);
    expect(await readCustomers()).toBe(3);
    await insertCustomers(3);
    await gw.oltp.writer.insert(orders, [{ quantity: 1 }]);

    // when: query A (orders, then customers) lists in its transaction; the customers are flushed
    // and query B reads them in its newer snapshot before A refreshes its mirrors
    const { hooks, seen } = flushThenNewerQuery('transaction');
    const a = await snapshotOf([orders, customers], hooks, 'in a transaction');
    try {
      // then: B saw 7; A, whose snapshot lists no file and buffers 6 customers, sees those 6
      expect(seen.bCount).toBe(7);
      expect(a.tiers(customers).files).toHaveLength(0);
      expect(await countIn(a, customers)).toBe(6);
      // (from a copy of its own range: the shared mirror lacks the flushed three)
      expect(a.tiers(customers).hot?.table).not.toBe('"hot_demo_1"');
      expect(await countIn(a, orders)).toBe(1);
    } finally {
      a.release();
    }
    // and the shared mirror still serves a later query in full, and A's own copy is gone
    expect(await readCustomers()).toBe(7);
    await expect.poll(() => mirrorTables(), { timeout: 2_000 }).toEqual(['hot_demo_1', 'hot_demo_1_replaced', 'hot_demo_2', 'hot_demo_2_replaced']);
  });

  it('a query on the one-statement path does not trust a mirror topped up past a flush its listing did not see', async () => {
    // given: the mirror holds 3 customers and 3 more are buffered
    await insertCustomers(3);
    expect(await readCustomers()).toBe(3);
    await insertCustomers(3);

    // when: query A lists in one statement (6 buffered, none flushed); the customers are flushed
    // and query B tops the mirror up past A's buffer before A checks whether the mirror holds it
    const { hooks, seen } = flushThenNewerQuery('statement');
    const a = await snapshotOf([customers], hooks);
    try {
      // then: A sees all 6 acknowledged customers, and with its snapshot retaken the 7th too
      expect(seen.bCount).toBe(7);
      expect(await countIn(a, customers)).toBe(7);
    } finally {
      a.release();
    }
  });

  it('a listing carries the few changes the mirror lacks, and a copy of them needs no transaction; past its limit one is taken', async () => {
    // given: the shared mirror holds 3 customers, and 3 more are buffered
    await insertCustomers(3);
    const first = await snapshotOf([customers]);
    const shared = first.tiers(customers).hot?.table;
    first.release();
    await insertCustomers(3);
    const paths: string[] = [];
    const hooks: SnapshotHooks = { afterListing: async (path) => void paths.push(path) };

    // when: a query lists them with a limit of 3 changes
    const a = await takeSnapshot({ ...deps, hooks, listedChanges: { rows: 3, bytes: 1 << 20 } }, [customers]);
    try {
      // then: its one statement was its snapshot, and the shared mirror holds all 6
      expect(paths).toEqual(['statement']);
      expect(a.tiers(customers).hot?.table).toBe(shared);
      expect(await countIn(a, customers)).toBe(6);
    } finally {
      a.release();
    }

    // when: 3 more are buffered and a query's limit is 2 changes
    await insertCustomers(3);
    paths.length = 0;
    const b = await takeSnapshot({ ...deps, hooks, listedChanges: { rows: 2, bytes: 1 << 20 } }, [customers]);
    try {
      // then: its listing carried none, and it copied them in a transaction
      expect(paths).toEqual(['statement', 'transaction']);
      expect(await countIn(b, customers)).toBe(9);
    } finally {
      b.release();
    }
  });

  it('a query whose buffered range lies above the flush reads the shared mirror', async () => {
    // given: the mirror lacks the customers flushed while it was behind (the case above)
    await insertCustomers(3);
    const first = await snapshotOf([customers]);
    const shared = first.tiers(customers).hot?.table;
    first.release();
    expect(shared).toBeDefined();
    await insertCustomers(3);
    const { hooks } = flushThenNewerQuery('transaction');
    const a = await snapshotOf([customers], hooks, 'in a transaction');
    a.release();

    // when: a new query reads, its snapshot listing the flushed file
    await insertCustomers(2);
    const b = await snapshotOf([customers]);
    try {
      // then: it reads the lake file and the shared mirror, and sees all 9
      expect(b.tiers(customers).files).toHaveLength(1);
      expect(b.tiers(customers).hot?.table).toBe(shared);
      expect(await countIn(b, customers)).toBe(9);
    } finally {
      b.release();
    }
  });
  it('a newer query does not prune buffered rows that a query still taking its snapshot will read', async () => {
    // given: the mirror holds all 6 buffered customers
    await insertCustomers(6);
    expect(await readCustomers()).toBe(6);

    // when: query A lists in one statement (6 buffered, none flushed); the 6 are flushed and
    // query B, whose snapshot lists them in a file, tops up and would prune them
    const { hooks, seen } = flushThenNewerQuery('statement');
    const a = await snapshotOf([customers], hooks);
    try {
      // then: A, which the mirror already served, still reads its 6 from it
      expect(seen.bCount).toBe(7);
      expect(a.tiers(customers).files).toHaveLength(0);
      expect(await countIn(a, customers)).toBe(6);
    } finally {
      a.release();
    }
  });

  it('a newer query does not prune buffered rows that a query in flight reads', async () => {
    // given: query A holds a snapshot of 6 buffered customers
    await insertCustomers(6);
    const a = await snapshotOf([customers]);
    try {
      // when: they are flushed and query B, one more customer later, reads
      await gw.lakehouse.admin.flush(customers, true);
      await insertCustomers(1);
      expect(await readCustomers()).toBe(7);

      // then: A still reads all 6 from the mirror
      expect(await countIn(a, customers)).toBe(6);
    } finally {
      a.release();
    }
    // and: once A is done, the next query prunes them, and it and later ones still see all 7
    expect(await readCustomers()).toBe(7);
    const rows = await duck.use(async (c) => (await c.runAndReadAll('SELECT count(*)::INTEGER AS n FROM hot_demo_1')).getRowObjectsJS()[0]!.n);
    expect(rows).toBe(1);
    expect(await readCustomers()).toBe(7);
  });
});
