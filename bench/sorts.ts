// Sorting by related data and distinct_on on BENCH_ORDERS orders (default 100,000) and a tenth as
// many customers, mixed state (compacted base, delta files, 10,000 changes buffered): p50/p95 of
// each sort form through GraphQL, against the same question in raw DuckDB over one compacted
// Parquet file per entity, and against a plain own-column sort of the same page.
// Usage: npx tsx bench/sorts.ts   (BENCH_ORDERS=1000000 for the 1M numbers; BENCH_DATABASE_URL to use a running Postgres)
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import path from 'node:path';
import { compactSchema } from '../src/compaction/index.js';
import { demoCustomer, demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { sqlString } from '../src/lake/index.js';
import { ms, openBenchGateway, rawDuckDb, timedTogether as together } from './support.js';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 100_000);
const CUSTOMERS = Math.max(1_000, Math.round(ORDERS / 10));
const BUFFERED = 10_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const BATCH = 10_000;

const g = await openBenchGateway('bench_sorts');
const { catalog, oltp, lakehouse, gql, dataDir } = g;
const customers = catalog.entity('customers');
const orders = catalog.entity('orders');
const random = seededRandom(7);
const timedTogether = (alternatives: readonly (() => Promise<unknown>)[]) => together(alternatives, RUNS);

/** GraphQL question, and the same in raw DuckDB over the compacted files (o: orders, c: customers). */
const QUESTIONS: Record<string, [string, ((o: string, c: string) => string) | null]> = {
  'orders by total (own column, baseline)': [`{ orders(order_by: {total: desc}, limit: 50) { row_id total } }`, (o) => `SELECT row_id, total FROM read_parquet(${o}) ORDER BY total DESC NULLS FIRST, row_id LIMIT 50`],
  'orders by customer name': [
    `{ orders(order_by: [{customer: {name: asc}}], limit: 50) { row_id total } }`,
    (o, c) => `SELECT o.row_id, o.total FROM read_parquet(${o}) o LEFT JOIN read_parquet(${c}) c ON c.row_id = o.customer ORDER BY c.name NULLS LAST, o.row_id LIMIT 50`,
  ],
  'customers by order count': [
    `{ customers(order_by: [{orders_aggregate: {count: desc}}], limit: 50) { row_id name } }`,
    (o, c) =>
      `SELECT c.row_id, c.name FROM read_parquet(${c}) c LEFT JOIN (SELECT customer, count(*) AS n FROM read_parquet(${o}) GROUP BY customer) g ON g.customer = c.row_id ORDER BY coalesce(g.n, 0) DESC, c.row_id LIMIT 50`,
  ],
  'customers by sum of totals': [
    `{ customers(order_by: [{orders_aggregate: {sum: {total: desc_nulls_last}}}], limit: 50) { row_id name } }`,
    (o, c) =>
      `SELECT c.row_id, c.name FROM read_parquet(${c}) c LEFT JOIN (SELECT customer, sum(total) AS s FROM read_parquet(${o}) GROUP BY customer) g ON g.customer = c.row_id ORDER BY g.s DESC NULLS LAST, c.row_id LIMIT 50`,
  ],
  'PRO customers by order count': [
    `{ customers(where: {tier: {_eq: PRO}}, order_by: [{orders_aggregate: {count: desc}}], limit: 50) { row_id name } }`,
    (o, c) =>
      `SELECT c.row_id, c.name FROM read_parquet(${c}) c LEFT JOIN (SELECT customer, count(*) AS n FROM read_parquet(${o}) GROUP BY customer) g ON g.customer = c.row_id WHERE c.tier = 'PRO' ORDER BY coalesce(g.n, 0) DESC, c.row_id LIMIT 50`,
  ],
  'customers distinct_on country': [`{ customers(distinct_on: [country], order_by: [{country: asc}, {lifetime_value: desc}]) { row_id name } }`, null],
  '50 customers, each with its 3 orders by total (batched, baseline)': [`{ customers(order_by: {name: asc}, limit: 50) { row_id orders(order_by: [{total: desc}], limit: 3) { row_id } } }`, null],
  '50 customers, each with its 3 orders by customer tier then total (batched)': [
    `{ customers(order_by: {name: asc}, limit: 50) { row_id orders(order_by: [{customer: {tier: asc}}, {total: desc}], limit: 3) { row_id } } }`,
    null,
  ],
  '50 customers, each with distinct_on note (batched)': [`{ customers(order_by: {name: asc}, limit: 50) { row_id orders(distinct_on: note, order_by: [{note: asc}, {total: desc}]) { row_id } } }`, null],
};

try {
  console.log(`loading ${CUSTOMERS.toLocaleString('en')} customers and ${ORDERS.toLocaleString('en')} orders ...`);
  const customerIds: string[] = [];
  for (let done = 0; done < CUSTOMERS; done += BATCH) {
    const rows = await oltp.writer.insert(customers, Array.from({ length: Math.min(BATCH, CUSTOMERS - done) }, () => demoCustomer(random)));
    customerIds.push(...rows.map((r) => r.row_id));
  }
  await lakehouse.admin.flush(customers, true);
  const flushed = ORDERS - BUFFERED / 2;
  for (let done = 0; done < flushed; done += BATCH) {
    await oltp.writer.insert(orders, Array.from({ length: Math.min(BATCH, flushed - done) }, () => demoOrder(random, customerIds)));
    if ((done + BATCH) % 20_000 === 0) await lakehouse.admin.flush(orders, true);
  }
  await lakehouse.admin.flush(orders, true);
  for (const entity of [customers, orders]) await compactSchema(lakehouse.compactDeps, entity, { force: true, trigger: 'bench' });
  // Mixed state: a delta file of new orders and customer renames, then a buffer.
  await oltp.writer.insert(orders, Array.from({ length: BUFFERED / 2 }, () => demoOrder(random, customerIds)));
  await lakehouse.admin.flush(orders, true);
  for (let i = 0; i < BUFFERED / 10; i++) await oltp.writer.update(customers, customerIds[Math.floor(random() * customerIds.length)]!, { name: `Renamed ${i}` });
  await oltp.writer.insert(orders, Array.from({ length: BUFFERED / 2 }, () => demoOrder(random, customerIds)));

  const files = { orders: path.join(dataDir, 'orders.parquet'), customers: path.join(dataDir, 'customers.parquet') };
  for (const [name, file] of Object.entries(files)) await lakehouse.search.exportCurrent(catalog.entity(name), file);
  const rawSql = rawDuckDb(g);
  const raw = (sql: string) => () => rawSql(sql);
  {
    // Grouping only the filtered page's children (a semi-join on the filter) against grouping all.
    const [o, c] = [sqlString(files.orders), sqlString(files.customers)];
    const question = (restrict: string) =>
      `SELECT c.row_id FROM read_parquet(${c}) c LEFT JOIN (SELECT customer, count(*) AS n FROM read_parquet(${o}) WHERE customer IS NOT NULL${restrict} GROUP BY customer) g ON g.customer = c.row_id WHERE c.tier = 'PRO' ORDER BY coalesce(g.n, 0) DESC, c.row_id LIMIT 50`;
    const [all, semi] = await timedTogether([raw(question('')), raw(question(` AND customer IN (SELECT row_id FROM read_parquet(${c}) WHERE tier = 'PRO')`))]);
    console.log(`raw: PRO customers by order count, children grouped all ${ms(all!.p50)} vs restricted by a semi-join on the filter ${ms(semi!.p50)}`);
  }
  console.log('question: GraphQL p50/p95 | raw DuckDB over compacted files p50/p95 | GraphQL/raw');
  for (const [label, [query, rawSql]] of Object.entries(QUESTIONS)) {
    const runs = [() => gql(query), ...(rawSql ? [raw(rawSql(sqlString(files.orders), sqlString(files.customers)))] : [])];
    const [ours, plain] = await timedTogether(runs);
    console.log(`${label}: ${ms(ours!.p50)}/${ms(ours!.p95)}${plain ? ` | ${ms(plain.p50)}/${ms(plain.p95)} | ${(ours!.p50 / plain.p50).toFixed(2)}x` : ''}`);
  }
} finally {
  await g.close();
}
