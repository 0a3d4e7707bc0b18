// A flush that keeps failing for one entity backs off, shows in lake_status, and never stops the
// worker from flushing the other entities; once the cause is gone it catches up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import type { FlushFaults } from '../../src/ingest/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { changeLedger } from '../support/lake.js';

const random = seededRandom(23);

describe('the flush worker with one entity failing', () => {
  let gw: TestGateway;
  const faults: FlushFaults = {};
  beforeAll(async () => {
    gw = await startTestGateway({
      workers: true,
      lake: { faults, flush: { maxRows: 10, maxAgeMs: 3_600_000, checkIntervalMs: 100 }, backoff: { baseMs: 400, maxMs: 1_600, jitter: 0 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const status = async (entity: string) => {
    const result = await gw.gql('{ lake_status { entity buffered_rows consecutive_failures last_error retry_at } }', undefined, { admin: true });
    return result.data.lake_status.find((s: { entity: string }) => s.entity === entity) as {
      buffered_rows: number;
      consecutive_failures: number;
      last_error: string | null;
      retry_at: string | null;
    };
  };
  const flushAttempts = async (schemaId: number) =>
    Number((await gw.oltp.pool.query(`SELECT count(*) FROM lake_job WHERE kind = 'flush' AND schema_id = $1`, [schemaId])).rows[0].count);

  it('backs the failing entity off, flushes the others as usual, and catches up once it works', async () => {
    const customers = gw.catalog.entity('customers');
    const orders = gw.catalog.entity('orders');
    faults.afterUpload = async (key) => {
      if (key.startsWith(`demo/${customers.id}/`)) throw new Error('injected: the customers upload is refused');
    };
    const writtenCustomers = (await gw.oltp.writer.insert(customers, Array.from({ length: 20 }, (_, i) => ({ name: `c${i}` })))).map(
      (r) => `${r.row_id}@${r.time_slot}`,
    );
    const writtenOrders = (await gw.oltp.writer.insert(orders, Array.from({ length: 20 }, () => demoOrder(random, [])))).map(
      (r) => `${r.row_id}@${r.time_slot}`,
    );

    await expect.poll(async () => (await status('orders')).buffered_rows, { timeout: 10_000 }).toBe(0);
    // Read while it waits out a backoff: between the end of one wait and the next failure (a
    // retry running, or a slow status read on a busy machine) retry_at is rightly null.
    await expect
      .poll(async () => {
        const s = await status('customers');
        return s.consecutive_failures >= 2 && s.retry_at !== null;
      }, { timeout: 10_000 })
      .toBe(true);
    const failing = await status('customers');
    expect(failing.last_error).toBe('flush: injected: the customers upload is refused');
    expect(failing.buffered_rows).toBe(20);
    expect(await status('orders')).toMatchObject({ consecutive_failures: 0, last_error: null });

    // Backoff, not a retry every check (100 ms): waits of 400, 800, 1600, 1600 ms allow at most ~5 attempts in 3 s.
    const before = await flushAttempts(customers.id);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await flushAttempts(customers.id)) - before).toBeLessThanOrEqual(5);

    // Orders written while customers fail are flushed as usual.
    writtenOrders.push(...(await gw.oltp.writer.insert(orders, Array.from({ length: 15 }, () => demoOrder(random, [])))).map((r) => `${r.row_id}@${r.time_slot}`));
    await expect.poll(async () => (await status('orders')).buffered_rows, { timeout: 10_000 }).toBe(0);

    delete faults.afterUpload;
    await expect.poll(async () => (await status('customers')).buffered_rows, { timeout: 10_000 }).toBe(0);
    // The worker clears its failures once the flush returns, a moment after the buffer is seen empty.
    await expect.poll(() => status('customers'), { timeout: 10_000 }).toMatchObject({ consecutive_failures: 0, retry_at: null });
    for (const [entity, written] of [[customers, writtenCustomers], [orders, writtenOrders]] as const) {
      const ledger = await changeLedger(gw, entity);
      expect(ledger.duplicates).toEqual([]);
      expect(ledger.all).toEqual([...written].sort());
    }
  });
});
