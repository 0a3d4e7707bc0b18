// A few rows of lake files, found by row_id: a kept aggregate's corrections (the earlier versions
// of rows changed since), the positions of rows updated in the buffer, a search whose filter pins
// row_id. The files' row-group statistics of row_id, a UUID, do not prune in DuckDB; those of the
// row key (lake/columns.ts) do, so a file written with the key is searched by key first.
import { isUuid } from '../catalog/index.js';
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
  const { keyed, unkeyed } = byRowKey(files);
  return [
    ...(keyed.length ? [{ files: keyed, where: `${rowKeysConditionSql(rowIds)} AND ${byId}` }] : []),
    ...(unkeyed.length ? [{ files: unkeyed, where: byId }] : []),
  ];
}

/** More row_ids than this are not looked up by key: they would hold most row groups anyway. */
export const MAX_KEYED_ROWS = 1_000;

/**
 * `files` in groups to scan apart, where the group's files have the row key with a condition that
 * keeps the row groups and rows that may hold one of `rowIds`, as their keys say; the caller
 * still filters by row_id (its own bound values). Null beyond MAX_KEYED_ROWS or without a keyed
 * file: scan them as they are. `rowIds` is not empty.
 */
export function rowKeyGroups<F extends Pick<TierFile, 'columns'>>(files: readonly F[], rowIds: readonly string[]): { files: F[]; where?: string }[] | null {
  const { keyed, unkeyed } = byRowKey(files);
  // Not a UUID: no row matches it, and the caller's own filter says so (or refuses it).
  if (keyed.length === 0 || rowIds.length > MAX_KEYED_ROWS || !rowIds.every(isUuid)) return null;
  return [{ files: keyed, where: rowKeysConditionSql(rowIds) }, ...(unkeyed.length ? [{ files: unkeyed }] : [])];
}

const byRowKey = <F extends Pick<TierFile, 'columns'>>(files: readonly F[]) => ({ keyed: files.filter(hasRowKey), unkeyed: files.filter((f) => !hasRowKey(f)) });

/** `_row_key IN (…)` of `rowIds`' keys (UUIDs): integers computed here, so literals. */
function rowKeysConditionSql(rowIds: readonly string[]): string {
  return `${ROW_KEY_COLUMN} IN (${[...new Set(rowIds.map((id) => rowKeyOf(id).toString()))].join(', ')})`;
}
