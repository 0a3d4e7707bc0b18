// The lab's repeated dashboard (issue 14): the same aggregate asked again after a few more writes.
// Ours keeps the question's partial figures (AGGREGATE_CACHE_ENTRIES, src/query/aggregate-cache.ts)
// and corrects them by the rows changed since; raw DuckDB reads the compacted file again each time.
// Two kinds of writes between asks: new orders with updates of recent ones (a dashboard's usual
// traffic), and updates of random old orders (whose earlier versions lie in the big base file).
import type { LabQuestion } from './lab-suite.js';
import type { BenchGateway, DemoLoad, Timing } from './support.js';
import { percentile } from './support.js';
import { withNothingKept } from '../test/support/kept.js';
import { difference } from './vocabulary-questions.js';

export interface DashboardResult {
  writes: string;
  /** The first ask, read its own way (a question is kept from its second ask on). */
  first_ms: number;
  /** The second ask, which reads every row into the partials it keeps. */
  second_ms: number;
  ours: Timing;
  raw: Timing;
  ours_over_raw: number;
  /** The kept-partials counters over the runs (hits, corrections, full reads, refusals). */
  cache: Record<string, number>;
  answers: string;
}

const INSERT = `mutation($objects: [orders_insert_input!]!) { insert_orders(objects: $objects) { returning { row_id } } }`;
const UPDATE = `mutation($ids: [UUID!]!, $t: Float) { update_orders(where: {row_id: {_in: $ids}}, _set: {total: $t}) { affected_rows } }`;

const timing = (times: number[]): Timing => {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
};

/**
 * `question` asked `runs` times, each after `writesPerRun` writes of each kind in turn, and raw's
 * statement `rawQuestion` over the compacted files in between (round-robin, same run).
 */
export async function measureDashboard(
  g: BenchGateway,
  load: DemoLoad,
  question: LabQuestion,
  rawQuestion: () => Promise<unknown>,
  runs: number,
  writesPerRun = 10,
): Promise<DashboardResult[]> {
  const cache = g.lakehouse.search.aggregates;
  const results: DashboardResult[] = [];
  const recent: string[] = [];
  const kinds: { writes: string; write(): Promise<void> }[] = [
    {
      writes: `${writesPerRun / 2} new orders and ${writesPerRun / 2} updates of recent ones`,
      async write() {
        const objects = Array.from({ length: writesPerRun / 2 }, () => ({ total: Math.round(load.random() * 100_000) / 100, quantity: 1, paid: false, placed_at: new Date().toISOString() }));
        const inserted = await g.gql(INSERT, { objects });
        recent.push(...inserted.insert_orders.returning.map((r: { row_id: string }) => r.row_id));
        const ids = Array.from({ length: writesPerRun / 2 }, () => recent[Math.floor(load.random() * recent.length)]!);
        await g.gql(UPDATE, { ids, t: Math.round(load.random() * 100_000) / 100 });
      },
    },
    {
      writes: `${writesPerRun} updates of random old orders`,
      async write() {
        const ids = Array.from({ length: writesPerRun }, () => load.orderIds[Math.floor(load.random() * load.orderIds.length)]!);
        await g.gql(UPDATE, { ids, t: Math.round(load.random() * 100_000) / 100 });
      },
    },
  ];
  for (const kind of kinds) {
    // A new question (the suite's asks, or the kind before, kept it): the first ask is read its own
    // way, the second reads every row into the partials it keeps.
    cache.clear();
    const asks: number[] = [];
    while (asks.length < 2) {
      const started = performance.now();
      await g.gql(question.graphql);
      asks.push(performance.now() - started);
    }
    const before = { ...cache.stats };
    const ours: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < runs; i++) {
      await kind.write();
      let t = performance.now();
      await g.gql(question.graphql);
      ours.push(performance.now() - t);
      t = performance.now();
      await rawQuestion();
      raw.push(performance.now() - t);
    }
    const counters = Object.fromEntries(Object.entries(cache.stats).map(([k, v]) => [k, v - before[k as keyof typeof before]]));
    // The kept answer against the same question read in full, now (float sums to 9 digits: added
    // in another order, as DuckDB's parallel sums also are).
    const kept = question.answer(await g.gql(question.graphql));
    const full = question.answer(await withNothingKept(cache, () => g.gql(question.graphql)));
    const differs = difference(kept, full);
    const [o, r] = [timing(ours), timing(raw)];
    results.push({ writes: kind.writes, first_ms: asks[0]!, second_ms: asks[1]!, ours: o, raw: r, ours_over_raw: o.p50 / r.p50, cache: counters, answers: differs === null ? 'kept answer equals a full read (float sums to 9 digits)' : `KEPT ANSWER DIFFERS FROM A FULL READ: ${differs}` });
  }
  return results;
}

/** The dashboard rows as a text table. */
export function dashboardTable(rows: readonly DashboardResult[]): string {
  const lines = ['| writes between asks | first ask | second ask (keeps) | ours p50 / p95 | raw p50 / p95 | ours / raw | kept partials |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const cache = Object.entries(r.cache).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`| ${r.writes} | ${r.first_ms.toFixed(1)} ms | ${r.second_ms.toFixed(1)} ms | ${r.ours.p50.toFixed(1)} / ${r.ours.p95.toFixed(1)} ms | ${r.raw.p50.toFixed(1)} / ${r.raw.p95.toFixed(1)} ms | ${r.ours_over_raw.toFixed(2)}x | ${cache} |`);
  }
  return lines.join('\n');
}
