// Readiness of the OLTP store for /readyz: Postgres answers a cheap query in time, on a migrated database.
import { MIGRATIONS } from './migrations.js';
import type { PgPool } from './pool.js';

export type Readiness = { ready: true } | { ready: false; reason: string };

const LATEST_MIGRATION = Math.max(...MIGRATIONS.map((m) => m.version));

/**
 * One query through the pool (so a pool whose connections all fail is seen as such): the highest
 * applied migration. Past `timeoutMs` the answer is "not ready"; the query itself may finish later.
 */
export async function checkReadiness(pool: PgPool, timeoutMs: number): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Readiness>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false, reason: `Postgres did not answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const probe = pool
    .query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations')
    .then(({ rows }): Readiness => {
      const version = rows[0]?.version ?? 0;
      return version >= LATEST_MIGRATION
        ? { ready: true }
        : { ready: false, reason: `migrations have not run (database at version ${version}, this gateway needs ${LATEST_MIGRATION})` };
    })
    .catch((error: Error & { code?: string }): Readiness =>
      error.code === '42P01'
        ? { ready: false, reason: 'migrations have not run (no schema_migrations table)' }
        : { ready: false, reason: `Postgres is unreachable: ${error.message}` },
    );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
