// Aggregates a dashboard asks for, through GraphQL, on a mixed state (compacted base, delta files,
// buffered changes): a page of 50 customers with nested orders_aggregate, the top 10 customer tiers
// and countries by revenue (group by a referenced row's field) against raw DuckDB over one
// compacted file per entity, and month buckets in UTC (the fast path) against a time zone.
// Usage: npx tsx bench/aggregates.ts   (BENCH_ORDERS=1000000 for the size; default 200,000)
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import path from 'node:path';
import { demoCustomer, demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { sqlString } from '../src/lake/index.js';
import { openBenchGateway, rawDuckDb, timedTogether as together, type Timing } from './support.js';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 200_000);
const CUSTOMERS = Math.max(1_000, Math.round(ORDERS / 10));
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const BATCH = 10_000;

const g = await openBenchGateway('bench_aggregates');
const { catalog, oltp, lakehouse, gql, dataDir } = g;
const customers = catalog.entity('customers');
const orders = catalog.entity('orders');
const random = seededRandom(7);
const rawSql = rawDuckDb(g);
const raw = (sql: string) => () => rawSql(sql);
const timedTogether = (alternatives: readonly (() => Promise<unknown>)[]) => together(alternatives, RUNS);
const ms = (v: Timing) => `${v.p50.toFixed(1)}/${v.p95.toFixed(1)} ms`;

try {
  console.log(`loading ${CUSTOMERS.toLocaleString('en')} customers and ${ORDERS.toLocaleString('en')} orders ...`);
  const customerIds: string[] = [];
  for (let done = 0; done < CUSTOMERS; done += BATCH) {
    customerIds.push(...(await oltp.writer.insert(customers, Array.from({ length: Math.min(BATCH, CUSTOMERS - done) }, () => demoCustomer(random)))).map((r) => r.row_id));
  }
  await lakehouse.admin.flush(customers, true);
  for (let done = 0; done < ORDERS; done += BATCH) {
    await oltp.writer.insert(orders, Array.from({ length: Math.min(BATCH, ORDERS - done) }, () => demoOrder(random, customerIds)));
    if ((done + BATCH) % 50_000 === 0) await lakehouse.admin.flush(orders, true);
  }
  await lakehouse.admin.flush(orders, true);
  await lakehouse.admin.compact(orders, true);
  // Mixed: a delta file of new orders, and buffered changes of customers (tiers) and orders.
  await oltp.writer.insert(orders, Array.from({ length: 10_000 }, () => demoOrder(random, customerIds)));
  await lakehouse.admin.flush(orders, true);
  await oltp.writer.insert(orders, Array.from({ length: 5_000 }, () => demoOrder(random, customerIds)));
  for (let i = 0; i < 500; i++) await oltp.writer.update(customers, customerIds[Math.floor(random() * customerIds.length)]!, { tier: 'PRO' });

  const files = { customers: path.join(dataDir, 'raw-customers.parquet'), orders: path.join(dataDir, 'raw-orders.parquet') };
  await lakehouse.search.exportCurrent(customers, files.customers);
  await lakehouse.search.exportCurrent(orders, files.orders);

  const [page] = await timedTogether([
    () => gql(`{ customers(order_by: [{name: asc}], limit: 50) { name orders_aggregate { aggregate { count sum { total } } } } }`),
  ]);
  console.log(`page of 50 customers with nested orders_aggregate { count sum }: p50/p95 ${ms(page!)}`);

  for (const field of ['tier', 'country']) {
    const [ours, rawRun] = await timedTogether([
      () => gql(`{ orders_aggregate(group_by: [customer__${field}]) { groups(order_by: [{sum: {total: desc}}], limit: 10) { key { customer__${field} } aggregate { sum { total } } } } }`),
      raw(
        `SELECT c.${field}, sum(o.total) AS revenue FROM read_parquet(${sqlString(files.orders)}) AS o LEFT JOIN read_parquet(${sqlString(files.customers)}) AS c ON c.row_id = o.customer ` +
          `GROUP BY 1 ORDER BY revenue DESC NULLS FIRST, 1 ASC NULLS LAST LIMIT 10`,
      ),
    ]);
    console.log(`top 10 customer ${field} by revenue: GraphQL ${ms(ours!)} | raw DuckDB compacted ${ms(rawRun!)} | ${(ours!.p50 / rawRun!.p50).toFixed(2)}x`);
  }

  const [utc, berlin] = await timedTogether([
    () => gql(`{ orders_aggregate(group_by: [placed_at_month]) { groups { key { placed_at_month } aggregate { count sum { total } } } } }`),
    () => gql(`{ orders_aggregate(group_by: [placed_at_month], time_zone: "Europe/Berlin") { groups { key { placed_at_month } aggregate { count sum { total } } } } }`),
  ]);
  console.log(`month buckets: UTC ${ms(utc!)} | Europe/Berlin ${ms(berlin!)}`);
} finally {
  await g.close();
}
