import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../../src/catalog/index.js';
import { openOltpStore, type OltpStore } from '../../src/oltp/index.js';
import { DEMO_SCHEMA_DIR } from '../support/gateway.js';
import { createTestDatabase } from '../support/postgres.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let catalog: Catalog;
// Two stores with their own pools stand for two gateway processes on one database.
let first: OltpStore;
let second: OltpStore;

beforeAll(async () => {
  database = await createTestDatabase();
  catalog = await loadCatalog(DEMO_SCHEMA_DIR);
  const log = pino({ level: 'silent' });
  first = await openOltpStore({ databaseUrl: database.url, catalog, log, poolSize: 6 });
  second = await openOltpStore({ databaseUrl: database.url, catalog, log, poolSize: 6 });
});
afterAll(async () => {
  await first?.close();
  await second?.close();
  await database?.drop();
});

async function visibleSlots(store: OltpStore, schemaId: number): Promise<bigint[]> {
  const { rows } = await store.pool.query<{ time_slot: bigint }>(
    'SELECT time_slot FROM change_log WHERE schema_id = $1 ORDER BY time_slot',
    [schemaId],
  );
  return rows.map((r) => r.time_slot);
}

describe('time_slot clock', () => {
  it('is strictly monotonic per schema under concurrent writers in two processes: a later commit never gets a smaller slot', async () => {
    const orders = catalog.entity('orders');
    const seeded = await first.writer.insert(orders, Array.from({ length: 8 }, (_, i) => ({ quantity: i })));
    const rowIds = seeded.map((r) => r.row_id);

    // Readers keep taking snapshots while 12 writers insert and update the same rows.
    const snapshots: bigint[][] = [];
    let writing = true;
    const reader = (async () => {
      while (writing) snapshots.push(await visibleSlots(second, orders.id));
    })();
    const writers = Array.from({ length: 12 }, (_, w) =>
      (async () => {
        const store = w % 2 === 0 ? first : second;
        for (let i = 0; i < 25; i++) {
          if (i % 3 === 0) await store.writer.insert(orders, [{ quantity: w * 100 + i }, { quantity: -1 }]);
          else await store.writer.update(orders, rowIds[(w + i) % rowIds.length]!, { quantity: w * 100 + i });
        }
      })(),
    );
    await Promise.all(writers);
    writing = false;
    await reader;

    const final = await visibleSlots(first, orders.id);
    expect(final).toHaveLength(8 + 12 * (9 * 2 + 16));
    expect(new Set(final).size).toBe(final.length);
    expect(snapshots.length).toBeGreaterThan(3);
    // If a commit could take a slot below one already visible, some snapshot would have seen the
    // larger slot and missed the smaller one: a hole below its high-water mark.
    for (const snapshot of snapshots) {
      const seen = new Set(snapshot);
      const highWater = snapshot.at(-1) ?? -1n;
      const holes = final.filter((slot) => slot <= highWater && !seen.has(slot));
      expect(holes).toEqual([]);
    }
  });

  it('orders the changes of one row by slot in the order they were made', async () => {
    const orders = catalog.entity('orders');
    const [row] = await first.writer.insert(orders, [{ quantity: 0 }]);
    for (let i = 1; i <= 20; i++) await (i % 2 ? second : first).writer.update(orders, row!.row_id, { quantity: i });
    const { rows } = await first.pool.query<{ quantity: number }>(
      `SELECT (snapshot->>'quantity')::int AS quantity FROM change_log WHERE row_id = $1 ORDER BY time_slot`,
      [row!.row_id],
    );
    expect(rows.map((r) => r.quantity)).toEqual(Array.from({ length: 21 }, (_, i) => i));
  });
});
