// A few rows of lake files, found by row_id: a kept aggregate's corrections (the earlier versions
// of rows changed since), the positions of rows updated in the buffer. The files' row-group
// statistics of row_id, a UUID, do not prune in DuckDB; those of the row key (lake/columns.ts) do,
// so a file written with the key is searched by key first.
import { hasRowKey, ROW_KEY_COLUMN, rowKeyOf } from '../lake/index.js';
import { uuidLiteral } from './hot-log.js';
import type { TierFile } from './tiers.js';

/** `row_id IN (…)` of `rowIds` (valid UUIDs the process holds), as literals. */
export function rowIdsConditionSql(rowIds: readonly string[]): string {
  return `row_id IN (${rowIds.map(uuidLiteral).join(', ')})`;
}

/** Files whose manifest row_id range holds one of `rowIds` (the others hold none of them). */
export function filesHolding<F extends Pick<TierFile, 'rowIdMin' | 'rowIdMax'>>(files: readonly F[], rowIds: readonly string[]): F[] {
  return files.filter((f) => rowIds.some((id) => id >= f.rowIdMin && id <= f.rowIdMax));
}

/**
 * `files` in groups to scan apart, each with the condition on its own columns that keeps only the
 * rows of `rowIds`: by row key and row_id where the group's files have the key (its collisions are
 * rare, row_id decides), by row_id alone where they do not (files written before the key was).
 * `rowIds` is not empty.
 */
export function rowLookupGroups<F extends Pick<TierFile, 'columns'>>(files: readonly F[], rowIds: readonly string[]): { files: F[]; where: string }[] {
  const byId = rowIdsConditionSql(rowIds);
  const keys = [...new Set(rowIds.map((id) => rowKeyOf(id).toString()))];
  const keyed = files.filter(hasRowKey);
  const unkeyed = files.filter((f) => !hasRowKey(f));
  return [
    ...(keyed.length ? [{ files: keyed, where: `${ROW_KEY_COLUMN} IN (${keys.join(', ')}) AND ${byId}` }] : []),
    ...(unkeyed.length ? [{ files: unkeyed, where: byId }] : []),
  ];
}
