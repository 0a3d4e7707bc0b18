// Loads the demo data set through the write path, with a progress bar.
import cliProgress from 'cli-progress';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/index.js';
import type { OltpStore } from '../oltp/index.js';
import { demoCustomer, demoEntities, demoOrder, seededRandom } from './demo-data.js';

const BATCH = 1_000;

export async function seedDemo(
  oltp: OltpStore,
  catalog: Catalog,
  log: Logger,
  counts: { customers: number; orders: number; seed?: number },
): Promise<void> {
  const demo = demoEntities(catalog);
  if (!demo) {
    log.warn('the catalog has no demo customers/orders entities (schema/demo.json); skipping the demo data');
    return;
  }
  const random = seededRandom(counts.seed ?? 42);
  const bar = new cliProgress.SingleBar(
    { format: 'demo data |{bar}| {value}/{total} rows', hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  bar.start(counts.customers + counts.orders, 0);
  const customerIds: string[] = [];
  try {
    for (let done = 0; done < counts.customers; done += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, counts.customers - done) }, () => demoCustomer(random));
      const rows = await oltp.writer.insert(demo.customers, batch);
      customerIds.push(...rows.map((r) => r.row_id));
      bar.increment(batch.length);
    }
    for (let done = 0; done < counts.orders; done += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, counts.orders - done) }, () => demoOrder(random, customerIds));
      await oltp.writer.insert(demo.orders, batch);
      bar.increment(batch.length);
    }
  } finally {
    bar.stop();
  }
  log.info({ customers: counts.customers, orders: counts.orders }, 'loaded the demo data set');
}

export async function isEmpty(oltp: OltpStore): Promise<boolean> {
  const { rows } = await oltp.pool.query<{ empty: boolean }>('SELECT NOT EXISTS (SELECT 1 FROM eav_entity) AS empty');
  return rows[0]!.empty;
}
