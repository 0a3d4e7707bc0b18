// DuckDB relation over a set of an entity's lake files, in the entity's current column layout.
import { quoteIdent, type EntitySchema } from '../catalog/index.js';
import { lakeColumns } from './columns.js';
import { sqlString } from './duckdb.js';

export interface ScannedFile {
  /** Local path DuckDB reads. */
  localPath: string;
  /** The lake columns the file was written with (from the manifest). */
  columns: readonly string[];
}

/**
 * A parenthesized subquery over `files` with every lake column of `entity`, in order. A column
 * none of the files has (an attribute added after they were written) reads as NULL.
 */
export function parquetScanSql(entity: EntitySchema, files: readonly ScannedFile[]): string {
  const present = new Set(files.flatMap((f) => f.columns));
  const select = lakeColumns(entity).map((c) => (present.has(c.name) ? quoteIdent(c.name) : `NULL::${c.duckdb} AS ${quoteIdent(c.name)}`));
  // union_by_name makes DuckDB read every file's schema first: only when the files differ.
  const differ = files.some((f) => f.columns.length !== present.size);
  return `(SELECT ${select.join(', ')} FROM read_parquet([${files.map((f) => sqlString(f.localPath)).join(', ')}]${differ ? ', union_by_name = true' : ''}))`;
}
