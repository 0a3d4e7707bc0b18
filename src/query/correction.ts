// A kept aggregate's correction (aggregate-cache.ts): the rows changed since the kept partials'
// slot, and the statement that adds and takes away their figures.
import { quoteIdent } from '../catalog/index.js';
import type { AggregatePlan } from './aggregate-plan.js';
import { groupByFirst, keyColumn } from './compile-aggregate.js';
import type { Params } from './duckdb-sql.js';
import type { SnapshotReader } from './engine.js';
import type { Filter } from './filter.js';
import { changedRowsSql, type ChangedRow } from './hot-log.js';
import { COUNT, extremesOf, KEPT, partialSql, removed, signedRowPartialsSql, STALE, summedSums, value, withOwnRows } from './partials.js';
import type { EntityTiers } from './tiers.js';
import { changedVersionsSql, currentRowsSql } from './view.js';

/** More changed rows than this since the kept state: reading every row again is as cheap. */
export const MAX_CORRECTED_ROWS = 5_000;

/** The rows changed in (since, upTo] of a snapshot. */
export interface Changes {
  since: bigint;
  /** How many rows changed. */
  rows: number;
  /**
   * Those whose version at `since` is in a lake file (neither buffered then nor inserted since), and
   * the mirror does not keep as replaced: looked up in the files.
   */
  inLake: string[];
  /** How many rows' version at `since` is in a lake file and kept by the mirror as replaced (HotRead.replaced). */
  replaced: number;
  /** The slot of the oldest buffered version wanted: a changed row's version at `since`, else since + 1. */
  from: bigint;
}

/**
 * The rows changed since `since` in the reader's buffer range, and where each one's version at
 * `since` is: in the buffer (a version at or below it), nowhere (inserted after it), or else in the
 * lake, kept by the mirror as the version the row's next change replaced (captured with that
 * change) or not. The mirror's log knows them without a statement; past its cap, the mirror table
 * is asked (and its replaced versions not used).
 * Null when more than MAX_CORRECTED_ROWS changed.
 */
export async function changesSince(reader: SnapshotReader, hot: NonNullable<EntityTiers['hot']>, since: bigint): Promise<Changes | null> {
  const changed =
    hot.changedSince(since, MAX_CORRECTED_ROWS) ??
    ((await reader.run({ sql: changedRowsSql(hot, since, MAX_CORRECTED_ROWS + 1), params: [] })) as unknown as ChangedRow[]);
  if (changed.length > MAX_CORRECTED_ROWS) return null;
  let from = since + 1n;
  for (const { sinceSlot } of changed) if (sinceSlot !== null && sinceSlot < from) from = sinceSlot;
  const lake = changed.filter((r) => r.sinceSlot === null && !r.born);
  const inLake = lake.filter((r) => !r.replaced).map((r) => r.rowId);
  return { since, rows: changed.length, inLake, replaced: lake.length - inLake.length, from };
}

/**
 * The partials of the reader's snapshot from those of `kept` (a relation, exact at `changes.since`),
 * corrected by the changed rows. Every changed row has a version in (since, upTo]: now, and at
 * `since` for those buffered then, the buffer alone holds their versions, read in one pass with a
 * sign each and added up with the kept partials in one grouping (no file, no anti-join: a small
 * statement, and DuckDB's fixed cost per operator is most of it; dashboard asks 21.1 / 21.3 ms
 * against 23.3 / 23.2 with the changed rows grouped first, two runs of 60 alternating). So do the
 * versions in lake files that the mirror keeps as replaced; the others' are looked up in the files.
 */
export function correctedSql(plan: AggregatePlan, reader: SnapshotReader, tiers: EntityTiers, kept: string, changes: Changes, params: Params): string {
  const rowsOf = (own: (filter: Filter | null) => string) => withOwnRows(plan, reader.view, own);
  const { since, inLake, from, replaced } = changes;
  const versions = changedVersionsSql(plan.entity, tiers.hot!, since, from, replaced > 0);
  const parts = [`SELECT *, true AS ${KEPT} FROM ${kept}`, signedRowPartialsSql(plan, rowsOf(() => versions), params)];
  if (inLake.length) {
    parts.push(partialSql(plan, rowsOf((filter) => currentRowsSql({ ...tiers, hot: null }, inLake, filter, inLake)), params, -1, true));
  }
  const keys = plan.groupBy.map((k) => quoteIdent(keyColumn(k)));
  // A kept min (max) is still the group's while no row taken away held a value at or below
  // (above) it; else the group's extreme is unknown, and the partials are read again in full.
  const extremes = extremesOf(plan).flatMap((m) => [`${m.fn}(${value(m)}) AS ${value(m)}`, `${m.fn}(${removed(m)}) FILTER (WHERE false) AS ${removed(m)}`]);
  const stale = extremesOf(plan).map((m) => `coalesce(${m.fn}(${removed(m)}) ${m.fn === 'min' ? '<=' : '>='} ${m.fn}(${value(m)}) FILTER (WHERE ${KEPT}), false)`);
  const select = [...keys, `sum(${COUNT})::BIGINT AS ${COUNT}`, ...summedSums(plan), ...extremes, `(${[`bool_or(${STALE})`, ...stale].join(' OR ')}) AS ${STALE}`].join(', ');
  // A group whose rows all went is dropped; without keys the one row stays, as a count of 0.
  const emptied = keys.length ? ` HAVING sum(${COUNT}) <> 0` : '';
  return `SELECT ${select} FROM (${parts.map((p) => `(${p})`).join(' UNION ALL ')}) AS parts${groupByFirst(keys.length)}${emptied}`;
}
