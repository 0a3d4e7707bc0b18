// `npm run bench:vocabulary`: issue 13's search-screen questions on 1M orders / 100k customers in the
// mixed state (each entity compacted to a base file, then a delta of updates and inserts, then a
// buffer of unflushed changes), ours over GraphQL vs raw DuckDB over one compacted Parquet file per
// entity in the compiler's SQL shapes (and, for the reverse-relation filter, vs the EAV store).
// Ours is timed as asked again (what the aggregate cache keeps answers) and with nothing kept (a
// question asked once); the reverse filter also by the first, second and third ask of fresh questions.
// Usage: npm run bench:vocabulary -- [--orders 1000000] [--updates N] [--runs 15] [--partial | --without-graphql] [--out FILE]
//   --updates: order updates flushed into the delta (default orders/50); customers get 1/10 of that, flushed and buffered
//   --buffered: order changes left in the buffer (default 20000), half new orders, half updates
//   --partial: measure the GraphQL of the questions the schema accepts (else stop before loading)
//   --without-graphql: raw DuckDB and EAV only. BENCH_DATABASE_URL: a running Postgres (else embedded).
//   --keep: leave the loaded database and lake; --reuse DIR measures them again (say, after a merge)
//   without loading (the load of 1M orders is most of the run's time); both need BENCH_DATABASE_URL.
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, validate } from 'graphql';
import { sqlString } from '../src/lake/index.js';
import { withNothingKept } from '../test/support/kept.js';
import { describeLake, DemoLoad, eavAttributeIds, exportCompacted, ms, openBenchGateway, rawDuckDb, timed, timedTogether, type Timing } from './support.js';
import { EAV_FORMS, OVER, PAGE, RAW, type EavLayout } from './vocabulary-sql.js';
import { difference, QUESTIONS, type Question } from './vocabulary-questions.js';

// The targets: ours within 1.5x of raw DuckDB and 30x faster than EAV; the nested page < 100 ms p50/p95.
const TARGETS = { maxOursOverRaw: 1.5, minEavOverOurs: 30, nestedMaxMs: 100 };

const { values: options } = parseArgs({
  options: {
    orders: { type: 'string', default: process.env.BENCH_ORDERS ?? '1000000' },
    updates: { type: 'string' },
    buffered: { type: 'string' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'string' },
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '15' },
    partial: { type: 'boolean', default: false },
    'without-graphql': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const g = await openBenchGateway('bench_vocabulary', { keep: options.keep, reuse: options.reuse });
const ORDERS = Number(g.state.orders ?? options.orders);
const RUNS = Number(options.runs);
if (!(ORDERS >= 20_000) || !(RUNS >= 1)) throw new Error('--orders must be at least 20000 and --runs at least 1');
const CUSTOMERS = Math.max(1_000, Math.round(ORDERS / 10));
const BUFFERED = 2 * Math.round(Number(g.state.buffered ?? options.buffered ?? 20_000) / 2);
const UPDATES = Number(g.state.updates ?? options.updates ?? Math.round(ORDERS / 50));
const CUSTOMER_UPDATES = Math.round(UPDATES / 10);
const EAV_RUNS = Math.min(RUNS, 5); // the EAV store takes seconds per question at 1M rows
const OUT = options.out ?? path.join('bench', 'results', ORDERS === 1_000_000 ? 'vocabulary.json' : `vocabulary-${ORDERS}-orders.json`);

/** The questions the schema accepts (the others with the reason), or null to stop before any data is loaded. */
function graphqlQuestions(): Question[] | null {
  if (options['without-graphql']) return [];
  const rejected: string[] = [];
  const accepted = (Object.keys(QUESTIONS) as Question[]).filter((key) => {
    const errors = validate(g.schema, parse(QUESTIONS[key].graphql));
    if (errors.length) rejected.push(`  ${key} (${QUESTIONS[key].label}): ${errors.map((e) => e.message).join('; ')}`);
    return errors.length === 0;
  });
  if (rejected.length) {
    const message = `the GraphQL schema lacks what these questions ask (adjust QUESTIONS at the top of bench/vocabulary.ts if the names differ):\n${rejected.join('\n')}`;
    if (!options.partial) {
      console.error(`${message}\nstopped before loading (--partial measures the rest, --without-graphql raw DuckDB and EAV only)`);
      return null;
    }
    console.warn(`${message}\nmeasuring the GraphQL of: ${accepted.join(', ') || 'none'}`);
  }
  return accepted;
}

interface QuestionResult {
  label: string;
  graphql: string | null;
  ours: Timing | null;
  /** Ours with nothing kept by the aggregate cache (AGGREGATE_CACHE_ENTRIES=0): what a question asked once takes. */
  ours_nothing_kept: Timing | null;
  raw: Timing;
  /** Of the reverse filter: fresh questions, each asked three times (kept-parents.ts keeps from the second on), p50 per ask. */
  asks_of_a_fresh_question?: { first: number; second: number; third: number; questions: number };
  eav?: Timing & { fastest: string; forms_once_ms: Record<string, number> };
  ours_over_raw: number | null;
  eav_over_ours?: number | null;
  targets: Record<string, boolean | null>;
  answers: string;
}

const measured = graphqlQuestions();
if (measured === null) {
  await g.close();
  process.exit(1);
}

try {
  if (options.reuse) {
    console.log(`measuring the state kept in ${options.reuse}`);
  } else {
    // The mixed state: a compacted base per entity, a delta of updates (and the load's last
    // inserts), then a buffer of 20,000 order changes and some customer updates.
    const load = await DemoLoad.load(g, { orders: ORDERS, customers: CUSTOMERS, buffered: BUFFERED });
    await load.compact();
    await load.flushUpdates(UPDATES, CUSTOMER_UPDATES);
    await load.bufferChanges(CUSTOMER_UPDATES);
    // What autovacuum does in time: without statistics the planner misjudged every EAV form (1.8 s vs 0.4 s at 40k orders).
    await g.oltp.pool.query('VACUUM ANALYZE eav_entity, eav_value');
    Object.assign(g.state, { orders: ORDERS, updates: UPDATES, buffered: BUFFERED });
  }
  const lake = await describeLake(g, ['customers', 'orders']);
  console.log(`\nthe mixed state:\n${lake}`);
  const compacted = await exportCompacted(g, ['orders', 'customers'], 'vocabulary');
  const files = { orders: sqlString(compacted.orders!), customers: sqlString(compacted.customers!) };
  const raw = rawDuckDb(g);
  const [customers, orders] = [g.catalog.entity('customers'), g.catalog.entity('orders')];
  const layout: EavLayout = { ids: await eavAttributeIds(g.oltp), project: customers.project, customers: customers.id, orders: orders.id };

  // Each question: its SQL answer in the form `answer` gives, and how to ask it of raw DuckDB.
  const rawAnswers: Record<Question, () => Promise<unknown[]>> = {
    reverseFilter: async () => (await raw(RAW.reverseFilter(files))).map((r) => r.row_id),
    nestedAggregate: async () => {
      const page = await raw(RAW.nestedPage(files));
      const ids = page.map((r) => String(r.row_id));
      const sums = new Map((await raw(RAW.nestedAggregate(files, ids))).map((r) => [String(r.customer), r]));
      return ids.map((id) => [id, sums.get(id)?.count ?? 0, sums.get(id)?.sum_total ?? null]);
    },
    groupByRef: async () => (await raw(RAW.groupByRef(files))).map((r) => [r.tier, r.sum_total]),
  };

  const results = {} as Record<Question, QuestionResult>;
  for (const key of Object.keys(QUESTIONS) as Question[]) {
    const question = QUESTIONS[key];
    const ask = measured.includes(key) ? () => g.gql(question.graphql) : null;
    const truth = await rawAnswers[key]();
    const checks: string[] = [];
    if (ask) checks.push(`GraphQL ${difference(question.answer(await ask()), truth) ?? 'agrees'}`);
    const askNothingKept = ask ? () => withNothingKept(g.lakehouse.search.aggregates, ask) : null;
    const [rawTime, oursTime, nothingKeptTime] = await timedTogether([rawAnswers[key], ...(ask ? [ask, askNothingKept!] : [])], RUNS);
    const result: QuestionResult = {
      label: question.label,
      graphql: ask ? question.graphql : null,
      ours: oursTime ?? null,
      ours_nothing_kept: nothingKeptTime ?? null,
      raw: rawTime!,
      ours_over_raw: oursTime ? oursTime.p50 / rawTime!.p50 : null,
      targets: {},
      answers: '',
    };
    if (key === 'reverseFilter') {
      // Seconds a run at 1M: each form once after a warming run that checks its answer, then the fastest EAV_RUNS times.
      const forms: Record<string, number> = {};
      for (const [form, sql] of Object.entries(EAV_FORMS)) {
        checks.push(`EAV ${form} ${difference((await g.oltp.pool.query(sql(layout))).rows.map((r) => r.row_id), truth) ?? 'agrees'}`);
        forms[form] = (await timed(() => g.oltp.pool.query(sql(layout)), 1, 0)).p50;
      }
      const fastest = Object.entries(forms).sort(([, a], [, b]) => a - b)[0]![0];
      const eav = await timed(() => g.oltp.pool.query(EAV_FORMS[fastest]!(layout)), EAV_RUNS, 0);
      result.eav = { fastest, ...eav, forms_once_ms: forms };
      if (ask) {
        // A question's first asks: thresholds a hair above OVER (totals are in cents) are fresh
        // questions with the same answer; the first reads every order, the second keeps the
        // parents, the third reads them.
        const asks: number[][] = [[], [], []];
        const fresh = Math.min(RUNS, 10);
        for (let i = 1; i <= fresh; i++) {
          const graphql = question.graphql.replace(`_gt: ${OVER}`, `_gt: ${OVER + i * 1e-6}`);
          for (const times of asks) {
            const started = performance.now();
            const data = await g.gql(graphql);
            times.push(performance.now() - started);
            const wrong = difference(question.answer(data), truth);
            if (wrong) throw new Error(`a fresh reverse-filter question answered differently: ${wrong}`);
          }
        }
        const [first, second, third] = asks.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
        result.asks_of_a_fresh_question = { first: first!, second: second!, third: third!, questions: fresh };
      }
      result.eav_over_ours = oursTime ? eav.p50 / oursTime.p50 : null;
      result.targets[`ours <= ${TARGETS.maxOursOverRaw}x raw`] = oursTime ? result.ours_over_raw! <= TARGETS.maxOursOverRaw : null;
      result.targets[`EAV >= ${TARGETS.minEavOverOurs}x ours`] = oursTime ? result.eav_over_ours! >= TARGETS.minEavOverOurs : null;
    }
    if (key === 'nestedAggregate') result.targets[`p50 and p95 < ${TARGETS.nestedMaxMs} ms`] = oursTime ? oursTime.p95 < TARGETS.nestedMaxMs : null;
    result.answers = checks.join('; ') || 'raw only';
    results[key] = result;
  }

  const cell = (t: Timing | null | undefined) => (t ? `${ms(t.p50)} / ${ms(t.p95)}` : 'n/a');
  const ratio = (r: number | null | undefined, digits: number) => (r == null ? 'n/a' : `${r.toFixed(digits)}x`);
  console.log(`\n${ORDERS.toLocaleString('en')} orders, ${CUSTOMERS.toLocaleString('en')} customers, mixed state; ${RUNS} runs each (EAV ${EAV_RUNS}), p50 / p95, ours and raw round-robin`);
  console.log('| question | ours (GraphQL) | ours, nothing kept | raw DuckDB, compacted | EAV Postgres, fastest form | ours / raw | nothing kept / raw | EAV / ours | targets |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of Object.values(results)) {
    const targets = Object.entries(r.targets).map(([t, met]) => `${t}: ${met === null ? 'n/a' : met ? 'met' : 'MISSED'}`).join(', ');
    const eav = r.eav ? `${cell(r.eav)} (${r.eav.fastest})` : '';
    const nothingKept = r.ours_nothing_kept ? r.ours_nothing_kept.p50 / r.raw.p50 : null;
    console.log(`| ${r.label} | ${cell(r.ours)} | ${cell(r.ours_nothing_kept)} | ${cell(r.raw)} | ${eav} | ${ratio(r.ours_over_raw, 2)} | ${ratio(nothingKept, 2)} | ${r.eav ? ratio(r.eav_over_ours, 1) : ''} | ${targets} |`);
  }
  const life = results.reverseFilter.asks_of_a_fresh_question;
  if (life) console.log(`
${life.questions} fresh reverse-filter questions, p50 of each one's first / second / third ask: ${ms(life.first)} / ${ms(life.second)} / ${ms(life.third)}`);
  console.log(`\nEAV forms of "${results.reverseFilter.label}", one run each:`);
  for (const [form, t] of Object.entries(results.reverseFilter.eav!.forms_once_ms)) console.log(`  ${form}: ${ms(t)}`);
  console.log('\nanswers:');
  for (const [key, r] of Object.entries(results)) console.log(`  ${key}: ${r.answers}`);

  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const report = { date: new Date().toISOString(), commit, orders: ORDERS, customers: CUSTOMERS, updates: UPDATES, customer_updates: CUSTOMER_UPDATES, buffered: BUFFERED, page: PAGE, runs: RUNS, eav_runs: EAV_RUNS, lake: lake.split('\n'), targets: TARGETS, questions: results };
  await fs.mkdir(path.dirname(OUT), { recursive: true });
  await fs.writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten to ${OUT}`);
} finally {
  await g.close();
}
