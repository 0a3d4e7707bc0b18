// The mirror's log (hot-log.ts) answers a kept aggregate's "which rows changed since" without a
// DuckDB statement, and tells a copy whether it supersedes any version the mirror holds (else the
// copy skips its UPDATE). It must give what the statement over the mirror table gives, for every
// `since` of a query's range, and every read must show each live row once with its newest values,
// through inserts, updates, deletes, flushes, prunes and a log that outgrew its cap (then it
// answers null, and the caller asks the table or runs the UPDATE).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EntitySchema } from '../../src/catalog/index.js';
import type { DuckDb } from '../../src/lake/index.js';
import { changedRowsSql, type ChangedRow } from '../../src/query/hot-log.js';
import { takeSnapshot } from '../../src/query/snapshot.js';
import { currentRowsSql } from '../../src/query/view.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { openSnapshotParts, type SnapshotParts } from '../support/snapshot-parts.js';

/** A seeded generator, so a failure repeats. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('hot mirror: the log of changes', () => {
  let gw: TestGateway;
  let duck: DuckDb;
  let customers: EntitySchema;

  beforeEach(async () => {
    gw = await startTestGateway();
    customers = gw.catalog.entity('customers');
  });
  afterEach(async () => {
    duck?.close();
    await gw?.close();
  });

  /** Snapshot parts on a DuckDB of their own, the mirror's log bounded at `logLimit`. */
  const open = async (logLimit?: number): Promise<SnapshotParts['deps']> => {
    const parts = await openSnapshotParts(gw, 'hot-log-', logLimit);
    duck = parts.duck;
    return parts.deps;
  };

  /** The rows the statement aggregate-cache.ts falls back to gives. */
  const fromTable = async (hot: { table: string; above: bigint; upTo: bigint; replaced: string | null }, since: bigint): Promise<ChangedRow[]> =>
    duck.use(async (c) => {
      const reader = await c.runAndReadAll(changedRowsSql(hot, since, null));
      return reader.getRowObjectsJS() as unknown as ChangedRow[];
    });
  const byRow = (rows: readonly ChangedRow[]) => [...rows].sort((a, b) => (a.rowId < b.rowId ? -1 : 1));

  /** Random writes and flushes; after each step, a query compares the log with the table for several `since`. */
  const walk = async (deps: SnapshotParts['deps'], seed: number, steps: number) => {
    const next = random(seed);
    const live: string[] = [];
    const names = new Map<string, string>();
    let compared = 0;
    let unknown = 0;
    // A snapshot held across later steps keeps the mirror from pruning what a flush took to the
    // lake: then the log holds changes at or below a newer query's range, which it must not count.
    let held: { snapshot: Awaited<ReturnType<typeof takeSnapshot>>; until: number } | null = null;
    let belowRange = 0;
    for (let step = 0; step < steps; step++) {
      if (held && step >= held.until) {
        held.snapshot.release();
        held = null;
      }
      const roll = next();
      if (roll < 0.35 || live.length === 0) {
        const rows = await gw.oltp.writer.insert(customers, Array.from({ length: 1 + Math.floor(next() * 3) }, (_, i) => ({ name: `n${step}_${i}` })));
        live.push(...rows.map((r) => r.row_id));
        for (const row of rows) names.set(row.row_id, String(row.values.name));
      } else if (roll < 0.75) {
        const id = live[Math.floor(next() * live.length)]!;
        await gw.oltp.writer.update(customers, id, { name: `u${step}` });
        names.set(id, `u${step}`);
      } else if (roll < 0.85) {
        const [id] = live.splice(Math.floor(next() * live.length), 1);
        await gw.oltp.writer.softDelete(customers, id!);
        names.delete(id!);
      } else {
        await gw.lakehouse.admin.flush(customers, true);
      }
      // Some steps write twice before a query copies, so one copy brings several changes of a row.
      if (next() < 0.3) continue;
      const snapshot = await takeSnapshot(deps, [customers]);
      let keep = false;
      try {
        const seen = await duck.use(async (c) => {
          const reader = await c.runAndReadAll(`SELECT row_id::VARCHAR AS row_id, name FROM ${currentRowsSql(snapshot.tiers(customers))} AS current ORDER BY row_id`);
          return reader.getRowObjectsJS().map((r) => `${String(r.row_id)}:${String(r.name)}`);
        });
        expect(seen, `step ${step}: the rows a read shows`).toEqual([...names].map(([id, name]) => `${id}:${name}`).sort());
        const tiers = snapshot.tiers(customers).hot;
        if (!tiers) continue;
        if (held && held.snapshot !== snapshot && tiers.above > (held.snapshot.tiers(customers).hot?.above ?? tiers.above)) belowRange++;
        keep = !held && next() < 0.25;
        if (keep) held = { snapshot, until: step + 4 };
        for (const since of [tiers.above, tiers.above + BigInt(Math.floor(Number(tiers.upTo - tiers.above) * next())), tiers.upTo]) {
          const logged = tiers.changedSince(since, 1_000);
          if (logged === null) {
            unknown++;
            continue;
          }
          expect(byRow(logged), `step ${step}, since ${since} of (${tiers.above}, ${tiers.upTo}]`).toEqual(byRow(await fromTable(tiers, since)));
          compared++;
        }
      } finally {
        if (!keep) snapshot.release();
      }
    }
    held?.snapshot.release();
    return { compared, unknown, belowRange };
  };

  it('gives the rows the mirror table gives, with where each one was, at every step', async () => {
    const { compared, unknown, belowRange } = await walk(await open(), 7, 80);
    expect(unknown).toBe(0);
    expect(compared).toBeGreaterThan(60);
    // Queries whose range began above a held snapshot's: a flush came between, unpruned.
    expect(belowRange).toBeGreaterThan(0);
  });

  it('past its cap the log starts again and answers null for a range that begins below, never a wrong set', async () => {
    const { compared, unknown } = await walk(await open(4), 11, 60);
    expect(unknown).toBeGreaterThan(0);
    expect(compared).toBeGreaterThan(0);
  });

  it('caps what it gathers at the limit plus one', async () => {
    const deps = await open();
    await gw.oltp.writer.insert(customers, Array.from({ length: 12 }, (_, i) => ({ name: `c${i}` })));
    const snapshot = await takeSnapshot(deps, [customers]);
    try {
      const tiers = snapshot.tiers(customers).hot!;
      expect(tiers.changedSince(tiers.above, 5)).toHaveLength(6);
      expect(tiers.changedSince(tiers.above, 12)).toHaveLength(12);
    } finally {
      snapshot.release();
    }
  });
});
