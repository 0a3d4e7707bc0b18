// Per-(project, schema) session advisory locks: one flush, one compaction of an entity at a time
// across every process sharing the database.
import type { EntitySchema } from '../catalog/index.js';
import type { PgClient, PgPool } from '../oltp/index.js';

/** Advisory lock namespaces ("LT", "LC"): flushes and compactions of an entity may overlap. */
export const LOCK_CLASS = { flush: 0x4c54, compact: 0x4c43 } as const;

/**
 * Runs `work` holding the `kind` lock of `entity` on a connection of its own, or returns null
 * when another session holds it.
 */
export async function withSchemaLock<T>(
  pool: PgPool,
  kind: keyof typeof LOCK_CLASS,
  entity: Pick<EntitySchema, 'project' | 'id'>,
  work: (client: PgClient) => Promise<T>,
): Promise<T | null> {
  const client = await pool.connect();
  const key = `${entity.project}/${entity.id}`;
  // A connection that failed mid-work is destroyed, not pooled; its session lock died with it.
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [
      LOCK_CLASS[kind],
      key,
    ]);
    if (!rows[0]!.locked) return null;
    try {
      return await work(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS[kind], key]).catch((error: Error) => {
        broken = error;
      });
    }
  } catch (error) {
    broken ??= error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(broken);
  }
}
