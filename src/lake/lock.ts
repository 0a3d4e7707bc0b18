// Per-(project, schema) session advisory locks: one flush, one compaction of an entity at a time
// across every process sharing the database.
import type { EntitySchema } from '../catalog/index.js';
import type { PgClient, PgPool } from '../oltp/index.js';

/** Advisory lock namespaces ("LT", "LC"): flushes and compactions of an entity may overlap. */
export const LOCK_CLASS = { flush: 0x4c54, compact: 0x4c43 } as const;

export type SchemaLockKind = keyof typeof LOCK_CLASS;

/**
 * Runs `work` holding the `kind` lock of `entity` on a connection of its own, or returns null
 * when another session holds it.
 */
export async function withSchemaLock<T>(
  pool: PgPool,
  kind: SchemaLockKind,
  entity: Pick<EntitySchema, 'project' | 'id'>,
  work: (client: PgClient) => Promise<T>,
): Promise<T | null> {
  return withSchemaLocks(pool, [kind], entity, work);
}

/**
 * Runs `work` holding every lock in `kinds` of `entity` at once on one connection, or returns null
 * when another session holds any of them. Every lock is only tried, never waited for, so two
 * callers taking them in different orders cannot deadlock.
 */
export async function withSchemaLocks<T>(
  pool: PgPool,
  kinds: readonly SchemaLockKind[],
  entity: Pick<EntitySchema, 'project' | 'id'>,
  work: (client: PgClient) => Promise<T>,
): Promise<T | null> {
  const client = await pool.connect();
  const key = `${entity.project}/${entity.id}`;
  const held: SchemaLockKind[] = [];
  // A connection that failed mid-work is destroyed, not pooled; its session locks died with it.
  let broken: Error | undefined;
  try {
    try {
      for (const kind of kinds) {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [
          LOCK_CLASS[kind],
          key,
        ]);
        if (!rows[0]!.locked) return null;
        held.push(kind);
      }
      return await work(client);
    } finally {
      for (const kind of held.reverse()) {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS[kind], key]).catch((error: Error) => {
          broken ??= error;
        });
      }
    }
  } catch (error) {
    broken ??= error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(broken);
  }
}
