// The per-(project, schema) time_slot clock: strictly monotonic, and commit order is slot order.
import type { EntitySchema } from '../catalog/index.js';
import type { PgClient } from './pool.js';

export interface TimeSlots {
  first: bigint;
  /** The transaction's start in Unix ms, by the server's clock (what now() says in SQL). */
  now: bigint;
}

/**
 * Takes `count` consecutive slots for `entity` inside the caller's transaction and returns the first.
 * The clock row stays locked until that transaction ends, so a later commit always holds larger
 * slots than every earlier one (DESIGN 4.3).
 */
export async function takeTimeSlots(client: PgClient, entity: EntitySchema, count: number): Promise<TimeSlots> {
  const { rows } = await client.query<{ last: bigint; now: bigint }>(
    `UPDATE time_slot_clock
        SET last = greatest(last + $3, (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $3 - 1)
      WHERE project = $1 AND schema_id = $2
      RETURNING last, (extract(epoch FROM now()) * 1000)::bigint AS now`,
    [entity.project, entity.id, count],
  );
  const row = rows[0];
  if (row === undefined) throw new Error(`no time_slot clock for ${entity.project}/${entity.name}; was the catalog registered?`);
  return { first: row.last - BigInt(count) + 1n, now: row.now };
}
