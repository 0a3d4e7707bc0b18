// The merge-on-read view of an entity's current rows over its tiers (SPEC 6, made correct per
// DESIGN 4.4): rows with a single version anywhere are read straight from their file, so a filter
// on the view reaches the Parquet scan; only rows with several versions (the files' updates and
// deletes, and every buffered row) go through last-write-wins deduplication first.
import { quoteIdent } from '../catalog/index.js';
import { lakeColumns, sqlString } from '../lake/index.js';
import type { EntityTiers } from './snapshot.js';
import { ChangedRowSets } from './snapshot.js';

/** A relation (parenthesized subquery) of the entity's current, live rows with its lake columns. */
export function currentRowsSql(tiers: EntityTiers): string {
  const columns = lakeColumns(tiers.entity);
  const inSomeFile = new Set(tiers.files.flatMap((f) => f.columns));
  // A column no live file has (an attribute added after they were written) is NULL in them.
  const coldColumns = columns
    .map((c) => (inSomeFile.has(c.name) ? quoteIdent(c.name) : `NULL::${c.duckdb} AS ${quoteIdent(c.name)}`))
    .join(', ');
  const allColumns = columns.map((c) => quoteIdent(c.name)).join(', ');
  const cold = tiers.files.length
    ? `(SELECT ${coldColumns} FROM read_parquet([${tiers.files.map((f) => sqlString(f.localPath)).join(', ')}], union_by_name = true))`
    : null;
  const hot = tiers.hot
    ? `(SELECT ${allColumns} FROM ${tiers.hot.table} WHERE time_slot > ${tiers.hot.above} AND time_slot <= ${tiers.hot.upTo})`
    : null;

  if (!cold && !hot) {
    return `(SELECT ${columns.map((c) => `NULL::${c.duckdb} AS ${quoteIdent(c.name)}`).join(', ')} WHERE false)`;
  }
  const dedup = (source: string) =>
    `(SELECT ${allColumns} FROM ${source} AS versions
       QUALIFY row_number() OVER (PARTITION BY row_id ORDER BY time_slot DESC) = 1)`;
  if (!cold) return `(SELECT * FROM ${dedup(hot!)} AS latest WHERE deleted_at IS NULL)`;

  const fileIds = tiers.files.map((f) => f.fileId.toString()).join(', ');
  const changed = `(SELECT row_id FROM ${ChangedRowSets.TABLE} WHERE file_id IN (${fileIds})${hot ? ` UNION SELECT row_id FROM ${hot}` : ''})`;
  const single = `SELECT * FROM ${cold} AS single_version ANTI JOIN ${changed} AS changed USING (row_id)`;
  const several = `SELECT * FROM ${cold} AS older SEMI JOIN ${changed} AS changed USING (row_id)${hot ? ` UNION ALL SELECT * FROM ${hot}` : ''}`;
  return `(SELECT * FROM (${single} UNION ALL SELECT * FROM ${dedup(`(${several})`)}) AS merged WHERE deleted_at IS NULL)`;
}
