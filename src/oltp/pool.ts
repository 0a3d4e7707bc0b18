// The Postgres pool, with type parsers that keep int8 exact and dates as calendar strings.
import pg from 'pg';

const { Pool, types } = pg;

// Per-pool parsers instead of pg's global registry (STYLE: no global mutable state).
const parsers: Record<number, (text: string) => unknown> = {
  [types.builtins.INT8]: (text) => BigInt(text),
  [types.builtins.DATE]: (text) => text,
};

const customTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    parsers[oid] ?? types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

export function createPool(
  databaseUrl: string,
  options: { max?: number; applicationName?: string; onConnectionError?: (error: Error) => void } = {},
): PgPool {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'ltbase-gateway',
    types: customTypes,
  });
  // A connection the server closed (restart, shutdown, pg_terminate_backend) must not crash the
  // process: idle ones are reported by the pool, checked-out ones by the client (their query
  // rejects as well). The pool drops a broken connection and opens a new one on demand.
  const report = options.onConnectionError ?? (() => undefined);
  pool.on('error', report);
  pool.on('connect', (client) => client.on('error', report));
  return pool;
}

/** Runs `work` in one transaction on a connection of the pool; rolls back on any error. */
export async function inTransaction<T>(
  pool: PgPool,
  work: (client: PgClient) => Promise<T>,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ' = 'READ COMMITTED',
): Promise<T> {
  const client = await pool.connect();
  try {
    return await inClientTransaction(client, work, isolation);
  } finally {
    client.release();
  }
}

/** Runs `work` in one transaction on `client` (one that holds a session lock, say); rolls back on any error. */
export async function inClientTransaction<T>(
  client: PgClient,
  work: (client: PgClient) => Promise<T>,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ' = 'READ COMMITTED',
): Promise<T> {
  await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
  try {
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
