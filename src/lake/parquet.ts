// The lake's writer: rows -> ZSTD Parquet files with typed columns, sorted by row_id then time_slot.
import fs from 'node:fs/promises';
import { quoteIdent, type EntitySchema, type LakeAttribute } from '../catalog/index.js';
import { lakeColumnsOf, ROW_KEY_COLUMN, rowKeySql } from './columns.js';
import { sqlString, type DuckDb } from './duckdb.js';

/**
 * Rows per row group, DuckDB's unit of parallelism and of min/max pruning. A quarter of DuckDB's
 * default (122,880): files are sorted by row_id, so a smaller group's ranges of the row key (and of
 * what follows insertion order, such as a creation time) are narrower and prune more. On the 1M-row
 * base file of the lab (same machine, same run, 2 threads): 10 random rows by row key 15 -> 7 ms;
 * a filter on a ref with the 50 newest by a time field 92 -> 59-64 ms (the top-N's dynamic filter
 * skips more groups); a full group-by and a count with a filter unchanged; the file 1.7% larger.
 */
const ROW_GROUP_ROWS = 32_768;

export interface WrittenFile {
  localFile: string;
  rows: number;
  rowIdMin: string;
  rowIdMax: string;
  slotMin: bigint;
  slotMax: bigint;
  bytes: number;
  columns: string[];
}

/**
 * Writes the rows of `select` (every lake column of `attributes`, by default the entity's, in
 * order, already sorted) as a ZSTD Parquet file and describes it. Each row gets its row key too
 * (columns.ts), listed with the file's columns.
 */
export async function writeParquet(
  duck: DuckDb,
  entity: EntitySchema,
  select: string,
  parquetFile: string,
  attributes: readonly LakeAttribute[] = entity.attributes,
): Promise<WrittenFile> {
  return duck.use(async (connection) => {
    const columns = lakeColumnsOf(attributes).map((c) => c.name);
    // Named, so a select of every column of a file that has the key already gives it once.
    const keyed = `SELECT ${columns.map(quoteIdent).join(', ')}, ${rowKeySql()} AS ${ROW_KEY_COLUMN} FROM (${select}) AS written`;
    await connection.run(`COPY (${keyed}) TO ${sqlString(parquetFile)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`);
    const reader = await connection.runAndReadAll(
      `SELECT count(*)::BIGINT AS rows, min(row_id)::VARCHAR AS row_id_min, max(row_id)::VARCHAR AS row_id_max,
              min(time_slot) AS slot_min, max(time_slot) AS slot_max
         FROM read_parquet(${sqlString(parquetFile)})`,
    );
    const stats = reader.getRowObjects()[0]!;
    const { size } = await fs.stat(parquetFile);
    return {
      localFile: parquetFile,
      rows: Number(stats.rows as bigint),
      // null only for a file without rows
      rowIdMin: stats.row_id_min as string,
      rowIdMax: stats.row_id_max as string,
      slotMin: stats.slot_min as bigint,
      slotMax: stats.slot_max as bigint,
      bytes: size,
      columns: [...columns, ROW_KEY_COLUMN],
    };
  });
}
