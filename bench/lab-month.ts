// Write amplification over a simulated month: each "day" a share of an entity's rows is updated and
// a few rows are inserted through the write path, the day's buffer is flushed into a delta file,
// and the entity is compacted (what the compaction worker does once its oldest delta file is a day
// old: COMPACT_MAX_DELTA_AGE_MS). Amplification: every byte flushes and compactions wrote, over
// the bytes of the entity's live files at the end (its current data).
import { compactSchema } from '../src/compaction/index.js';
import { demoCustomer } from '../src/cli/demo-data.js';
import { percentile, type BenchGateway, type DemoLoad } from './support.js';

export interface MonthResult {
  entity: string;
  days: number;
  rows_at_start: number;
  updates_per_day: number;
  inserts_per_day: number;
  flushed_bytes: number;
  compacted_bytes: number;
  current_bytes: number;
  write_amplification: number;
  compaction_ms_p50: number;
  compaction_ms_max: number;
  flush_rows_per_s_p50: number;
}

/** The month on the customers entity: `updateShare` of its rows updated a day, a fifth of that inserted. */
export async function simulateMonth(g: BenchGateway, load: DemoLoad, days: number, updateShare: number, tick?: (day: number) => void): Promise<MonthResult> {
  const customers = g.catalog.entity('customers');
  // Start from one compacted file, as the compaction worker leaves it (not counted).
  await compactSchema(g.lakehouse.compactDeps, customers, { force: true, trigger: 'bench' });
  const rows = load.customerIds.length;
  const updates = Math.max(1, Math.round(rows * updateShare));
  const inserts = Math.max(1, Math.round(updates / 5));
  let flushed = 0;
  let compacted = 0;
  const compactionMs: number[] = [];
  const flushRates: number[] = [];
  for (let day = 1; day <= days; day++) {
    await load.updateCustomers(updates);
    const added = await g.oltp.writer.insert(customers, Array.from({ length: inserts }, () => demoCustomer(load.random)));
    load.customerIds.push(...added.map((r) => r.row_id));
    const flush = await g.lakehouse.admin.flush(customers, true);
    flushed += flush.bytes;
    if (flush.flushed && flush.duration_ms > 0) flushRates.push(flush.rows / (flush.duration_ms / 1000));
    const outcome = await compactSchema(g.lakehouse.compactDeps, customers, { force: true, trigger: 'bench' });
    if (outcome.status === 'compacted') {
      compacted += outcome.added.reduce((n, a) => n + a.bytes, 0);
      compactionMs.push(outcome.durationMs);
    }
    tick?.(day);
  }
  const status = (await g.lakehouse.admin.lakeStatus(customers.project)).find((s) => s.entity === customers.name)!;
  const current = status.base_bytes + status.delta_bytes;
  compactionMs.sort((a, b) => a - b);
  flushRates.sort((a, b) => a - b);
  return {
    entity: customers.name,
    days,
    rows_at_start: rows,
    updates_per_day: updates,
    inserts_per_day: inserts,
    flushed_bytes: flushed,
    compacted_bytes: compacted,
    current_bytes: current,
    write_amplification: (flushed + compacted) / current,
    compaction_ms_p50: percentile(compactionMs, 50),
    compaction_ms_max: compactionMs[compactionMs.length - 1] ?? Number.NaN,
    flush_rows_per_s_p50: percentile(flushRates, 50),
  };
}
