// The per-(project, schema) time_slot clock: strictly monotonic, and commit order is slot order.
import type { EntitySchema } from '../catalog/index.js';
import type { PgClient } from './pool.js';

/**
 * Takes `count` consecutive slots for `entity` inside the caller's transaction and returns the first.
 * The clock row stays locked until that transaction ends, so a later commit always holds larger
 * slots than every earlier one (DESIGN 4.3).
 */
export async function takeTimeSlots(client: PgClient, entity: EntitySchema, count: number): Promise<bigint> {
  const { rows } = await client.query<{ last: bigint }>(
    `UPDATE time_slot_clock
        SET last = greatest(last + $3, (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $3 - 1)
      WHERE project = $1 AND schema_id = $2
      RETURNING last`,
    [entity.project, entity.id, count],
  );
  const last = rows[0]?.last;
  if (last === undefined) throw new Error(`no time_slot clock for ${entity.project}/${entity.name}; was the catalog registered?`);
  return last - BigInt(count) + 1n;
}
