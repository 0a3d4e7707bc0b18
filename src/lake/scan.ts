// DuckDB relation over a set of an entity's lake files, in the entity's current column layout.
import { quoteIdent, type EntitySchema, type LakeAttribute } from '../catalog/index.js';
import { lakeColumns, ROW_KEY_COLUMN } from './columns.js';
import { sqlString } from './duckdb.js';

export interface ScannedFile {
  /** Local path DuckDB reads. */
  localPath: string;
  /** The lake columns the file was written with (from the manifest). */
  columns: readonly string[];
  /**
   * A DuckDB table holding exactly the file's rows, in its order: its columns and file_row_number
   * (query/file-tables.ts). Read instead of the file where set.
   */
  table?: string | null;
}

/**
 * A parenthesized subquery over `files` (each read from its DuckDB table where it has one) with
 * the lake columns of `attributes` (by default the entity's own), in order. A column none of the
 * files has (an attribute added after they were written) reads as NULL; columns of the files that
 * are not asked for are not read.
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
  const columns = lakeColumns(entity, attributes);
  const where = options.where ? ` WHERE ${options.where}` : '';
  // Each file's place in `files`: the file_index a scan with `positions` gives its rows.
  const fromFiles = files.flatMap((file, place) => (file.table ? [] : [{ file, place }]));
  const parts: string[] = [];
  if (fromFiles.length > 0) {
    // The read's own file_index counts the files it reads; mapped to their places where some are tables.
    const index = fromFiles.length === files.length ? 'file_index' : `CASE file_index ${fromFiles.map((f, i) => `WHEN ${i} THEN ${f.place}`).join(' ')} END::UBIGINT AS file_index`;
    const read = fromFiles.map((f) => f.file);
    parts.push(`SELECT ${selectList(columns, read, options.positions ? [index, 'file_row_number'] : [])} FROM ${readParquetSql(read, options.positions)}${where}`);
  }
  files.forEach((f, i) => {
    if (f.table) parts.push(`SELECT ${selectList(columns, [f], options.positions ? [`${i}::UBIGINT AS file_index`, 'file_row_number'] : [])} FROM ${f.table}${where}`);
  });
  return `(${parts.join(' UNION ALL ')})`;
}

/** The lake columns of `files` (NULL for a column none of them has), and `extra`. */
function selectList(columns: ReturnType<typeof lakeColumns>, files: readonly ScannedFile[], extra: readonly string[]): string {
  const present = new Set(files.flatMap(lakeColumnsOfFile));
  return [...columns.map((c) => (present.has(c.name) ? quoteIdent(c.name) : `NULL::${c.duckdb} AS ${quoteIdent(c.name)}`)), ...extra].join(', ');
}

function readParquetSql(files: readonly ScannedFile[], positions = false): string {
  const present = new Set(files.flatMap(lakeColumnsOfFile));
  // union_by_name makes DuckDB read every file's schema first: only when the files' column sets
  // differ. Equal sets in another order are matched by name without it (test/lake/scan.test.ts).
  const differ = files.some((f) => lakeColumnsOfFile(f).length !== present.size);
  return `read_parquet([${files.map((f) => sqlString(f.localPath)).join(', ')}]${differ ? ', union_by_name = true' : ''}${positions ? ', file_row_number = true' : ''})`;
}

/** The row key is not a lake column: a file with it and one without are read together as they are. */
const lakeColumnsOfFile = (file: ScannedFile) => file.columns.filter((c) => c !== ROW_KEY_COLUMN);
