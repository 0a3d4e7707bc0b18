// DuckDB relation over a set of an entity's lake files, in the entity's current column layout.
import { quoteIdent, type EntitySchema, type LakeAttribute } from '../catalog/index.js';
import { lakeColumns, ROW_KEY_COLUMN } from './columns.js';
import { sqlString } from './duckdb.js';

export interface ScannedFile {
  /** Local path DuckDB reads. */
  localPath: string;
  /** The lake columns the file was written with (from the manifest). */
  columns: readonly string[];
}

/**
 * A parenthesized subquery over `files` with the lake columns of `attributes` (by default the
 * entity's own), in order. A column none of the files has (an attribute added after they were
 * written) reads as NULL; columns of the files that are not asked for are not read.
 * `positions` adds each row's file_index (its file's place in `files`) and file_row_number.
 * `where`, a condition on the files' own columns (the row key too, where every file has it), is
 * applied in the scan.
 */
export function parquetScanSql(
  entity: EntitySchema,
  files: readonly ScannedFile[],
  attributes: readonly LakeAttribute[] = entity.attributes,
  options: { positions?: boolean; where?: string } = {},
): string {
  // The row key is not a lake column: a file with it and one without are read together as they are.
  const lakeColumnsOfFile = (file: ScannedFile) => file.columns.filter((c) => c !== ROW_KEY_COLUMN);
  const present = new Set(files.flatMap(lakeColumnsOfFile));
  const select = lakeColumns(entity, attributes).map((c) => (present.has(c.name) ? quoteIdent(c.name) : `NULL::${c.duckdb} AS ${quoteIdent(c.name)}`));
  // union_by_name makes DuckDB read every file's schema first: only when the files' column sets
  // differ. Equal sets in another order are matched by name without it (test/lake/scan.test.ts).
  const differ = files.some((f) => lakeColumnsOfFile(f).length !== present.size);
  // With `positions`, each row's place too: the index of its file in `files` and its row number there.
  if (options.positions) select.push('file_index', 'file_row_number');
  return `(SELECT ${select.join(', ')} FROM read_parquet([${files.map((f) => sqlString(f.localPath)).join(', ')}]${differ ? ', union_by_name = true' : ''}${options.positions ? ', file_row_number = true' : ''})${options.where ? ` WHERE ${options.where}` : ''})`;
}
