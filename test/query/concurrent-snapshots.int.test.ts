// One consistent snapshot per query (DESIGN 4.5) under load: while updates, flushes from two
// "processes" and searches all run at once, every search sees each of the N rows exactly once.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLakehouse, type Lakehouse } from '../../src/cli/lakehouse.js';
import { seededRandom } from '../../src/cli/demo-data.js';
import { openOltpStore, type OltpStore } from '../../src/oltp/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const ROWS = 300;

describe('searches during concurrent updates and flushes', () => {
  let gw: TestGateway;
  let otherOltp: OltpStore;
  let other: Lakehouse;
  let ids: string[];
  beforeAll(async () => {
    gw = await startTestGateway();
    const log = pino({ level: 'silent' });
    otherOltp = await openOltpStore({ databaseUrl: gw.databaseUrl, catalog: gw.catalog, log });
    other = await openLakehouse(gw.lakeSettings, gw.catalog, otherOltp, log);
    const rows = await gw.oltp.writer.insert(
      gw.catalog.entity('orders'),
      Array.from({ length: ROWS }, (_, i) => ({ quantity: i, total: i })),
    );
    ids = rows.map((r) => r.row_id);
    await gw.lakehouse.admin.flush(gw.catalog.entity('orders'), true);
  });
  afterAll(async () => {
    await other?.close();
    await otherOltp?.close();
    await gw?.close();
  });

  it('never hides or doubles a row', { timeout: 120_000 }, async () => {
    const orders = gw.catalog.entity('orders');
    const random = seededRandom(99);
    let running = true;
    const updater = async () => {
      let n = 0;
      while (running && n++ < 400) {
        await gw.oltp.writer.update(orders, ids[Math.floor(random() * ids.length)]!, { total: Math.floor(random() * 1000) });
      }
    };
    const flusher = async (lakehouse: Lakehouse) => {
      while (running) {
        await lakehouse.admin.flush(orders, true);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const seen: number[] = [];
    const searcher = async () => {
      for (let i = 0; i < 40; i++) {
        const res = await gw.gql(`{ orders(limit: 1000) { row_id } orders_aggregate { aggregate { count } } }`);
        expect(res.errors).toBeUndefined();
        const rowIds: string[] = res.data.orders.map((r: { row_id: string }) => r.row_id);
        expect(new Set(rowIds).size).toBe(rowIds.length);
        expect(rowIds.length).toBe(ROWS);
        expect(res.data.orders_aggregate.aggregate.count).toBe(ROWS);
        seen.push(rowIds.length);
      }
    };
    const background = [flusher(gw.lakehouse), flusher(other)];
    await Promise.all([updater(), updater(), searcher(), searcher()]);
    running = false;
    await Promise.all(background);
    expect(seen).toHaveLength(80);
    // Flushes really happened while searching.
    const { rows } = await gw.oltp.pool.query(`SELECT count(*)::int AS n FROM lake_file WHERE removed_at IS NULL`);
    expect(rows[0].n).toBeGreaterThan(3);
  });
});
