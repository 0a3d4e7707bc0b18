// The buffer's transfer into DuckDB, measured where users feel it: freshness (a mutation's response
// to its row in a search) with ~20,000 orders buffered, the first search of a process (the mirror
// loads the whole buffer), and flush throughput of 200,000 buffered orders (a process's first flush
// and its second). Uses only APIs that
// existed before the binary transfer, so the same file runs on an older checkout for a comparison.
// Usage: npm run bench:transfer  (BENCH_DATABASE_URL or DATABASE_URL to use a running Postgres)
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openLakehouse, type Lakehouse } from '../src/cli/lakehouse.js';
import { demoCustomer, demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { loadCatalog } from '../src/catalog/index.js';
import { buildSchema, createGatewayYoga } from '../src/graphql/index.js';
import { flushSchema } from '../src/ingest/index.js';
import { openOltpStore } from '../src/oltp/index.js';
import { BENCH_ADMIN_TOKEN, benchDatabase, graphqlCaller, percentile } from './support.js';

const BUFFERED = Number(process.env.BENCH_BUFFERED ?? 20_000);
const PROBES = Number(process.env.BENCH_PROBES ?? 200);
const FLUSH_ROWS = Number(process.env.BENCH_FLUSH_ROWS ?? 200_000);
const BATCH = 10_000;

const log = pino({ level: 'warn' });
const database = await benchDatabase('bench_transfer');
const catalog = await loadCatalog('schema');
const oltp = await openOltpStore({ databaseUrl: database.url, catalog, log });
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-bench-transfer-'));
const orders = catalog.entity('orders');
const random = seededRandom(7);
const settings = {
  lakeUrl: `file://${path.join(dataDir, 'lake')}`,
  s3: { region: 'us-east-1', forcePathStyle: true },
  dataDir,
  flush: { maxRows: 1_000_000, maxAgeMs: 3_600_000, checkIntervalMs: 1_000 },
  orphanGraceMs: 600_000,
};
const ms = (v: number) => `${v.toFixed(1)} ms`;

async function insertOrders(customerIds: string[], rows: number): Promise<void> {
  for (let done = 0; done < rows; done += BATCH) {
    await oltp.writer.insert(orders, Array.from({ length: Math.min(BATCH, rows - done) }, () => demoOrder(random, customerIds)));
  }
}

function caller(lakehouse: Lakehouse) {
  const yoga = createGatewayYoga({
    schema: buildSchema(catalog),
    auth: { adminToken: BENCH_ADMIN_TOKEN },
    services: { catalog, oltp, admin: lakehouse.admin, search: lakehouse.search, log, limits: { defaultLimit: 100, maxLimit: 10_000, maxInsertObjects: 50_000 } },
  });
  return graphqlCaller((url, init) => yoga.fetch(url, init), 'http://bench/graphql');
}

const results: Record<string, number> = {};
try {
  const customers = await oltp.writer.insert(catalog.entity('customers'), Array.from({ length: 1_000 }, () => demoCustomer(random)));
  const customerIds = customers.map((c) => c.row_id);
  await insertOrders(customerIds, BUFFERED);

  // A fresh process: its first search loads the whole buffer into the mirror.
  let lakehouse = await openLakehouse(settings, catalog, oltp, log);
  let gql = caller(lakehouse);
  const coldStart = performance.now();
  const count = await gql(`{ orders_aggregate { aggregate { count } } }`);
  results.first_search_ms = performance.now() - coldStart;
  if (count.orders_aggregate.aggregate.count !== BUFFERED) throw new Error(`expected ${BUFFERED} orders, saw ${JSON.stringify(count)}`);

  // Freshness: each mutation is followed by searches until its row shows (the mirror tops up).
  const lags: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const inserted = await gql(`mutation { insert_orders_one(object: {total: 123.45, paid: true}) { row_id } }`);
    const started = performance.now();
    for (;;) {
      const found = await gql(`query($id: UUID!) { orders(where: {row_id: {_eq: $id}}) { row_id } }`, { id: inserted.insert_orders_one.row_id });
      if (found.orders.length === 1) break;
    }
    lags.push(performance.now() - started);
  }
  lags.sort((a, b) => a - b);
  results.freshness_p50_ms = percentile(lags, 50);
  results.freshness_p99_ms = percentile(lags, 99);
  await lakehouse.close();

  // Flush: the buffer grown to FLUSH_ROWS, flushed by a fresh process (cold: the first flush
  // after a start), then FLUSH_ROWS more flushed by the same process (warm: a worker's steady state).
  await insertOrders(customerIds, FLUSH_ROWS - BUFFERED - PROBES);
  lakehouse = await openLakehouse(settings, catalog, oltp, log);
  const flushes: { rows: number; durationMs: number; phasesMs: { export: number; parquet: number } }[] = [];
  for (const round of ['cold', 'warm']) {
    if (round === 'warm') await insertOrders(customerIds, FLUSH_ROWS);
    const outcome = await flushSchema(lakehouse.flushDeps, orders, { force: true, trigger: 'bench' });
    if (outcome.status !== 'flushed') throw new Error(`flush did not run: ${JSON.stringify(outcome)}`);
    flushes.push(outcome);
    results[`flush_${round}_rows_per_s`] = outcome.rows / (outcome.durationMs / 1000);
    results[`flush_${round}_ms`] = outcome.durationMs;
    results[`flush_${round}_export_ms`] = outcome.phasesMs.export;
    results[`flush_${round}_parquet_ms`] = outcome.phasesMs.parquet;
  }
  await lakehouse.close();
  const outcome = flushes[0]!;

  console.log(
    `first search (mirror loads ${BUFFERED.toLocaleString('en')} rows): ${ms(results.first_search_ms)}; ` +
      `freshness with ${BUFFERED.toLocaleString('en')}+ buffered, ${PROBES} probes: p50 ${ms(results.freshness_p50_ms)}, p99 ${ms(results.freshness_p99_ms)}; ` +
      `flush of ${outcome.rows.toLocaleString('en')} orders: ${Math.round(results.flush_cold_rows_per_s!).toLocaleString('en')} rows/s in a fresh process, ` +
      `${Math.round(results.flush_warm_rows_per_s!).toLocaleString('en')} rows/s in the same process again`,
  );
  console.log(JSON.stringify(results));
} finally {
  await oltp.close();
  await fs.rm(dataDir, { recursive: true, force: true });
  await database.drop();
}
