// Shared by the benchmark scripts: a throwaway Postgres database and small statistics helpers.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { startEmbeddedPostgres } from '../src/oltp/index.js';
import { freePort } from '../test/support/ports.js';

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database on BENCH_DATABASE_URL / DATABASE_URL's server, else on an embedded Postgres. */
export async function benchDatabase(name: string): Promise<BenchDatabase> {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  let stopServer = async () => {};
  let adminUrl: string;
  if (serverUrl) {
    adminUrl = serverUrl;
  } else {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-bench-'));
    await fs.chmod(dir, 0o755); // the postgres user the server runs as (when we are root) must enter it
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join(dir, 'pg'),
      port: await freePort(),
      database: 'postgres',
      log: pino({ level: 'warn' }),
    });
    adminUrl = embedded.adminUrl;
    stopServer = async () => {
      await embedded.stop();
      await fs.rm(dir, { recursive: true, force: true });
    };
  }
  const database = `${name}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await client.end();
      await stopServer();
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** A GraphQL caller over a fetch function (HTTP or yoga.fetch in process); errors throw. */
export function graphqlCaller(
  fetcher: (url: string, init: RequestInit) => Promise<Response> | Response,
  url: string,
): (query: string, variables?: Record<string, unknown>) => Promise<any> {
  return async (query, variables = {}) => {
    const response = await fetcher(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: { message: string }[] };
    if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data;
  };
}
