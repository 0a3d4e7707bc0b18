// The buffer's way into DuckDB: change_log rows (binary COPY) -> a raw staging table (appender,
// one DataChunk per 2,048 rows) -> the typed lake columns, derived in DuckDB from the snapshot JSON.
//
// No text hop: issue 10 found the CSV export broken by values over 2 MB, CR/CRLF, a non-ISO
// DateStyle and entities over 1,664 attributes. The snapshot is parsed once per row, by
// json_transform into a struct of the lake types (DuckDB casts each field; what does not convert
// reads as NULL instead of failing every later read of the entity).
import { BIGINT, BOOLEAN, DuckDBDataChunk, SMALLINT, UUID, VARCHAR, uuidValue, type DuckDBConnection } from '@duckdb/node-api';
import { TYPE_MAPPING, quoteIdent, type EntitySchema, type LakeAttribute } from '../catalog/index.js';
import { readBufferChanges, type ChangeBatch, type PgClient, type SlotRange } from '../oltp/index.js';
import { lakeColumnsOf } from './columns.js';

const STAGING_TYPES = [BIGINT, SMALLINT, UUID, BIGINT, VARCHAR, BOOLEAN];

/**
 * Creates (or replaces) `staging` (a quoted table name; TEMP tables are per connection) and appends the
 * buffered changes of `entity` in `range` to it, as read on `client` in the caller's snapshot.
 * Returns the number of rows. Read it with `bufferRowsSql`.
 */
export async function loadBuffer(
  client: PgClient,
  connection: DuckDBConnection,
  entity: EntitySchema,
  range: SlotRange,
  staging: { table: string; temporary?: boolean },
): Promise<number> {
  return loadChanges(connection, readBufferChanges(client, entity, range), staging);
}

/**
 * Creates (or replaces) `staging` and appends the change-shaped rows of `batches` to it (the buffer,
 * or the OLTP truth for rebuild and verify: oltp readTruthRows). Returns the number of rows.
 */
export async function loadChanges(
  connection: DuckDBConnection,
  batches: AsyncIterable<ChangeBatch>,
  staging: { table: string; temporary?: boolean },
): Promise<number> {
  await connection.run(
    `CREATE OR REPLACE ${staging.temporary ? 'TEMP ' : ''}TABLE ${staging.table}
       (time_slot BIGINT, schema_id SMALLINT, row_id UUID, deleted_at BIGINT, snapshot VARCHAR, inserted BOOLEAN)`,
  );
  // The appender takes the bare name (the caller quoted it through quoteIdent) and, for a TEMP
  // table, its catalog (temp.main).
  const appender = await connection.createAppender(unquote(staging.table), staging.temporary ? 'main' : null, staging.temporary ? 'temp' : null);
  let rows = 0;
  try {
    for await (const batch of batches) {
      const chunk = DuckDBDataChunk.create(STAGING_TYPES);
      // inserted is NULL (unknown) for change-shaped rows without an op (the OLTP truth).
      const inserted = batch.inserted.length === batch.timeSlots.length ? batch.inserted : batch.timeSlots.map(() => null);
      chunk.setColumns([batch.timeSlots, batch.schemaIds, batch.rowIds.map(uuidValue), batch.deletedAt, batch.snapshots, inserted]);
      appender.appendDataChunk(chunk);
      rows += batch.timeSlots.length;
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return rows;
}

/**
 * A SELECT of the lake columns of `attributes` (in order, after the system columns) over a table
 * `loadBuffer` filled. `deleted_at` 0 reads as NULL: both mean live (SPEC 3.1), the lake keeps one.
 */
export function bufferRowsSql(staging: string, attributes: readonly LakeAttribute[], options: { inserted?: boolean } = {}): string {
  // With `inserted`, the staged op (is it an insert) follows the lake columns.
  const system = 'time_slot, schema_id, row_id, NULLIF(deleted_at, 0) AS deleted_at';
  const op = options.inserted ? ', inserted' : '';
  if (attributes.length === 0) return `SELECT ${system}${op} FROM ${staging}`;
  // Names are catalog-validated ([a-z][a-z0-9_]*), so the struct description needs no escaping.
  const struct = JSON.stringify(Object.fromEntries(attributes.map((a) => [a.name, TYPE_MAPPING[a.type].duckdb])));
  const values = lakeColumnsOf(attributes)
    .slice(4)
    .map((c) => `v.${quoteIdent(c.name)} AS ${quoteIdent(c.name)}`);
  return `SELECT ${system}, ${values.join(', ')}${op}
            FROM (SELECT *, json_transform(snapshot, '${struct}') AS v FROM ${staging}) AS staged`;
}

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier;
}
