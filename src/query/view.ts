// The merge-on-read view of an entity's current rows over its tiers (SPEC 6, made correct per
// DESIGN 4.4). Three disjoint parts, none deduplicated per query, so a filter on the view reaches
// the Parquet scan and the tables under it:
//  1. rows with one version in the lake and none in the buffer: straight from their files, after
//     an anti-join against the row_ids changed in the lake or updated/deleted in the buffer (a row
//     inserted in the buffer has no lake version), or, where the snapshot has their positions
//     (positions.ts), against those; never a deleted row;
//  2. rows changed in the lake and not in the buffer: their newest lake version, materialized once
//     per flush (latest.ts);
//  3. rows in the buffer: the version that is newest in the query's snapshot, which the hot mirror
//     marks (hot.ts: superseded_at).
import { quoteIdent, type EntitySchema } from '../catalog/index.js';
import { lakeColumns, parquetScanSql } from '../lake/index.js';
import type { Filter } from './filter.js';
import { mayHoldSingles } from './positions.js';
import { filesHolding, rowIdsConditionSql, rowKeyGroups, rowLookupGroups } from './row-lookup.js';
import { ChangedRowSets, type EntityTiers, type TierFile } from './tiers.js';
import { mayMatch } from './zone-map.js';

/**
 * A relation (parenthesized subquery) of the entity's current, live rows with its lake columns.
 * With `rowIds`, the caller promises to read only those rows: files whose row_id range (from the
 * manifest) holds none of them are skipped, and part 1 reads of a file with the row key only the
 * row groups and rows whose keys are theirs (a UUID's row groups do not prune in DuckDB: a search
 * by one row_id read the whole row_id column of a 1M-row file, ~20 ms). With `filter`, the caller
 * promises to keep only rows it holds true for: part 1 skips files whose zone maps rule it out for
 * every row. Only part 1: the anti-join still takes every listed file's changed set, so a row whose
 * newest version lies in a skipped file never shows an older one. `only`, row_ids (not empty),
 * keeps just those rows, in every part and before each join (DuckDB does not push a semi-join on a
 * list through the union), and in files by their row key where they have one (row-lookup.ts): a
 * few rows' versions cost a few rows' work.
 */
export function currentRowsSql(tiers: EntityTiers, rowIds: readonly string[] | null = null, filter: Filter | null = null, only: readonly string[] | null = null): string {
  const allColumns = columnListSql(tiers.entity);
  const files = rowIds ? filesHolding(tiers.files, rowIds) : tiers.files;
  const scan = (of: readonly TierFile[]) => {
    // A few rows: only the row groups that may hold them, by their row keys.
    const groups = only ? rowLookupGroups(of, only) : rowIds ? rowKeyGroups(of, rowIds) : null;
    if (!groups) return parquetScanSql(tiers.entity, of);
    const scans = groups.map((group) => parquetScanSql(tiers.entity, group.files, tiers.entity.attributes, { where: group.where }));
    return scans.length === 1 ? scans[0]! : `(${scans.map((s) => `SELECT * FROM ${s} AS lookup`).join(' UNION ALL ')})`;
  };
  const onlyCondition = only && rowIdsConditionSql(only);
  const buffer = bufferOf(tiers, onlyCondition);
  const parts: string[] = [];
  const singles = singleFiles(files, filter);
  if (singles.length > 0) {
    const changedInLake = ChangedRowSets.rowIdsSql(files);
    const excluded = [changedInLake, buffer.supersedingIds].filter((s): s is string => s !== null);
    if (excluded.length === 0) {
      parts.push(`SELECT * FROM ${scan(singles)} AS single`);
    } else if (tiers.superseded && rowIds === null && only === null) {
      // By position (positions.ts): the rows' file_index and file_row_number, not their row_id.
      // The file index said with a CASE: a join with a VALUES list of them cost 3-5% more here.
      const fileIndex = `CASE p._file_id ${singles.map((f, i) => `WHEN ${f.fileId.toString()} THEN ${i}`).join(' ')} END::UBIGINT`;
      const replaced = `SELECT ${fileIndex} AS file_index, p._pos AS file_row_number FROM ${tiers.superseded} AS p
                         WHERE ${supersededIn(tiers, singles, 'p.')}`;
      parts.push(
        `SELECT ${allColumns} FROM ${parquetScanSql(tiers.entity, singles, tiers.entity.attributes, { positions: true })} AS single ANTI JOIN (${replaced}) AS replaced USING (file_index, file_row_number)`,
      );
    } else {
      parts.push(`SELECT * FROM ${scan(singles)} AS single ANTI JOIN (${excluded.map((s) => `SELECT row_id FROM ${s} AS x`).join(' UNION ALL ')}) AS changed USING (row_id)`);
    }
  }
  parts.push(...newerPartsSql(tiers, buffer, onlyCondition));
  if (parts.length === 0) return `(${noRowsSql(tiers.entity)})`;
  return `(SELECT * FROM (${parts.join(' UNION ALL ')}) AS merged)`;
}

/**
 * The current, live rows of currentRowsSql(tiers, null, filter) in another form, in two parts:
 * `files`, every row of the files its part 1 reads (each counts once), and `signed`, with a SIGN
 * each: the superseded ones among those again (-1, their values from the positions table) and its
 * parts 2 and 3 (1). Counts and sums of `files` plus those of `signed` taken with the signs
 * (partials.ts) equal those of the current rows, and no file row is probed: the files are read as
 * raw DuckDB reads them. `all` is the two in one relation, `files` with SIGN 1. Null when the
 * snapshot has no values of the superseded rows for its slot (positions.ts), or when no file row
 * is superseded (currentRowsSql reads the files as they are).
 */
export function signedRowsSql(tiers: EntityTiers, filter: Filter | null = null): SignedRows | null {
  const buffer = bufferOf(tiers, null);
  if (!tiers.supersededValues || (ChangedRowSets.rowIdsSql(tiers.files) === null && buffer.supersedingIds === null)) return null;
  const allColumns = columnListSql(tiers.entity);
  const parts: string[] = [];
  const singles = singleFiles(tiers.files, filter);
  // A skipped file's superseded rows go with it: its rows are neither added nor taken away.
  const files = singles.length > 0 ? `(SELECT ${allColumns} FROM ${parquetScanSql(tiers.entity, singles)} AS single)` : null;
  if (singles.length > 0) parts.push(`SELECT ${allColumns}, -1 AS ${SIGN} FROM ${tiers.supersededValues} WHERE ${supersededIn(tiers, singles)}`);
  parts.push(...newerPartsSql(tiers, buffer, null).map((part) => `SELECT *, 1 AS ${SIGN} FROM (${part}) AS newer`));
  const signed = `(SELECT * FROM (${parts.length ? parts.join(' UNION ALL ') : noRowsSql(tiers.entity, `, 1 AS ${SIGN}`)}) AS signed)`;
  const all = files ? `(SELECT * FROM (SELECT *, 1 AS ${SIGN} FROM ${files} AS file_rows UNION ALL SELECT * FROM ${signed} AS taken) AS signed)` : signed;
  return { all, files, signed };
}

/** An entity's current rows as signedRowsSql gives them: relations (parenthesized subqueries). */
export interface SignedRows {
  /** Every row of the files read, as they are (no SIGN column); null when no file is read. */
  files: string | null;
  /** The rows taken away (SIGN -1) and added (1) to those of `files`. */
  signed: string;
  /** `files` (SIGN 1) and `signed` in one relation. */
  all: string;
}

/** A statement of no rows with the entity's lake columns (and `extra` ones). */
function noRowsSql(entity: EntitySchema, extra = ''): string {
  return `SELECT ${lakeColumns(entity).map((c) => `NULL::${c.duckdb} AS ${quoteIdent(c.name)}`).join(', ')}${extra} WHERE false`;
}

/** The entity's lake columns, quoted, as a select list. */
function columnListSql(entity: EntitySchema): string {
  return lakeColumns(entity)
    .map((c) => quoteIdent(c.name))
    .join(', ');
}

/**
 * The condition on the positions (or their values) table (positions.ts) of the rows of `files`
 * superseded in this snapshot: the buffer's up to its slot, without a buffer only the lake's (slot 0).
 */
function supersededIn(tiers: EntityTiers, files: readonly TierFile[], alias = ''): string {
  return `${alias}_slot <= ${tiers.hot ? tiers.hot.upTo : 0n} AND ${alias}_file_id IN (${files.map((f) => f.fileId.toString()).join(', ')})`;
}

/** The files part 1 reads: those that may hold single-version rows and, for `filter`, may hold a match. */
function singleFiles(files: readonly TierFile[], filter: Filter | null): TierFile[] {
  // A file whose every row is listed as changed (a compaction's kept changes, a flush of updates
  // only) holds no single-version row: part 1 skips it.
  return files.filter((f) => mayHoldSingles(f) && !(filter && f.zones && !mayMatch(filter, f.zones)));
}

interface BufferRows {
  /** The buffer's rows in the snapshot's range (a FROM and WHERE), or null without a buffer. */
  rows: string | null;
  /** Relation of the buffered row_ids that may supersede a lake version, or null when none may. */
  supersedingIds: string | null;
}

function bufferOf(tiers: EntityTiers, only: string | null): BufferRows {
  const hot = tiers.hot;
  if (!hot) return { rows: null, supersedingIds: null };
  const rows = `${hot.table} WHERE time_slot > ${hot.above} AND time_slot <= ${hot.upTo}${only ? ` AND ${only}` : ''}`;
  // The buffered rows that may have a lake version: an insert's row_id is new to the store (hot.ts),
  // so a row with an insert in the range has none, and its later versions' ids, which this keeps,
  // match no lake row (not grouping them away saved ~1 ms a query at 20,000 buffered changes).
  // Without an update or delete of a lake row, no anti-join at all.
  return { rows, supersedingIds: hot.supersedesLake ? `(SELECT row_id FROM ${rows} AND NOT coalesce(inserted, false))` : null };
}

/**
 * Parts 2 and 3 (see the header), live rows only. Only they may hold a deleted row. Part 1 never
 * does: a delete is a change (op 'd') listed in its file's changed set (a flush lists every update
 * and delete; a compaction's and a rebuild's files hold live rows only, or list every row: a kept
 * file), and part 1 leaves out every listed row. Its soft-delete filter, evaluated on every file
 * row, took ~3 ms of a ~25 ms 1M-row scan here; the positions test checks the invariant.
 * deleted_at 0 means live too (SPEC 3.1): the buffer loader writes NULL, older files may hold 0.
 * Said with coalesce, not as an OR: pushed into the Parquet scans, the OR cost 8-11% more on a
 * selective 1M-row search here (same run), the coalesce 0-3%.
 */
function newerPartsSql(tiers: EntityTiers, buffer: BufferRows, only: string | null): string[] {
  const allColumns = columnListSql(tiers.entity);
  const live = (part: string) => `SELECT * FROM (${part}) AS part WHERE coalesce(deleted_at, 0) = 0`;
  const parts: string[] = [];
  if (tiers.latestChanged) {
    const latest = `(SELECT ${allColumns} FROM ${tiers.latestChanged}${only ? ` WHERE ${only}` : ''})`;
    parts.push(
      live(buffer.supersedingIds ? `SELECT * FROM ${latest} AS changed_in_lake ANTI JOIN ${buffer.supersedingIds} AS buffered USING (row_id)` : `SELECT * FROM ${latest} AS changed_in_lake`),
    );
  }
  if (buffer.rows) {
    parts.push(`SELECT ${allColumns} FROM ${buffer.rows} AND (superseded_at IS NULL OR superseded_at > ${tiers.hot!.upTo}) AND coalesce(deleted_at, 0) = 0`);
  }
  return parts;
}

/**
 * The column of `changedVersionsSql` and `signedRowsSql` that says whether a row comes (1) or goes
 * (-1). Its "_" keeps it apart from every attribute name (catalog NAME_PATTERN).
 */
export const SIGN = '_sign';

/**
 * The live buffered versions of the rows changed in (since, upTo] of the snapshot: each one's
 * version current at upTo (SIGN 1), and its version at the earlier slot `since` where the buffer
 * holds it (SIGN -1), in one relation with the lake columns: what a kept aggregate adds and takes
 * away (aggregate-cache.ts). `from` is the slot of the oldest version wanted (a changed row's
 * version at `since` when buffered, else since + 1).
 *
 * Found by slots alone, no row_id list: a version in (since, upTo] current at upTo is a changed
 * row's newest; a version at or below `since` superseded in (since, upTo] is a changed row's version
 * at `since` (its next version, the row's first change after `since`, lies in the range). Without
 * the list's join the statement took 5.2 against 5.8 ms (a dashboard's correction, 30 asks each).
 *
 * With `replaced`, also (SIGN -1) the changed rows' versions at `since` that are in the snapshot's
 * files (at or below `above`) and that the mirror keeps as replaced (hot.replaced): a version in a
 * file, replaced in (since, upTo], is the row's version at `since`.
 */
export function changedVersionsSql(entity: EntitySchema, hot: NonNullable<EntityTiers['hot']>, since: bigint, from: bigint, replaced: boolean): string {
  // No version wanted lies below `from`. Said so, the scan skips most of the mirror, appended copy by
  // copy in slot order (2.1 against 3.1 ms, 20,000 buffered, measured alone).
  const lowest = from > hot.above ? `time_slot >= ${from}` : `time_slot > ${hot.above}`;
  const comes = `(superseded_at IS NULL OR superseded_at > ${hot.upTo})`;
  const goes = `superseded_at > ${since} AND superseded_at <= ${hot.upTo}`;
  const buffered = `SELECT ${columnListSql(entity)}, CASE WHEN time_slot > ${since} THEN 1 ELSE -1 END AS ${SIGN}
             FROM ${hot.table} WHERE ${lowest} AND time_slot <= ${hot.upTo}
              AND (CASE WHEN time_slot > ${since} THEN ${comes} ELSE ${goes} END) AND coalesce(deleted_at, 0) = 0`;
  if (!replaced) return `(${buffered})`;
  if (!hot.replaced) throw new Error(`${entity.name}: the mirror keeps no replaced versions to take away`);
  return `(${buffered}
           UNION ALL
           SELECT ${columnListSql(entity)}, -1 AS ${SIGN} FROM ${hot.replaced} WHERE time_slot <= ${hot.above} AND ${goes})`;
}
