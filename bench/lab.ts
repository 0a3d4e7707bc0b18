// `npm run bench`: the performance lab (issue 14). Loads the demo data through the write path,
// builds the two mixed states of the search benchmark (A: never compacted; B: compacted, then
// updates flushed after it and a full buffer), and measures in one run:
//   suite     each question through GraphQL (ours) vs raw DuckDB over one compacted Parquet file per
//             entity (the compiler's SQL shapes) vs the EAV store (indexed copy, fastest of its forms)
//   freshness by_pk latency, write -> visible in a search (p50/p99), flush rows/s, compaction time
//   load      a `serve` child under 1, 8 and 32 concurrent clients mixing questions, by_pk and writes
//   month     write amplification over a simulated month of daily compactions
// and writes bench/results/lab-scale-<N>.json and .svg (the chart the README shows).
// Usage: npm run bench -- [--scale 1] [--only suite,freshness,load,month] [--runs 15] [--load-seconds 15]
//        npm run bench:load   (the concurrency run alone: --only load)
// BENCH_DATABASE_URL: a running Postgres (else an embedded one).
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { sqlString } from '../src/lake/index.js';
import { withNothingKept } from '../test/support/kept.js';
import { copyEav, measureEav, ADDED_INDEXES, type EavCopy } from './lab-eav.js';
import { runLevel, startLoadGateway, type LevelResult } from './lab-load.js';
import { simulateMonth, type MonthResult } from './lab-month.js';
import { dashboardTable, measureDashboard } from './lab-dashboard.js';
import { chartSvg, loadTable, questionTable, type QuestionRow, type StateResult } from './lab-report.js';
import { SUITE } from './lab-suite.js';
import { describeLake, DemoLoad, eavAttributeIds, exportCompacted, median, openBenchGateway, percentile, rawDuckDb, timed, timedTogether, type BenchGateway } from './support.js';
import { difference } from './vocabulary-questions.js';
import type { EavLayout } from './vocabulary-sql.js';

const PARTS = ['suite', 'dashboard', 'freshness', 'load', 'month'] as const;
type Part = (typeof PARTS)[number];

const number = (min: number, max: number, integer = false) => (text: string) => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new InvalidArgumentError(`must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return value;
};

const program = new Command('bench')
  .description('the performance lab: ours vs raw DuckDB vs EAV, freshness, concurrency, write amplification')
  .option('--scale <n>', 'data size: 1 = 1,000,000 orders and 100,000 customers; 0.02 to 10', number(0.02, 10), 1)
  .option('--only <parts>', `comma-separated parts of ${PARTS.join(',')}`, (text) => {
    const parts = text.split(',').map((p) => p.trim());
    const unknown = parts.filter((p) => !PARTS.includes(p as Part));
    if (unknown.length) throw new InvalidArgumentError(`unknown part ${unknown.join(', ')} (parts: ${PARTS.join(', ')})`);
    return parts as Part[];
  })
  .option('--runs <n>', 'timed runs per question (ours and raw, round-robin)', number(1, 1000, true), 15)
  .option('--eav-runs <n>', 'timed runs of the fastest EAV form (0: no EAV baseline, for a run that needs only ours vs raw)', number(0, 100, true), 5)
  .option('--eav-timeout-s <n>', 'bound of one EAV statement', number(1, 3600), 120)
  .option('--load-seconds <n>', 'measured seconds per concurrency level', number(1, 600), 15)
  .option('--load-warmup-s <n>', 'seconds of each level before the measured ones (queues fill at 32 clients)', number(0, 600), 5)
  .option('--clients <list>', 'concurrency levels', (text) => text.split(',').map((c) => number(1, 256, true)(c)), [1, 8, 32])
  .option('--month-days <n>', 'days of the write-amplification month', number(1, 366, true), 30)
  .option('--month-update-share <f>', 'share of the customers updated a day (a fifth of that inserted)', number(0.0001, 1), 0.01)
  .option('--file-tables-mb <n>', 'DUCKDB_FILE_TABLES_BYTES of the measured gateway, in MiB (0: every file read from Parquet)', number(0, 1_000_000))
  .option('--duckdb-memory <size>', 'DUCKDB_MEMORY_LIMIT of the measured gateway (e.g. 8GB; scale 10 with its file tables needs more than the 2GB default)')
  .option('--gateway-env <K=V...>', 'configuration of the load run’s gateway (e.g. DUCKDB_MAX_QUERIES=4)', [])
  .option('--out <dir>', 'where the JSON and SVG go', path.join('bench', 'results'));
program.parse();
const options = program.opts<{
  scale: number;
  only?: Part[];
  runs: number;
  eavRuns: number;
  eavTimeoutS: number;
  loadSeconds: number;
  loadWarmupS: number;
  clients: number[];
  monthDays: number;
  monthUpdateShare: number;
  fileTablesMb?: number;
  duckdbMemory?: string;
  gatewayEnv: string[];
  out: string;
}>();
const parts = new Set<Part>(options.only ?? PARTS);
// At 32 clients with 30% questions, more than DUCKDB_QUEUE_LENGTH's default of 16 searches wait at
// once and the gateway sheds them ("busy", by design): the lab measures latency under that load, so
// its gateway queues up to 64 (--gateway-env DUCKDB_QUEUE_LENGTH=16 measures the shedding instead).
const gatewayEnv: Record<string, string> = {
  DUCKDB_QUEUE_LENGTH: '64',
  ...Object.fromEntries(
    options.gatewayEnv.map((kv) => {
      const i = kv.indexOf('=');
      if (i < 1) throw new Error(`--gateway-env ${kv}: expected KEY=VALUE`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  ),
};

const ORDERS = Math.round(options.scale * 1_000_000);
const CUSTOMERS = Math.max(1_000, Math.round(options.scale * 100_000));
/** A full buffer: FLUSH_MAX_ROWS's default, half new orders, half updates. */
const BUFFERED = 20_000;
/** As the search benchmark: orders/50 updates flushed into a delta; customers a tenth of that. */
const UPDATES = Math.round(ORDERS / 50);
const CUSTOMER_UPDATES = Math.round(UPDATES / 10);
const tag = String(options.scale).replace('.', '_');

const bar = (label: string) =>
  new cliProgress.SingleBar({
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} elapsed, eta {eta_formatted}`,
      hideCursor: true,
      // Not on a terminal (CI, a log file): a line every 10 s instead of nothing.
      noTTYOutput: true,
      notTTYSchedule: 10_000,
    }, cliProgress.Presets.shades_classic);

const g = await openBenchGateway('bench_lab', {
  ...(options.fileTablesMb === undefined ? {} : { fileTablesBytes: options.fileTablesMb * 1024 * 1024 }),
  ...(options.duckdbMemory ? { duckdbMemoryLimit: options.duckdbMemory } : {}),
});
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
  machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  scale: options.scale,
  orders: ORDERS,
  customers: CUSTOMERS,
  buffered: BUFFERED,
  updates_flushed: UPDATES,
  customer_updates: CUSTOMER_UPDATES,
  runs: options.runs,
};
let eav: EavCopy | null = null;

try {
  const progress = bar('load');
  progress.start(CUSTOMERS + ORDERS - BUFFERED / 2, 0);
  const loadStarted = performance.now();
  const load = await DemoLoad.load(g, { orders: ORDERS, customers: CUSTOMERS, buffered: BUFFERED }, 10_000, (done, total) => {
    progress.setTotal(total);
    progress.update(done);
  });
  progress.stop();
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  console.log(`loaded in ${loadSeconds.toFixed(1)} s (${Math.round((CUSTOMERS + ORDERS - BUFFERED / 2) / loadSeconds).toLocaleString('en')} rows/s with the load's flushes)`);
  // State A: never compacted (the load's delta files), a delta of updates, a full buffer.
  await load.flushUpdates(UPDATES);
  await load.bufferChanges();
  const orderFlushes = load.flushes.filter((f) => f.entity === 'orders');
  results.flush = {
    flushes: orderFlushes.length,
    rows_per_s_p50: median(orderFlushes.map((f) => f.rows / (f.ms / 1000))),
    ms_p50: median(orderFlushes.map((f) => f.ms)),
    how: 'forced flushes of the orders buffer during the load (20,000 rows each) and of the flushed updates',
  };
  const states: StateResult[] = [];
  const eavResults = new Map<string, QuestionRow['eav']>();
  const [customersEntity, ordersEntity] = [g.catalog.entity('customers'), g.catalog.entity('orders')];
  const layout: EavLayout = { ids: await eavAttributeIds(g.oltp), project: customersEntity.project, customers: customersEntity.id, orders: ordersEntity.id };

  const measureSuite = async (state: string) => {
    const lake = (await describeLake(g, ['customers', 'orders'])).split('\n');
    console.log(`\n${state}:\n${lake.join('\n')}`);
    const exported = await exportCompacted(g, ['orders', 'customers'], tag + state.slice(0, 1));
    const files = { orders: sqlString(exported.orders!), customers: sqlString(exported.customers!) };
    const raw = rawDuckDb(g);
    const rows: QuestionRow[] = [];
    // The large files' DuckDB tables load in the background after a search first lists them: every
    // question asked once, then the loads awaited, so that every timed ask reads them alike.
    for (const q of SUITE) await withNothingKept(g.lakehouse.search.aggregates, () => g.gql(q.graphql));
    const tables = g.lakehouse.search.engine.fileTables;
    await tables.settled();
    const fileTables = { files: tables.loaded.length, mb: Math.round(tables.bytesHeld / 1024 / 1024) };
    console.log(`  DuckDB tables of large lake files: ${fileTables.files} files, ${fileTables.mb} MiB`);
    // Each question as a first ask: kept aggregate partials would answer the runs after the first
    // from memory, as nothing changes between them (the dashboard part measures those). Then, with
    // them on, asked again: what kept partials answer of a question repeated (its asks before
    // alternate with raw's; the warm-ups keep what is kept).
    const firstAsk = (q: (typeof SUITE)[number]) => withNothingKept(g.lakehouse.search.aggregates, () => g.gql(q.graphql));
    for (const q of SUITE) {
      const truth = await q.raw(raw, files);
      const checks = [`GraphQL ${difference(q.answer(await firstAsk(q)), truth) ?? 'agrees'}`];
      const [ours, rawTime, again] = await timedTogether([() => firstAsk(q), () => q.raw(raw, files), () => g.gql(q.graphql)], options.runs);
      checks.push(`asked again ${difference(q.answer(await g.gql(q.graphql)), truth) ?? 'agrees'}`);
      if (eav && !eavResults.has(q.key)) {
        process.stdout.write(`  EAV forms of ${q.key} ...`);
        eavResults.set(q.key, await measureEav(eav, q, layout, truth, options.eavRuns));
        process.stdout.write(` ${eavResults.get(q.key)!.fastest}\n`);
      }
      const eavResult = eavResults.get(q.key) ?? null;
      if (eavResult) checks.push(`EAV ${eavResult.answers}`);
      rows.push({
        key: q.key,
        label: q.label,
        ours: ours!,
        ours_again: again!,
        raw: rawTime!,
        eav: eavResult,
        ours_over_raw: ours!.p50 / rawTime!.p50,
        eav_over_ours: eavResult && Number.isFinite(eavResult.p50) ? eavResult.p50 / ours!.p50 : null,
        answers: checks.join('; '),
      });
      console.log(`  ${q.key}: ours ${ours!.p50.toFixed(1)} ms (asked again ${again!.p50.toFixed(1)} ms), raw ${rawTime!.p50.toFixed(1)} ms, EAV ${eavResult ? eavResult.p50.toFixed(1) : 'n/a'} ms; ${checks.slice(0, 2).join(', ')}`);
    }
    for (const file of Object.values(exported)) await fs.rm(file, { force: true });
    states.push({ state, lake, file_tables: fileTables, questions: rows });
  };

  if (parts.has('suite')) {
    if (options.eavRuns > 0) {
      console.log('\ncopying the EAV store into eav_lab with value indexes ...');
      eav = await copyEav(g.oltp, g.databaseUrl, options.eavTimeoutS * 1000);
      console.log(`EAV copy built in ${eav.seconds.toFixed(1)} s; added indexes (bench copy only): ${ADDED_INDEXES.join('; ')}`);
      results.eav = { copy_seconds: eav.seconds, added_indexes: ADDED_INDEXES, measured_in: 'state A (the EAV store has no lake state); the same EAV times stand in both states' };
    } else {
      results.eav = { skipped: '--eav-runs 0' };
    }
    await measureSuite('A never compacted');
  }

  // State B: each entity compacted to one file, then updates flushed after it, then a full buffer.
  const compactions = await load.compact();
  results.compaction = compactions;
  await load.flushUpdates(UPDATES, CUSTOMER_UPDATES);
  await load.bufferChanges(CUSTOMER_UPDATES);
  if (parts.has('suite')) {
    await measureSuite('B compacted, then changes');
    results.states = states;
    console.log(`\n${ORDERS.toLocaleString('en')} orders, ${CUSTOMERS.toLocaleString('en')} customers; ${options.runs} runs each (ours and raw round-robin), EAV fastest form ${options.eavRuns} runs`);
    console.log(questionTable(states));
    const svg = chartSvg(`ours vs raw DuckDB vs EAV, scale ${options.scale} (${ORDERS.toLocaleString('en')} orders), ${String(results.date).slice(0, 10)}`, states);
    await fs.mkdir(options.out, { recursive: true });
    await fs.writeFile(path.join(options.out, `lab-scale-${tag}.svg`), svg);
  }

  if (parts.has('dashboard')) {
    const exported = await exportCompacted(g, ['orders', 'customers'], `${tag}D`);
    try {
      const files = { orders: sqlString(exported.orders!), customers: sqlString(exported.customers!) };
      const question = SUITE.find((q) => q.key === 'b')!;
      const raw = rawDuckDb(g);
      const rows = await measureDashboard(g, load, question, () => question.raw(raw, files), options.runs);
      results.dashboard = { question: question.label, runs: options.runs, rows };
      console.log(`\nrepeated dashboard (${question.label}), asked again after each round of writes; raw reads the compacted file each time:`);
      console.log(dashboardTable(rows));
    } finally {
      for (const file of Object.values(exported)) await fs.rm(file, { force: true });
    }
  }

  if (parts.has('freshness')) results.freshness = await freshness(g, load);

  if (parts.has('load')) {
    const gateway = await startLoadGateway(g.databaseUrl, path.join(g.dataDir, 'lake'), path.join(g.dataDir, 'load-gateway'), gatewayEnv);
    const levels: LevelResult[] = [];
    try {
      const mix = { questions: SUITE.map((q) => q.graphql), orderIds: load.orderIds, customerIds: load.customerIds, weights: { question: 0.3, by_pk: 0.5, write: 0.2 } };
      for (const clients of options.clients) {
        const level = await runLevel(gateway.url, mix, clients, options.loadSeconds, options.loadWarmupS, clients);
        levels.push(level);
        console.log(`load, ${clients} clients: ${level.throughput_rps.toFixed(1)} req/s, p99 ${level.p99_ms.toFixed(1)} ms, by_pk p99 ${level.by_kind.by_pk.p99_ms.toFixed(1)} ms, ${level.errors} errors ${level.first_errors.join(' | ')}`);
      }
      results.load = { mix: mix.weights, gateway_env: gatewayEnv, seconds_per_level: options.loadSeconds, warmup_seconds: options.loadWarmupS, levels, gateway_peak_rss_mb: gateway.peakRssMb() };
    } finally {
      await gateway.stop();
    }
    const env = Object.entries(gatewayEnv).map(([k, v]) => `${k}=${v}`).join(' ');
    console.log(`\nconcurrency (a serve child on loopback, ${env}; ${options.loadSeconds} s per level after ${options.loadWarmupS} s of warm-up; 30% questions, 50% orders_by_pk, 20% writes):`);
    console.log(loadTable(levels));
  }

  if (parts.has('month')) {
    const monthBar = bar('month');
    monthBar.start(options.monthDays, 0);
    const month: MonthResult = await simulateMonth(g, load, options.monthDays, options.monthUpdateShare, (day) => monthBar.update(day));
    monthBar.stop();
    results.month = month;
  }
  results.bench_process_peak_rss_mb = process.resourceUsage().maxRSS / 1024;
  console.log(`\n${summary(results)}`);
  await fs.mkdir(options.out, { recursive: true });
  const out = path.join(options.out, `lab-scale-${tag}${options.only ? `-${[...parts].join('-')}` : ''}.json`);
  await fs.writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`written to ${out}${parts.has('suite') ? ` and ${path.join(options.out, `lab-scale-${tag}.svg`)}` : ''}`);
} finally {
  await eav?.close();
  await g.close();
}

/** by_pk latency in process, and the lag from a mutation's response to its row in a search (buffer full). */
async function freshness(gw: BenchGateway, load: DemoLoad): Promise<Record<string, number>> {
  let next = 0;
  const ids = Array.from({ length: 200 }, () => load.orderIds[Math.floor(load.random() * load.orderIds.length)]!);
  const byPk = await timed(() => gw.gql(`query($id: UUID!) { orders_by_pk(row_id: $id) { row_id total customer { name } } }`, { id: ids[next++ % ids.length] }), 200);
  const lags: number[] = [];
  for (let i = 0; i < 200; i++) {
    const inserted = await gw.gql(`mutation { insert_orders_one(object: {total: 123.45, paid: true}) { row_id } }`);
    const started = performance.now();
    for (let tries = 0; ; tries++) {
      const found = await gw.gql(`query($id: UUID!) { orders(where: {row_id: {_eq: $id}}) { row_id } }`, { id: inserted.insert_orders_one.row_id });
      if (found.orders.length === 1) break;
      if (tries > 1000) throw new Error('an inserted order did not show in a search after 1000 tries');
    }
    lags.push(performance.now() - started);
  }
  lags.sort((a, b) => a - b);
  return { by_pk_p50_ms: byPk.p50, by_pk_p95_ms: byPk.p95, freshness_p50_ms: percentile(lags, 50), freshness_p99_ms: percentile(lags, 99), samples: lags.length };
}

function summary(r: Record<string, any>): string {
  const lines: string[] = [];
  if (r.flush) lines.push(`flush: ${Math.round(r.flush.rows_per_s_p50).toLocaleString('en')} rows/s p50 over ${r.flush.flushes} flushes of the orders buffer`);
  for (const c of r.compaction ?? []) lines.push(`compaction of ${c.entity} (${c.rows.toLocaleString('en')} rows, ${(c.bytes / 1e6).toFixed(1)} MB): ${(c.ms / 1000).toFixed(1)} s`);
  if (r.freshness) {
    const f = r.freshness;
    lines.push(`by_pk (in process): p50 ${f.by_pk_p50_ms.toFixed(1)} ms, p95 ${f.by_pk_p95_ms.toFixed(1)} ms; freshness (write -> visible in a search, buffer full): p50 ${f.freshness_p50_ms.toFixed(1)} ms, p99 ${f.freshness_p99_ms.toFixed(1)} ms`);
  }
  if (r.month) {
    const m = r.month as MonthResult;
    lines.push(
      `month (${m.days} daily flush + compaction of ${m.entity}, ${m.rows_at_start.toLocaleString('en')} rows, ${m.updates_per_day} updates and ${m.inserts_per_day} inserts a day): ` +
        `write amplification ${m.write_amplification.toFixed(1)}x (${((m.flushed_bytes + m.compacted_bytes) / 1e6).toFixed(1)} MB written / ${(m.current_bytes / 1e6).toFixed(1)} MB current), compaction p50 ${m.compaction_ms_p50} ms, max ${m.compaction_ms_max} ms`,
    );
  }
  if (r.load) lines.push(`peak RSS of the load run's gateway process: ${Math.round(r.load.gateway_peak_rss_mb)} MB`);
  lines.push(`peak RSS of this process (the in-process gateway of the suite, the loader and the load generator): ${Math.round(r.bench_process_peak_rss_mb)} MB`);
  return lines.join('\n');
}
