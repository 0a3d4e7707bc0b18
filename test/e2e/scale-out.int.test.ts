// Two gateway replicas (`serve` child processes) on one Postgres database and one lake, under a
// bounded load of writes to both and flush/compaction triggers: their workers and admin calls
// coordinate through the per-entity advisory locks, and the lake stays exactly-once.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveFiles, sqlString } from '../../src/lake/index.js';
import { freePort } from '../support/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const LOAD_SECONDS = Number(process.env.SCALE_OUT_SECONDS ?? 10);
const CLIENTS = 4;
const ADMIN_TOKEN = 'scale-out-admin-token';
const ORDERS = { project: 'demo', id: 2 };

interface Replica {
  url: string;
  child: ChildProcess;
  output: () => string;
}

let database: TestDatabase;
let root: string;
const replicas: Replica[] = [];

async function startReplica(name: string): Promise<Replica> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: path.join(root, name), // its own DuckDB spill files and read cache
      LAKE_URL: `file://${path.join(root, 'lake')}`, // the one lake
      ADMIN_TOKEN,
      WORKERS: 'true',
      // Workers that fire often, so both processes' flushes and compactions race for the locks.
      FLUSH_MAX_ROWS: '40',
      FLUSH_CHECK_INTERVAL_MS: '100',
      COMPACT_MIN_DELTA_FILES: '3',
      COMPACT_CHECK_INTERVAL_MS: '300',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`replica ${name} exited: ${output}`);
    const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`replica ${name} not ready in 30 s: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, child, output: () => output };
}

async function gql(replica: Replica, query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: { message: string }[] }> {
  const response = await fetch(`${replica.url}/graphql/demo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: { message: string }[] };
}

async function ok(replica: Replica, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await gql(replica, query, variables);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data;
}

async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-scale-out-'));
  // One after the other: the first runs the migrations.
  replicas.push(await startReplica('a'));
  replicas.push(await startReplica('b'));
}, 90_000);

afterAll(async () => {
  for (const replica of replicas) {
    replica.child.kill('SIGTERM');
    if (replica.child.exitCode === null) await Promise.race([once(replica.child, 'exit'), new Promise((r) => setTimeout(r, 5_000))]);
    replica.child.kill('SIGKILL');
  }
  await database?.drop();
  await fs.rm(root, { recursive: true, force: true });
});

/** What the clients were told: every acknowledged live order and its quantity. */
type Ledger = Map<string, number>;

/** One client: writes, updates and deletes its own orders and asks for flushes and compactions, alternating replicas. */
async function client(index: number, ledger: Ledger, until: number, tally: Record<string, number>, errors: string[]): Promise<void> {
  const mine: string[] = [];
  let seed = index * 7919 + 1;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  for (let op = 0; Date.now() < until; op++) {
    const replica = replicas[(index + op) % replicas.length]!;
    const choice = random();
    const count = (kind: string) => (tally[kind] = (tally[kind] ?? 0) + 1);
    let res: { data?: any; errors?: { message: string }[] };
    if (choice < 0.55 || mine.length < 3) {
      const objects = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) => ({ quantity: op * 10 + i, total: op + i / 4, note: `c${index} op${op}` }));
      res = await gql(replica, `mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { returning { row_id quantity } } }`, { o: objects });
      for (const row of res.data?.insert_orders?.returning ?? []) {
        ledger.set(row.row_id, Number(row.quantity));
        mine.push(row.row_id);
      }
      count('insert');
    } else if (choice < 0.75) {
      const id = mine[Math.floor(random() * mine.length)]!;
      res = await gql(replica, `mutation($id: UUID!, $q: BigInt!) { update_orders_by_pk(row_id: $id, _set: {quantity: $q}) { quantity } }`, { id, q: op });
      if (res.data?.update_orders_by_pk) ledger.set(id, Number(res.data.update_orders_by_pk.quantity));
      count('update');
    } else if (choice < 0.85) {
      const id = mine.splice(Math.floor(random() * mine.length), 1)[0]!;
      res = await gql(replica, `mutation($id: UUID!) { delete_orders_by_pk(row_id: $id) { row_id } }`, { id });
      if (res.data?.delete_orders_by_pk) ledger.delete(id);
      count('delete');
    } else if (choice < 0.93) {
      res = await gql(replica, `mutation { flush(entity: "orders", force: true) { flushed reason } }`);
      count(res.data?.flush?.flushed ? 'flush: flushed' : `flush: ${res.data?.flush?.reason ?? 'error'}`);
    } else {
      res = await gql(replica, `mutation { compact(entity: "orders", force: true) { compacted reason } }`);
      count(res.data?.compact?.compacted ? 'compact: compacted' : `compact: ${res.data?.compact?.reason ?? 'error'}`);
    }
    if (res.errors) errors.push(...res.errors.map((e) => e.message));
  }
}

/** Intervals of finished jobs of one kind on orders that overlap: two processes held one lock at once. */
async function overlappingJobs(kind: 'flush' | 'compact'): Promise<string[]> {
  const { rows } = await withClient((c) =>
    c.query<{ job_id: string; started_at: Date; finished_at: Date }>(
      `SELECT job_id, started_at, finished_at FROM lake_job
        WHERE kind = $1 AND project = $2 AND schema_id = $3 AND finished_at IS NOT NULL ORDER BY started_at, job_id`,
      [kind, ORDERS.project, ORDERS.id],
    ),
  );
  const overlaps: string[] = [];
  for (let i = 1; i < rows.length; i++) {
    if (rows[i]!.started_at < rows[i - 1]!.finished_at) overlaps.push(`${rows[i - 1]!.job_id} and ${rows[i]!.job_id}`);
  }
  return overlaps;
}

describe('two gateway replicas on one database and one lake', () => {
  it('under writes to both and concurrent flushes and compactions, the lake holds every acknowledged change exactly once', { timeout: 120_000 }, async () => {
    const ledger: Ledger = new Map();
    const tally: Record<string, number> = {};
    const errors: string[] = [];
    const until = Date.now() + LOAD_SECONDS * 1_000;
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i, ledger, until, tally, errors)));
    console.log(`scale-out load over ${LOAD_SECONDS} s: ${JSON.stringify(tally)}`);
    expect(errors).toEqual([]);
    expect(tally.insert ?? 0).toBeGreaterThan(0);

    // Drain the buffer (either replica's worker or this call may be the one that flushes).
    for (let i = 0; i < 50; i++) {
      const buffered = await withClient((c) => c.query<{ n: string }>('SELECT count(*) AS n FROM change_log'));
      if (Number(buffered.rows[0]!.n) === 0) break;
      await ok(replicas[i % 2]!, `mutation { flush(entity: "orders", force: true) { flushed } }`);
    }
    expect(Number((await withClient((c) => c.query<{ n: string }>('SELECT count(*) AS n FROM change_log'))).rows[0]!.n)).toBe(0);

    // Every replica's answer and verify agree with what the clients were told.
    const expectedSum = [...ledger.values()].reduce((a, b) => a + b, 0);
    for (const replica of replicas) {
      const verify = (await ok(replica, `mutation { verify(entity: "orders") { ok truth_rows lake_rows missing extra different duplicated error } }`)).verify;
      expect(verify).toEqual({ ok: true, truth_rows: ledger.size, lake_rows: ledger.size, missing: 0, extra: 0, different: 0, duplicated: 0, error: null });
      const aggregate = (await ok(replica, `{ orders_aggregate { aggregate { count sum { quantity } } } }`)).orders_aggregate.aggregate;
      expect(aggregate.count).toBe(ledger.size);
      expect(Number(aggregate.sum.quantity ?? 0)).toBe(expectedSum);
    }

    // Exactly once at the level of changes: no (row_id, time_slot) in two live files, every live order in them.
    const files = await withClient((c) => liveFiles(c, ORDERS));
    expect(files.length).toBeGreaterThan(0);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const paths = files.map((f) => sqlString(path.join(root, 'lake', f.path)));
      const counts = (
        await connection.runAndReadAll(
          `SELECT count(*)::BIGINT AS changes, count(DISTINCT (row_id, time_slot))::BIGINT AS distinct_changes FROM read_parquet([${paths.join(', ')}], union_by_name = true)`,
        )
      ).getRowObjects()[0]!;
      expect(counts.changes).toBe(counts.distinct_changes);
      // The newest version of each row in the files alone (the buffer is empty) is the clients' ledger.
      const newest = await connection.runAndReadAll(
        `SELECT row_id::VARCHAR AS row_id, quantity FROM read_parquet([${paths.join(', ')}], union_by_name = true)
          QUALIFY row_number() OVER (PARTITION BY row_id ORDER BY time_slot DESC) = 1 AND (deleted_at IS NULL OR deleted_at = 0)`,
      );
      const inLake = new Map(newest.getRowObjects().map((r) => [r.row_id as string, Number(r.quantity as bigint)]));
      expect(inLake).toEqual(ledger);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }

    // The locks held: no two flushes, and no two compactions, of the entity ran at once in either process.
    expect(await overlappingJobs('flush')).toEqual([]);
    expect(await overlappingJobs('compact')).toEqual([]);
    const { rows: done } = await withClient((c) =>
      c.query<{ kind: string; n: string }>(`SELECT kind, count(*) AS n FROM lake_job WHERE status = 'done' AND schema_id = $1 GROUP BY kind`, [ORDERS.id]),
    );
    const doneBy = Object.fromEntries(done.map((r) => [r.kind, Number(r.n)]));
    expect(doneBy.flush).toBeGreaterThan(1);
    expect(doneBy.compact).toBeGreaterThan(0);
    for (const replica of replicas) expect(replica.child.exitCode, replica.output()).toBeNull();
  });
});
