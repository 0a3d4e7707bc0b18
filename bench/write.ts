// Write throughput through GraphQL over HTTP: bulk insert_orders and single-row insert_orders_one,
// then update_orders of 1,000 rows by row_id and single-row update_orders_by_pk.
// Usage: npm run bench:write  (BENCH_DATABASE_URL or DATABASE_URL to use a running Postgres)
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import pino from 'pino';
import { serve } from '../src/cli/serve.js';
import { demoCustomer, demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { loadConfig } from '../src/config/index.js';
import { BENCH_ADMIN_TOKEN, benchDatabase, graphqlCaller, graphqlPoster, median, percentile } from './support.js';

const BATCH_SIZES = [1_000, 10_000];
const BULK_ROUNDS = 5;
/** Clients that send batches of 10,000 at once: one's Postgres work overlaps the other's parsing. */
const CONCURRENT_BULK_CLIENTS = 2;
const CONCURRENT_BULK_ROUNDS = 3;
const CLIENTS = 8;
const SINGLE_PER_CLIENT = 250;
const UPDATE_BATCH = 1_000;
const UPDATE_ROUNDS = 5;

function toVariables(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(object).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v]),
  );
}

const database = await benchDatabase('bench_write');
const config = { ...loadConfig({ DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'warn', WORKERS: 'false', DATA_DIR: '.data/bench', ADMIN_TOKEN: BENCH_ADMIN_TOKEN }), host: '127.0.0.1' };
const gateway = await serve(config, pino({ level: 'warn' }));
const random = seededRandom(7);

const gql = graphqlCaller(fetch, gateway.url);

try {
  const customers = await gql(
    `mutation($o: [customers_insert_input!]!) { insert_customers(objects: $o) { returning { row_id } } }`,
    { o: Array.from({ length: 1_000 }, () => toVariables(demoCustomer(random))) },
  );
  const customerIds: string[] = customers.insert_customers.returning.map((r: { row_id: string }) => r.row_id);
  const bulk = `mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { affected_rows } }`;

  // Request bodies are serialized before the clock starts: the client shares this process.
  const bulkBody = (size: number) => JSON.stringify({ query: bulk, variables: { o: Array.from({ length: size }, () => toVariables(demoOrder(random, customerIds))) } });
  const post = graphqlPoster(fetch, gateway.url);
  const postBulk = async (body: string, size: number) => {
    if ((await post(body)).insert_orders.affected_rows !== size) throw new Error('short insert');
  };

  console.log(`insert_orders(objects) over HTTP, ${BULK_ROUNDS} rounds per batch size (after one warm-up round)`);
  for (const size of BATCH_SIZES) {
    const rates: number[] = [];
    // All of them first: the garbage of making one is not collected during the next one's request.
    const bodies = Array.from({ length: BULK_ROUNDS + 1 }, () => bulkBody(size));
    for (const [round, body] of bodies.entries()) {
      const started = performance.now();
      await postBulk(body, size);
      const seconds = (performance.now() - started) / 1000;
      if (round > 0) rates.push(size / seconds);
    }
    console.log(`  batch ${size}: median ${Math.round(median(rates))} rows/s (min ${Math.round(Math.min(...rates))}, max ${Math.round(Math.max(...rates))})`);
  }
  const size = BATCH_SIZES.at(-1)!;
  const bodies = Array.from({ length: CONCURRENT_BULK_CLIENTS }, () => Array.from({ length: CONCURRENT_BULK_ROUNDS }, () => bulkBody(size)));
  const concurrentStart = performance.now();
  await Promise.all(bodies.map(async (mine) => {
    for (const body of mine) await postBulk(body, size);
  }));
  const concurrentSeconds = (performance.now() - concurrentStart) / 1000;
  console.log(
    `  batch ${size}, ${CONCURRENT_BULK_CLIENTS} clients at once x ${CONCURRENT_BULK_ROUNDS} batches each: ${Math.round((CONCURRENT_BULK_CLIENTS * CONCURRENT_BULK_ROUNDS * size) / concurrentSeconds)} rows/s`,
  );

  const single = `mutation($o: orders_insert_input!) { insert_orders_one(object: $o) { row_id } }`;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = 0; i < SINGLE_PER_CLIENT; i++) {
        const t = performance.now();
        await gql(single, { o: toVariables(demoOrder(random, customerIds)) });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `insert_orders_one, ${CLIENTS} concurrent clients x ${SINGLE_PER_CLIENT}: p50 ${percentile(latencies, 50).toFixed(2)} ms, p95 ${percentile(latencies, 95).toFixed(2)} ms, ${Math.round(latencies.length / wall)} rows/s`,
  );

  // Updates: each captures the version it replaced beside the new one (change_log.previous_*).
  const orderIds: string[] = (
    await gql(`query($n: Int!) { orders(limit: $n, order_by: [{ row_id: asc }]) { row_id } }`, { n: UPDATE_ROUNDS * UPDATE_BATCH + CLIENTS * SINGLE_PER_CLIENT })
  ).orders.map((r: { row_id: string }) => r.row_id);
  const updateMany = `mutation($ids: [UUID!]!, $s: orders_set_input!) { update_orders(where: { row_id: { _in: $ids } }, _set: $s) { affected_rows } }`;
  const updateRates: number[] = [];
  for (let round = 0; round <= UPDATE_ROUNDS; round++) {
    // The warm-up round updates rows a measured round updates again.
    const ids = orderIds.slice(Math.max(round - 1, 0) * UPDATE_BATCH, Math.max(round, 1) * UPDATE_BATCH);
    const body = JSON.stringify({ query: updateMany, variables: { ids, s: { note: `round ${round}`, total: round + 0.5 } } });
    const t = performance.now();
    if ((await post(body)).update_orders.affected_rows !== ids.length) throw new Error('short update');
    if (round > 0) updateRates.push(ids.length / ((performance.now() - t) / 1000));
  }
  console.log(`update_orders(where: row_id _in ${UPDATE_BATCH}), ${UPDATE_ROUNDS} rounds: median ${Math.round(median(updateRates))} rows/s (min ${Math.round(Math.min(...updateRates))}, max ${Math.round(Math.max(...updateRates))})`);
  const byPk = `mutation($id: UUID!, $t: Float!) { update_orders_by_pk(row_id: $id, _set: { total: $t }) { row_id } }`;
  const updateLatencies: number[] = [];
  const singles = orderIds.slice(UPDATE_ROUNDS * UPDATE_BATCH);
  const updateStart = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; i < SINGLE_PER_CLIENT; i++) {
        const t = performance.now();
        await gql(byPk, { id: singles[client * SINGLE_PER_CLIENT + i], t: i + 0.25 });
        updateLatencies.push(performance.now() - t);
      }
    }),
  );
  const updateWall = (performance.now() - updateStart) / 1000;
  updateLatencies.sort((a, b) => a - b);
  console.log(
    `update_orders_by_pk, ${CLIENTS} concurrent clients x ${SINGLE_PER_CLIENT}: p50 ${percentile(updateLatencies, 50).toFixed(2)} ms, p95 ${percentile(updateLatencies, 95).toFixed(2)} ms, ${Math.round(updateLatencies.length / updateWall)} rows/s`,
  );
} finally {
  await gateway.stop();
  await database.drop();
}
