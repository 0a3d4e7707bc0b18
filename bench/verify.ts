// `npm run bench:verify`: time of verify and rebuild on BENCH_ORDERS orders (default 1M) loaded
// through the write path, flushed as 20,000-row delta files, then compacted, with 30,000 changes
// buffered (the last 10,000 loaded, 10,000 new orders, 10,000 updates).
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import { demoCustomer, demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { openBenchGateway } from './support.js';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000_000);
const BATCH = 10_000;
const g = await openBenchGateway('verify', { queryTimeoutMs: 600_000 });
const { catalog, oltp, lakehouse } = g;
const random = seededRandom(42);
const customers = catalog.entity('customers');
const orders = catalog.entity('orders');
const timed = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  const result = await run();
  console.log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
};
try {
  const customerIds = (await oltp.writer.insert(customers, Array.from({ length: 2_000 }, () => demoCustomer(random)))).map((r) => r.row_id);
  const ids: string[] = [];
  await timed(`load ${ORDERS.toLocaleString('en')} orders`, async () => {
    for (let done = 0; done < ORDERS - BATCH; done += BATCH) {
      ids.push(...(await oltp.writer.insert(orders, Array.from({ length: BATCH }, () => demoOrder(random, customerIds)))).map((r) => r.row_id));
      if (ids.length % 20_000 === 0) await lakehouse.admin.flush(orders, true);
    }
  });
  await timed('compact', () => lakehouse.admin.compact(orders, true));
  await oltp.writer.insert(orders, Array.from({ length: BATCH }, () => demoOrder(random, customerIds)));
  for (let i = 0; i < BATCH; i++) await oltp.writer.update(orders, ids[Math.floor(random() * ids.length)]!, { quantity: i });
  const report = await timed('verify', () => lakehouse.admin.verify(orders));
  console.log(JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  const rebuilt = await timed('rebuild', () => lakehouse.admin.rebuild(orders));
  console.log(JSON.stringify({ rows: rebuilt.rows, added: rebuilt.added.length, buffered_absorbed: rebuilt.buffered_absorbed, duration_ms: rebuilt.duration_ms }));
  const after = await timed('verify after rebuild', () => lakehouse.admin.verify(orders));
  console.log(JSON.stringify({ ok: after.ok, truth_rows: after.truth_rows, lake_rows: after.lake_rows, duration_ms: after.duration_ms }));
} finally {
  await g.close();
}
