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

const STAGING_TYPES = [BIGINT, SMALLINT, UUID, BIGINT, VARCHAR, BOOLEAN, BIGINT, VARCHAR];

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
       (time_slot BIGINT, schema_id SMALLINT, row_id UUID, deleted_at BIGINT, snapshot VARCHAR, inserted BOOLEAN,
        previous_slot BIGINT, previous_values VARCHAR)`,
  );
  // The appender takes the bare name (the caller quoted it through quoteIdent) and, for a TEMP
  // table, its catalog (temp.main).
  const appender = await connection.createAppender(unquote(staging.table), staging.temporary ? 'main' : null, staging.temporary ? 'temp' : null);
  let rows = 0;
  try {
    for await (const batch of batches) {
      const chunk = DuckDBDataChunk.create(STAGING_TYPES);
      // inserted is NULL (unknown) for change-shaped rows without an op (the OLTP truth), and so is
      // the previous version of those without one.
      const given = <T>(column: T[]) => (column.length === batch.timeSlots.length ? column : batch.timeSlots.map(() => null));
      chunk.setColumns([
        batch.timeSlots,
        batch.schemaIds,
        batch.rowIds.map(uuidValue),
        batch.deletedAt,
        batch.snapshots,
        given(batch.inserted),
        given(batch.previousSlots),
        given(batch.previousValues),
      ]);
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
 * `following`: staged columns that follow the lake columns (`inserted`, say).
 */
export function bufferRowsSql(staging: string, attributes: readonly LakeAttribute[], following: readonly string[] = []): string {
  const system = 'time_slot, schema_id, row_id, NULLIF(deleted_at, 0) AS deleted_at';
  const op = following.map((column) => `, ${column}`).join('');
  if (attributes.length === 0) return `SELECT ${system}${op} FROM ${staging}`;
  const values = attributeNames(attributes).map((name) => `v.${name} AS ${name}`);
  return `SELECT ${system}, ${values.join(', ')}${op}
            FROM (SELECT *, json_transform(snapshot, '${structOf(attributes)}') AS v FROM ${staging}) AS staged`;
}

/**
 * The live versions the staged updates and deletes replaced, in `bufferRowsSql`'s columns, each
 * followed by `superseded_at`: the slot of the change that replaced it. A delete's snapshot holds
 * that version's values; an update's holds them but for the attributes it changed, whose values
 * before are in previous_values (a key there, even with null, is one it changed: not a JSON merge
 * patch, which would merge a json attribute's objects).
 */
export function replacedVersionsSql(staging: string, attributes: readonly LakeAttribute[]): string {
  const system = 'previous_slot AS time_slot, schema_id, row_id, NULL::BIGINT AS deleted_at';
  const where = `FROM ${staging} WHERE previous_slot IS NOT NULL`;
  if (attributes.length === 0) return `SELECT ${system}, time_slot AS superseded_at ${where}`;
  const struct = structOf(attributes);
  // Names are catalog-validated ([a-z][a-z0-9_]*): a JSON path without quoting.
  const values = attributeNames(attributes).map(
    (name, i) => `CASE WHEN json_exists(previous_values, '$.${attributes[i]!.name}') THEN p.${name} ELSE v.${name} END AS ${name}`,
  );
  return `SELECT ${system}, ${values.join(', ')}, time_slot AS superseded_at
            FROM (SELECT *, json_transform(snapshot, '${struct}') AS v, json_transform(previous_values, '${struct}') AS p ${where}) AS staged`;
}

/** The struct description json_transform reads a snapshot into (names are catalog-validated: no escaping). */
function structOf(attributes: readonly LakeAttribute[]): string {
  return JSON.stringify(Object.fromEntries(attributes.map((a) => [a.name, TYPE_MAPPING[a.type].duckdb])));
}

/** The attributes' lake column names, quoted, in the lake's order (after the system columns). */
function attributeNames(attributes: readonly LakeAttribute[]): string[] {
  return attributes.map((a) => quoteIdent(a.name));
}

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replaceAll('""', '"') : identifier;
}
