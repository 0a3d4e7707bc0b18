// Writers keep writing while flushes run in two "processes": every committed change ends up in
// exactly one place. And the worker flushes on its own when a trigger fires.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLakehouse, type Lakehouse } from '../../src/cli/lakehouse.js';
import { demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import { liveFiles } from '../../src/lake/index.js';
import { openOltpStore, type OltpStore } from '../../src/oltp/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { changeLedger } from '../support/lake.js';

const log = pino({ level: 'silent' });

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('flushes under concurrent writes', () => {
  let gw: TestGateway;
  // A second gateway process on the same database and lake: its own pool and lakehouse.
  let otherOltp: OltpStore;
  let other: Lakehouse;
  beforeAll(async () => {
    gw = await startTestGateway();
    otherOltp = await openOltpStore({ databaseUrl: gw.databaseUrl, catalog: gw.catalog, log });
    other = await openLakehouse(gw.lakeSettings, gw.catalog, otherOltp, log);
  });
  afterAll(async () => {
    await other?.close();
    await otherOltp?.close();
    await gw?.close();
  });

  it('every committed change is in exactly one place, buffer or live file', async () => {
    const orders = gw.catalog.entity('orders');
    const committed: string[] = [];
    let writing = true;
    const writer = async (seed: number) => {
      const random = seededRandom(seed);
      const mine: string[] = [];
      for (let round = 0; round < 15; round++) {
        const rows = await gw.oltp.writer.insert(orders, Array.from({ length: 20 }, () => demoOrder(random, [])));
        for (const row of rows) committed.push(`${row.row_id}@${row.time_slot}`);
        mine.push(...rows.map((r) => r.row_id));
        const target = mine[Math.floor(random() * mine.length)]!;
        const updated = await gw.oltp.writer.update(orders, target, { quantity: round });
        if (updated) committed.push(`${updated.row_id}@${updated.time_slot}`);
        if (round % 5 === 4) {
          const deleted = await gw.oltp.writer.softDelete(orders, mine.shift()!);
          if (deleted) committed.push(`${deleted.row_id}@${deleted.time_slot}`);
        }
      }
    };
    const outcomes: string[] = [];
    const flusher = async (lakehouse: Lakehouse) => {
      while (writing) {
        const report = await lakehouse.admin.flush(orders, true);
        outcomes.push(report.flushed ? 'flushed' : report.reason);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const flushers = [flusher(gw.lakehouse), flusher(other)];
    await Promise.all([1, 2, 3, 4].map(writer));
    writing = false;
    await Promise.all(flushers);

    const ledger = await changeLedger(gw, orders);
    expect(ledger.duplicates).toEqual([]);
    expect(ledger.all).toEqual([...new Set(committed)].sort());
    expect(committed).toHaveLength(4 * (15 * 21 + 3));
    // Flushes really interleaved with the writes, from both processes' lakehouses.
    expect(outcomes.filter((o) => o === 'flushed').length).toBeGreaterThan(2);
    expect((await liveFiles(gw.oltp.pool, orders)).length).toBe(outcomes.filter((o) => o === 'flushed').length);
  });
});

describe('smart flush triggers in the background worker', () => {
  it('flushes a schema whose buffer passes FLUSH_MAX_ROWS, and leaves one below it alone', async () => {
    const gw = await startTestGateway({ workers: true, lake: { flush: { maxRows: 100, maxAgeMs: 3_600_000, checkIntervalMs: 50 } } });
    try {
      const random = seededRandom(3);
      await gw.oltp.writer.insert(gw.catalog.entity('customers'), [{ name: 'Only one' }]);
      const orders = gw.catalog.entity('orders');
      for (let i = 0; i < 6; i++) await gw.oltp.writer.insert(orders, Array.from({ length: 30 }, () => demoOrder(random, [])));
      await waitUntil(async () => (await changeLedger(gw, orders)).buffer.length <= 100, 'the worker to flush orders');
      const ledger = await changeLedger(gw, orders);
      expect(ledger.all).toHaveLength(180);
      expect(ledger.duplicates).toEqual([]);
      expect((await liveFiles(gw.oltp.pool, orders)).length).toBeGreaterThan(0);
      expect(await liveFiles(gw.oltp.pool, gw.catalog.entity('customers'))).toEqual([]);
      // The job's row is finished after the flush commits: with other tests running beside this
      // one, the buffer can be seen flushed before the job is marked done.
      const doneFlushes = async () => (await gw.oltp.pool.query(`SELECT DISTINCT trigger FROM lake_job WHERE kind = 'flush' AND status = 'done'`)).rows;
      await waitUntil(async () => (await doneFlushes()).length > 0, 'the flush job to be marked done');
      expect(await doneFlushes()).toEqual([{ trigger: 'worker' }]);
    } finally {
      await gw.close();
    }
  });

  it('flushes a schema whose oldest buffered change is older than FLUSH_MAX_AGE_MS', async () => {
    const gw = await startTestGateway({ workers: true, lake: { flush: { maxRows: 20_000, maxAgeMs: 400, checkIntervalMs: 50 } } });
    try {
      const customers = gw.catalog.entity('customers');
      const [row] = await gw.oltp.writer.insert(customers, [{ name: 'Aging' }]);
      await waitUntil(async () => (await liveFiles(gw.oltp.pool, customers)).length === 1, 'the age trigger');
      const ledger = await changeLedger(gw, customers);
      expect(ledger.lake).toEqual([`${row!.row_id}@${row!.time_slot}`]);
      expect(ledger.buffer).toEqual([]);
    } finally {
      await gw.close();
    }
  });
});
