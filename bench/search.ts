// Merge-on-read search on 1M orders / 100k customers through GraphQL, in two mixed states, each with
// 20,000 changes buffered: (A) never compacted: 50 delta files of inserts and one of 20,000 updates;
// (B) compacted once (what the compaction worker leaves), then 20,000 more updates flushed into a
// delta file. Each question compared in the same run with (i) the Postgres EAV store asked
// directly and (ii) raw DuckDB over one fully compacted Parquet file per entity of the same data.
// Also by_pk latency, freshness with the buffer full, and the cost of the buffer (state B).
// Usage: npm run bench:search   (BENCH_ORDERS=200000 for a quicker run; BENCH_DATABASE_URL to use a running Postgres)
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import { sqlString } from '../src/lake/index.js';
import { describeLake, DemoLoad, eavAttributeIds, exportCompacted, ms, openBenchGateway, percentile, rawDuckDb, timed as timedRuns, timedTogether as together } from './support.js';
import { EAV_QUESTIONS, RAW_OBVIOUS, RAW_QUESTIONS, GRAPHQL_QUESTIONS } from './search-questions.js';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000_000);
const CUSTOMERS = Math.max(1_000, Math.round(ORDERS / 10));
const BUFFERED = 20_000;
const UPDATES_FLUSHED = Math.round(ORDERS / 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

const g = await openBenchGateway('bench_search');
const { gql, lakehouse, oltp } = g;
const timed = (run: () => Promise<unknown>, runs = RUNS) => timedRuns(run, runs);
const timedTogether = (alternatives: readonly (() => Promise<unknown>)[], runs = RUNS) => together(alternatives, runs);

try {
  const load = await DemoLoad.load(g, { orders: ORDERS, customers: CUSTOMERS, buffered: BUFFERED });
  await load.flushUpdates(UPDATES_FLUSHED);
  await load.bufferChanges();
  const { orderIds, random } = load;
  const attributeIds = await eavAttributeIds(oltp);
  const rawSql = rawDuckDb(g);
  const rawRun = (sql: string) => () => rawSql(sql);
  let exports = 0;
  const measureState = async (label: string) => {
    console.log(`\nstate ${label}: ${await describeLake(g, ['orders'])}`);
    // (ii) raw DuckDB over one compacted file per entity: the current rows, sorted by row_id.
    const compacted = await exportCompacted(g, ['orders', 'customers'], String(++exports));
    console.log(`question: GraphQL merge-on-read p50/p95 | (i) EAV Postgres p50/p95 | (ii) raw DuckDB compacted p50/p95 | (i)/GraphQL | GraphQL/(ii)`);
    const files = [sqlString(compacted.orders!), sqlString(compacted.customers!)] as const;
    const obvious: string[] = [];
    for (const key of Object.keys(GRAPHQL_QUESTIONS) as (keyof typeof GRAPHQL_QUESTIONS)[]) {
      const [ours, raw] = await timedTogether([() => gql(GRAPHQL_QUESTIONS[key]), rawRun(RAW_QUESTIONS[key](...files))]);
      // The EAV store takes seconds per question at 1M rows: fewer runs keep the benchmark short.
      const eav = await timed(() => oltp.pool.query(EAV_QUESTIONS[key](attributeIds)), Math.min(RUNS, 5));
      console.log(
        `${key}: ${ms(ours!.p50)}/${ms(ours!.p95)} | ${ms(eav.p50)}/${ms(eav.p95)} | ${ms(raw!.p50)}/${ms(raw!.p95)} | ${(eav.p50 / ours!.p50).toFixed(1)}x | ${(ours!.p50 / raw!.p50).toFixed(2)}x`,
      );
      const plain = RAW_OBVIOUS[key];
      if (plain && exports === 1) {
        const [same, first] = await timedTogether([rawRun(RAW_QUESTIONS[key](...files)), rawRun(plain(...files))]);
        obvious.push(`${key}: as compiled ${ms(same!.p50)}, as first written ${ms(first!.p50)} (${(first!.p50 / same!.p50).toFixed(2)}x)`);
      }
    }
    if (obvious.length) {
      console.log('raw DuckDB over the compacted file, p50, the SQL shape the compiler emits vs the obvious one:');
      for (const line of obvious) console.log(line);
    }
  };

  await measureState('A (never compacted)');
  // State B: what the compaction worker leaves (one present base file per entity), then more
  // updates flushed into a delta file; the buffer is untouched by compaction. The flush takes
  // state A's buffer along with the new updates; then a new buffer of 20,000.
  console.log('');
  await load.compact();
  await load.flushUpdates(UPDATES_FLUSHED);
  await load.bufferChanges();
  await measureState('B (compacted, then updates flushed)');

  const someIds = Array.from({ length: 200 }, () => orderIds[Math.floor(random() * orderIds.length)]!);
  let next = 0;
  const byPk = await timed(() => gql(`query($id: UUID!) { orders_by_pk(row_id: $id) { row_id total customer { name } } }`, { id: someIds[next++ % someIds.length] }));
  console.log(`\norders_by_pk through GraphQL (OLTP store): p50 ${ms(byPk.p50)}, p95 ${ms(byPk.p95)}`);

  // Freshness: from a mutation's response to its row showing in a search, with the buffer full.
  const lags: number[] = [];
  for (let i = 0; i < 300; i++) {
    const inserted = await gql(`mutation { insert_orders_one(object: {total: 123.45, paid: true}) { row_id } }`);
    const started = performance.now();
    for (;;) {
      const found = await gql(`query($id: UUID!) { orders(where: {row_id: {_eq: $id}}) { row_id } }`, { id: inserted.insert_orders_one.row_id });
      if (found.orders.length === 1) break;
    }
    lags.push(performance.now() - started);
  }
  lags.sort((a, b) => a - b);
  console.log(`freshness (mutation response -> visible in a search), ${BUFFERED.toLocaleString('en')}+ rows buffered: p50 ${ms(percentile(lags, 50))}, p99 ${ms(percentile(lags, 99))}`);

  // The cost of the buffer: the same questions once everything is flushed.
  const withBuffer: Record<string, number> = {};
  for (const [key, query] of Object.entries(GRAPHQL_QUESTIONS)) withBuffer[key] = (await timed(() => gql(query))).p50;
  await lakehouse.admin.flush(load.entities.orders, true);
  console.log('\ncost of a full buffer (same run, p50 with 20k+ buffered vs after flushing it):');
  for (const [key, query] of Object.entries(GRAPHQL_QUESTIONS)) {
    const flushed = (await timed(() => gql(query))).p50;
    console.log(`${key}: ${ms(withBuffer[key]!)} vs ${ms(flushed)} (${(withBuffer[key]! / flushed).toFixed(2)}x)`);
  }
} finally {
  await g.close();
}
