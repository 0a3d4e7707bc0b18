// The merge-on-read view of an entity's current rows over its tiers (SPEC 6, made correct per
// DESIGN 4.4). Three disjoint parts, so a filter on the view reaches the Parquet scans:
//  1. rows with a single version in the lake and none in the buffer: read straight from their
//     files (an anti-join against the changed row_ids, after the filter was pushed into the scan);
//  2. rows changed in the lake (updated or deleted there) and not in the buffer: their newest lake
//     version is an update or delete, so it lives in a file that lists the row in its changed set;
//     only those files are read for them, and deduplicated last write wins;
//  3. rows in the buffer: the newest version of each, whatever the lake holds.
import { quoteIdent } from '../catalog/index.js';
import { lakeColumns, sqlString } from '../lake/index.js';
import type { EntityTiers, TierFile } from './snapshot.js';
import { ChangedRowSets } from './snapshot.js';

/**
 * A relation (parenthesized subquery) of the entity's current, live rows with its lake columns.
 * With `rowIds`, the caller promises to read only those rows: files whose row_id range (from the
 * manifest) holds none of them are skipped.
 */
export function currentRowsSql(all: EntityTiers, rowIds: readonly string[] | null = null): string {
  const tiers = rowIds
    ? { ...all, files: all.files.filter((f) => rowIds.some((id) => id >= f.rowIdMin && id <= f.rowIdMax)) }
    : all;
  const columns = lakeColumns(tiers.entity);
  const allColumns = columns.map((c) => quoteIdent(c.name)).join(', ');
  const scan = (files: readonly TierFile[]) => {
    const present = new Set(files.flatMap((f) => f.columns));
    // A column none of these files has (an attribute added after they were written) is NULL.
    const select = columns.map((c) => (present.has(c.name) ? quoteIdent(c.name) : `NULL::${c.duckdb} AS ${quoteIdent(c.name)}`));
    // union_by_name makes DuckDB read every file's schema first: only when the files differ.
    const differ = files.some((f) => f.columns.length !== present.size);
    return `(SELECT ${select.join(', ')} FROM read_parquet([${files.map((f) => sqlString(f.localPath)).join(', ')}]${differ ? ', union_by_name = true' : ''}))`;
  };
  const newest = (source: string) =>
    `(SELECT ${allColumns} FROM ${source} AS versions QUALIFY row_number() OVER (PARTITION BY row_id ORDER BY time_slot DESC) = 1)`;

  const hot = tiers.hot
    ? `(SELECT ${allColumns} FROM ${tiers.hot.table} WHERE time_slot > ${tiers.hot.above} AND time_slot <= ${tiers.hot.upTo})`
    : null;
  const parts: string[] = [];
  if (tiers.files.length > 0) {
    const withChanges = tiers.files.filter((f) => f.changedRows > 0);
    const changedInLake = withChanges.length
      ? `(SELECT row_id FROM ${ChangedRowSets.TABLE} WHERE file_id IN (${withChanges.map((f) => f.fileId.toString()).join(', ')}))`
      : null;
    const hotIds = hot ? `(SELECT row_id FROM ${hot} AS h)` : null;
    const excluded = [changedInLake, hotIds].filter((s): s is string => s !== null);
    parts.push(
      excluded.length
        ? `SELECT * FROM ${scan(tiers.files)} AS single ANTI JOIN (${excluded.map((s) => `SELECT row_id FROM ${s} AS x`).join(' UNION ')}) AS changed USING (row_id)`
        : `SELECT * FROM ${scan(tiers.files)} AS single`,
    );
    if (changedInLake) {
      const wanted = hotIds ? `(SELECT row_id FROM ${changedInLake} AS c EXCEPT SELECT row_id FROM ${hotIds} AS h)` : changedInLake;
      parts.push(`SELECT * FROM ${newest(`(SELECT * FROM ${scan(withChanges)} AS lake SEMI JOIN ${wanted} AS wanted USING (row_id))`)} AS changed_in_lake`);
    }
  }
  if (hot) parts.push(`SELECT * FROM ${newest(hot)} AS buffered`);
  if (parts.length === 0) return `(SELECT ${columns.map((c) => `NULL::${c.duckdb} AS ${quoteIdent(c.name)}`).join(', ')} WHERE false)`;
  return `(SELECT * FROM (${parts.join(' UNION ALL ')}) AS merged WHERE deleted_at IS NULL)`;
}
