// The change_log buffer: its statistics and its bulk read (binary COPY) for the mirror and the flush.
import { to as copyTo } from 'pg-copy-streams';
import { TYPE_MAPPING, nameLiteral, quoteIdent, uuidToBigInt, type EntitySchema, type LakeAttribute } from '../catalog/index.js';
import { copyChangeBatches, type ChangeBatch } from './copy-binary.js';
import type { PgClient, PgPool } from './pool.js';

/** Postgres expression reading an attribute's typed value out of a change_log snapshot. */
export function snapshotValueSql(attribute: LakeAttribute, snapshot = 'snapshot'): string {
  const key = nameLiteral(attribute.name);
  if (attribute.type === 'json') return `(${snapshot} -> ${key})`;
  return `(${snapshot} ->> ${key})::${TYPE_MAPPING[attribute.type].postgres}`;
}

/**
 * Column list of the typed change_log: the lake's columns, in the lake's order. `attributes`: by
 * default the entity's own; a flush passes every stored one (storedAttributes), so values written
 * by processes on other definitions reach the lake.
 */
export function changeLogColumnsSql(entity: EntitySchema, alias = 'c', attributes: readonly LakeAttribute[] = entity.attributes): string {
  return [
    `${alias}.time_slot`,
    `${alias}.schema_id`,
    `${alias}.row_id`,
    `${alias}.deleted_at`,
    ...attributes.map((a) => `${snapshotValueSql(a, `${alias}.snapshot`)} AS ${quoteIdent(a.name)}`),
  ].join(', ');
}

export interface BufferStats {
  rows: number;
  /** Smallest buffered time_slot (ms), null when the buffer is empty. */
  oldestSlot: bigint | null;
  newestSlot: bigint | null;
}

export async function bufferStats(db: PgPool | PgClient, entity: EntitySchema): Promise<BufferStats> {
  const { rows } = await db.query<{ rows: string; oldest: bigint | null; newest: bigint | null }>(
    `SELECT count(*) AS rows, min(time_slot) AS oldest, max(time_slot) AS newest
       FROM change_log WHERE project = $1 AND schema_id = $2`,
    [entity.project, entity.id],
  );
  return { rows: Number(rows[0]!.rows), oldestSlot: rows[0]!.oldest, newestSlot: rows[0]!.newest };
}

/** Buffered row counts and oldest slots of every (project, schema) with buffered rows. */
export async function allBufferStats(db: PgPool): Promise<{ project: string; schemaId: number; stats: BufferStats }[]> {
  const { rows } = await db.query<{ project: string; schema_id: number; rows: string; oldest: bigint; newest: bigint }>(
    `SELECT project, schema_id, count(*) AS rows, min(time_slot) AS oldest, max(time_slot) AS newest
       FROM change_log GROUP BY project, schema_id`,
  );
  return rows.map((r) => ({
    project: r.project,
    schemaId: r.schema_id,
    stats: { rows: Number(r.rows), oldestSlot: r.oldest, newestSlot: r.newest },
  }));
}

/** Buffered changes with aboveSlot < time_slot <= upToSlot. */
export interface SlotRange {
  aboveSlot: bigint;
  upToSlot: bigint;
}

/**
 * Reads the buffered changes of `entity` in `range` as column batches, through binary COPY (one
 * round trip, no text format). The typed columns are derived from the snapshot by the reader's
 * side (the lake, in DuckDB): a typed column per attribute here would hit Postgres' limit of 1,664
 * select entries and print dates by the session's DateStyle. Each change says whether it is an
 * insert (`inserted`): a row inserted in the buffer has no lake version to supersede; and which
 * version it replaced (`previousSlots`, `previousValues`). Run it inside a transaction (the range
 * travels as transaction-local settings) and consume it to the end.
 */
export async function* readBufferChanges(client: PgClient, entity: EntitySchema, range: SlotRange): AsyncGenerator<ChangeBatch> {
  // COPY takes no bind parameters; the values travel as transaction-local settings instead.
  await client.query(
    `SELECT set_config('ltbase.project', $1, true), set_config('ltbase.schema_id', $2, true),
            set_config('ltbase.up_to_slot', $3, true), set_config('ltbase.above_slot', $4, true)`,
    [entity.project, String(entity.id), range.upToSlot.toString(), range.aboveSlot.toString()],
  );
  const copy = client.query(
    copyTo(`COPY (
      SELECT time_slot, schema_id, row_id, deleted_at, snapshot, op = 'c', previous_slot, previous_values FROM change_log
       WHERE project = current_setting('ltbase.project')
         AND schema_id = current_setting('ltbase.schema_id')::smallint
         AND time_slot <= current_setting('ltbase.up_to_slot')::bigint
         AND time_slot > current_setting('ltbase.above_slot')::bigint
    ) TO STDOUT (FORMAT binary)`),
  );
  yield* copyChangeBatches(copy);
}

/** The row_ids buffered at or below `upToSlot` whose change is an update or delete (for a flush's manifest). */
export async function changedRowIds(client: PgClient, entity: EntitySchema, upToSlot: bigint): Promise<string[]> {
  const { rows } = await client.query<{ row_id: string }>(
    `SELECT DISTINCT row_id FROM change_log
      WHERE project = $1 AND schema_id = $2 AND time_slot <= $3 AND op <> 'c'`,
    [entity.project, entity.id, upToSlot.toString()],
  );
  return rows.map((r) => r.row_id);
}

/** At most how many buffered changes a listing carries (ListedChanges): rows, and stored bytes of their snapshots. */
export interface ListedChangesLimit {
  rows: number;
  bytes: number;
}

/**
 * A subquery for a LATERAL join, over the change_log buffer of `alias`'s project and schema_id:
 * its changes above `alias`.changes_above, oldest first, as one JSON array `changes` of
 * [time_slot, row_id, deleted_at, is an insert, snapshot text, previous_slot, previous_values text]
 * (ListedChange), or NULL when changes_above is NULL or there are more than the limits (the
 * parameters `rowsParam`, `bytesParam`). Part of a larger statement, so they come in that
 * statement's snapshot; read them with `listedChangeBatch`. Text for the numbers: JSON numbers
 * lose a bigint's precision; the snapshot as the binary COPY gives it.
 */
export function listedChangesSql(alias: string, rowsParam: string, bytesParam: string): string {
  return `SELECT CASE WHEN ${alias}.changes_above IS NULL OR count(*) > ${rowsParam} OR coalesce(sum(pg_column_size(x.snapshot) + coalesce(pg_column_size(x.previous_values), 0)), 0) > ${bytesParam} THEN NULL
                      ELSE coalesce(json_agg(json_build_array(x.time_slot::text, x.row_id, x.deleted_at::text, x.op = 'c', x.snapshot::text, x.previous_slot::text, x.previous_values::text) ORDER BY x.time_slot), '[]') END AS changes
            FROM (SELECT c.time_slot, c.row_id, c.deleted_at, c.op, c.snapshot, c.previous_slot, c.previous_values FROM change_log c
                   WHERE c.project = ${alias}.project AND c.schema_id = ${alias}.schema_id AND c.time_slot > ${alias}.changes_above
                   ORDER BY c.time_slot LIMIT ${rowsParam} + 1) AS x`;
}

/** One change as `listedChangesSql` gives it (see there). */
export type ListedChange = [string, string, string | null, boolean, string, string | null, string | null];

/** The changes `listedChangesSql` gave (its JSON, as pg parsed it) as one batch, as readBufferChanges gives them. */
export function listedChangeBatch(schemaId: number, changes: readonly ListedChange[]): ChangeBatch {
  return {
    timeSlots: changes.map((c) => BigInt(c[0])),
    schemaIds: changes.map(() => schemaId),
    rowIds: changes.map((c) => uuidToBigInt(c[1])),
    deletedAt: changes.map((c) => (c[2] === null ? null : BigInt(c[2]))),
    snapshots: changes.map((c) => c[4]),
    inserted: changes.map((c) => c[3] === true),
    previousSlots: changes.map((c) => (c[5] === null ? null : BigInt(c[5]))),
    previousValues: changes.map((c) => c[6]),
  };
}
