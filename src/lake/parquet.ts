// The lake's writer: rows -> ZSTD Parquet files with typed columns, sorted by row_id then time_slot.
import fs from 'node:fs/promises';
import type { EntitySchema, LakeAttribute } from '../catalog/index.js';
import { lakeColumnsOf } from './columns.js';
import { sqlString, type DuckDb } from './duckdb.js';

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
 * order, already sorted) as a ZSTD Parquet file and describes it. Row groups of 122,880 rows,
 * DuckDB's own unit of parallelism.
 */
export async function writeParquet(
  duck: DuckDb,
  entity: EntitySchema,
  select: string,
  parquetFile: string,
  attributes: readonly LakeAttribute[] = entity.attributes,
): Promise<WrittenFile> {
  return duck.use(async (connection) => {
    await connection.run(`COPY (${select}) TO ${sqlString(parquetFile)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
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
      columns: lakeColumnsOf(attributes).map((c) => c.name),
    };
  });
}
