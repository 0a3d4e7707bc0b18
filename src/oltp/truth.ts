// The OLTP truth of an entity as the lake should hold it: every live row's current version, read
// from the EAV tables (not the change_log) in the caller's snapshot, for rebuild and verify.
import { to as copyTo } from 'pg-copy-streams';
import type { EntitySchema } from '../catalog/index.js';
import { copyChangeBatches, type ChangeBatch } from './copy-binary.js';
import type { PgClient } from './pool.js';

// Each value in the change_log snapshot form the writer produces (catalog toSnapshotJson), so the
// lake side derives its typed columns from it exactly as it does for the buffer (lake/buffer.ts):
// ints as text (exact past 2^53), timestamps as UTC ISO text with microseconds, dates as
// YYYY-MM-DD whatever DateStyle says. Floats go through float8out, shortest-exact with
// extra_float_digits > 0 (set for the transaction below).
const SNAPSHOT_VALUE = `CASE a.type
    WHEN 'int' THEN to_jsonb(v.v_int::text)
    WHEN 'float' THEN to_jsonb(v.v_float)
    WHEN 'boolean' THEN to_jsonb(v.v_bool)
    WHEN 'timestamp' THEN to_jsonb(to_char(v.v_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    WHEN 'date' THEN to_jsonb(to_char(v.v_date, 'YYYY-MM-DD'))
    WHEN 'ref' THEN to_jsonb(v.v_uuid)
    WHEN 'json' THEN v.v_json
    ELSE to_jsonb(v.v_text) END`;

/**
 * The live rows of `entity` (soft-deleted ones excluded), each as (time_slot of its current
 * version, schema_id, row_id, deleted_at NULL, snapshot jsonb of every stored attribute's value),
 * the shape of a buffered change, in column batches through binary COPY. Run it inside the caller's
 * transaction (REPEATABLE READ when the answer must match a slot) and consume it to the end.
 */
export async function* readTruthRows(client: PgClient, entity: Pick<EntitySchema, 'project' | 'id'>): AsyncGenerator<ChangeBatch> {
  // COPY takes no bind parameters; the values travel as transaction-local settings instead.
  await client.query(
    `SELECT set_config('ltbase.project', $1, true), set_config('ltbase.schema_id', $2, true),
            set_config('extra_float_digits', '1', true), set_config('TimeZone', 'UTC', true)`,
    [entity.project, String(entity.id)],
  );
  const copy = client.query(
    copyTo(`COPY (
      SELECT e.time_slot, e.schema_id, e.row_id, e.deleted_at,
             coalesce((SELECT jsonb_object_agg(a.name, ${SNAPSHOT_VALUE})
                         FROM eav_value v JOIN eav_attribute a ON a.attribute_id = v.attribute_id
                        WHERE v.row_id = e.row_id), '{}'::jsonb) AS snapshot
        FROM eav_entity e
       WHERE e.project = current_setting('ltbase.project')
         AND e.schema_id = current_setting('ltbase.schema_id')::smallint
         AND e.deleted_at IS NULL
    ) TO STDOUT (FORMAT binary)`),
  );
  yield* copyChangeBatches(copy);
}

/**
 * The newest slot any committed change of `entity` has in the caller's snapshot (the clock's value;
 * 0 before the first change). Slot order is commit order (DESIGN 4.3): every change at or below it
 * is visible in this snapshot, and every change committed later has a larger slot.
 */
export async function committedSlot(client: PgClient, entity: Pick<EntitySchema, 'project' | 'id'>): Promise<bigint> {
  const { rows } = await client.query<{ last: bigint }>('SELECT last FROM time_slot_clock WHERE project = $1 AND schema_id = $2', [
    entity.project,
    entity.id,
  ]);
  return rows[0]?.last ?? 0n;
}

/** The current slot (and delete mark) of each of `rowIds` that exists at all, live or deleted. */
export async function currentSlots(db: Pick<PgClient, 'query'>, rowIds: readonly string[]): Promise<Map<string, bigint>> {
  if (rowIds.length === 0) return new Map();
  const { rows } = await db.query<{ row_id: string; time_slot: bigint }>('SELECT row_id, time_slot FROM eav_entity WHERE row_id = ANY($1::uuid[])', [rowIds]);
  return new Map(rows.map((r) => [r.row_id, r.time_slot]));
}
