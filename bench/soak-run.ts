// The soak (issue 11, deliverable 6): concurrent writers, searches, flushes, compactions, rebuilds
// and injected faults on loopback only (a real Postgres, the loopback S3 server, a child gateway
// process), bounded by a duration, ending with `verify` of every entity. Rows lost must be 0: every
// acknowledged write is in the truth as acknowledged, and the lake answers exactly the truth.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { demoCustomer, demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { openLakehouse, type LakehouseSettings } from '../src/cli/lakehouse.js';
import { loadCatalog } from '../src/catalog/index.js';
import { buildSchema, createGatewayYoga, type VerifyResult } from '../src/graphql/index.js';
import { openOltpStore } from '../src/oltp/index.js';
import S3rver from '@20minutes/s3rver';
import { graphqlCaller } from './support.js';
import { errorKind } from './soak-kinds.js';

export interface SoakOptions {
  durationMs: number;
  /** The database to use (created and dropped by the caller). */
  databaseUrl: string;
  writers?: number;
  searchers?: number;
  /** A fault is injected this often (kill/restart of the child gateway, connection kills, S3 outages, in turn). */
  faultEveryMs?: number;
  progress?: (line: string) => void;
}

export interface SoakReport {
  durationS: number;
  operations: Record<string, number>;
  faults: Record<string, number>;
  rowsChecked: number;
  rowsLost: number;
  lostExamples: string[];
  errors: Record<string, number>;
  verify: VerifyResult[];
}

interface Tracked {
  state: 'live' | 'deleted';
  /** The last acknowledged quantity (undefined: not set by the soak). */
  quantity?: number;
  /** A change whose outcome is unknown (its process died or its connection broke mid-call). */
  unknown?: boolean;
  pending?: boolean;
}

const SEARCHES = [
  `{ orders(where: {paid: {_eq: true}}, order_by: [{total: desc}], limit: 20) { row_id total quantity } }`,
  `{ orders_aggregate(where: {total: {_gte: 100}}) { aggregate { count sum { quantity } avg { total } } } }`,
  `{ orders(where: {customer: {tier: {_eq: PRO}}}, limit: 50) { row_id customer { name } } }`,
  `{ customers(order_by: [{name: asc}], limit: 10) { name orders(limit: 3) { total } } }`,
  `{ orders_aggregate(group_by: [placed_at_month]) { groups { key { placed_at_month } aggregate { count } } } }`,
];

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const say = options.progress ?? (() => undefined);
  let started = Date.now();
  let deadline = started + options.durationMs;
  const operations: Record<string, number> = {};
  const faults: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const count = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);
  const tracked = new Map<string, Tracked>();

  // Internal errors are masked in GraphQL answers; the gateway logs their cause, counted here by kind.
  const log = pino(
    { level: 'error' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
        count(errors, `logged ${entry.msg ?? 'error'}: ${errorKind(new Error(entry.err?.message ?? entry.msg))}`);
      },
    },
  );
  const s3 = await startOutageS3();
  let s3Down = false;
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-soak-'));
  const catalog = await loadCatalog('schema');
  const oltp = await openOltpStore({ databaseUrl: options.databaseUrl, catalog, log });
  const lake: Omit<LakehouseSettings, 'dataDir'> = {
    ...s3.settings('soak'),
    flush: { maxRows: 400, maxAgeMs: 2_000, checkIntervalMs: 300 },
    compaction: { minDeltaFiles: 4, maxDeltaAgeMs: 20_000, dirtyRatio: 0.05, baseTargetBytes: 256 * 1024 ** 2, checkIntervalMs: 1_000 },
    // Short enough that GC deletes replaced files during a long soak; well above the query bound.
    orphanGraceMs: 60_000,
    query: { timeoutMs: 20_000 },
  };
  const lakehouse = await openLakehouse({ ...lake, dataDir: path.join(dataDir, 'main') } as LakehouseSettings, catalog, oltp, log);
  lakehouse.startWorkers();
  const yoga = createGatewayYoga({
    schema: buildSchema(catalog),
    auth: { adminToken: 'soak-admin-token', anonymousRole: 'soak' },
    services: { catalog, oltp, admin: lakehouse.admin, search: lakehouse.search, log, limits: { defaultLimit: 100, maxLimit: 1_000, maxInsertObjects: 1_000 } },
  });
  const gql = graphqlCaller((url, init) => yoga.fetch(url, init), 'http://soak/graphql', { authorization: 'Bearer soak-admin-token' });
  const customers = catalog.entity('customers');
  const orders = catalog.entity('orders');
  const random = seededRandom(7);
  const customerIds = (await oltp.writer.insert(customers, Array.from({ length: 50 }, () => demoCustomer(random)))).map((c) => c.row_id);

  // The child gateway: killed (SIGKILL) by a fault, restarted a moment later.
  let child: ChildProcess | null = null;
  /** Resolves once the current child has acknowledged its first write. */
  let childWriting: Promise<void> = Promise.resolve();
  let stopping = false;
  const startChild = () => {
    const proc = spawn(
      process.execPath,
      ['--openssl-legacy-provider', '--import', 'tsx', path.resolve('bench/soak-child.ts'), options.databaseUrl, JSON.stringify(lake), path.join(dataDir, 'child')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
    let buffered = '';
    let writing: () => void = () => undefined;
    childWriting = new Promise((resolve) => (writing = resolve));
    proc.on('exit', () => writing());
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [word, kind, id, value] = line.split(' ');
        if (word === 'ack') {
          writing();
          count(operations, `child ${kind === 'c' ? 'insert' : kind === 'u' ? 'update' : 'delete'}`);
          const entry = tracked.get(id!) ?? { state: 'live' };
          entry.pending = false;
          if (kind === 'd') entry.state = 'deleted';
          if (kind === 'u') entry.quantity = Number(value);
          tracked.set(id!, entry);
        } else if (word === 'try') {
          const entry = tracked.get(id!);
          if (entry) entry.pending = true;
        } else if (word === 'err') {
          count(errors, `child write: ${line.slice(4)}`);
        }
      }
    });
    proc.on('exit', (code, signal) => {
      // Whatever the child was doing when it died has an unknown outcome.
      for (const entry of tracked.values()) if (entry.pending) entry.unknown = true;
      if (signal === 'SIGKILL' || stopping) return;
      // It died by itself (e.g. a connection killed while it started): its supervisor restarts it.
      const reason = stderr.split('\n').map((l) => l.trim()).find((l) => /^[A-Za-z]*Error\b.*:/.test(l)) ?? `exit code ${code}`;
      count(errors, `child gateway died: ${errorKind(new Error(reason))}`);
      setTimeout(() => {
        if (!stopping && child === proc) startChild();
      }, 1_000);
    });
    child = proc;
  };
  startChild();
  // The clock starts once the child gateway writes (its start takes seconds on a busy machine).
  await Promise.race([childWriting, new Promise((resolve) => setTimeout(resolve, 60_000))]);
  started = Date.now();
  deadline = started + options.durationMs;

  const loops: Promise<void>[] = [];
  const until = async (work: () => Promise<void>, pauseMs: number) => {
    while (!stopping && Date.now() < deadline) {
      await work();
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };

  for (let w = 0; w < (options.writers ?? 3); w++) {
    const own: string[] = [];
    const r = seededRandom(100 + w);
    loops.push(
      until(async () => {
        const choice = r();
        let touched: string | null = null;
        try {
          if (choice < 0.55 || own.length < 5) {
            const batch = Math.ceil(r() * 5);
            const rows = await oltp.writer.insert(orders, Array.from({ length: batch }, () => demoOrder(r, customerIds)));
            for (const row of rows) {
              own.push(row.row_id);
              tracked.set(row.row_id, { state: 'live' });
            }
            count(operations, 'insert');
          } else if (choice < 0.85) {
            touched = own[Math.floor(r() * own.length)]!;
            const quantity = Math.floor(r() * 1_000);
            tracked.get(touched)!.pending = true;
            await oltp.writer.update(orders, touched, { quantity });
            Object.assign(tracked.get(touched)!, { quantity, pending: false });
            count(operations, 'update');
          } else {
            touched = own.splice(Math.floor(r() * own.length), 1)[0]!;
            tracked.get(touched)!.pending = true;
            await oltp.writer.softDelete(orders, touched);
            Object.assign(tracked.get(touched)!, { state: 'deleted', pending: false });
            count(operations, 'delete');
          }
        } catch (error) {
          if (touched) tracked.get(touched)!.unknown = true;
          count(errors, `write: ${errorKind(error)}`);
        }
      }, 5),
    );
  }
  for (let s = 0; s < (options.searchers ?? 2); s++) {
    const r = seededRandom(200 + s);
    loops.push(
      until(async () => {
        try {
          await gql(SEARCHES[Math.floor(r() * SEARCHES.length)]!);
          count(operations, 'search');
        } catch (error) {
          const message = (error as Error).message;
          count(errors, message.includes('Unexpected error') ? 'search: internal (cause logged, see "logged internal error")' : `search: ${errorKind(error)}`);
        }
      }, 20),
    );
  }
  // Explicit maintenance beside the workers of both processes: flushes, compactions, now and then a rebuild.
  const r = seededRandom(300);
  loops.push(
    until(async () => {
      const entity = r() < 0.8 ? orders : customers;
      const choice = r();
      const kind = choice < 0.6 ? 'flush' : choice < 0.95 ? 'compact' : 'rebuild';
      try {
        if (kind === 'flush') await lakehouse.admin.flush(entity, true);
        else if (kind === 'compact') await lakehouse.admin.compact(entity, true);
        else await lakehouse.admin.rebuild(entity);
        count(operations, kind);
      } catch (error) {
        count(errors, `${kind}: ${errorKind(error)}`);
      }
    }, 700),
  );
  // Faults, in turn.
  const faultDb = new pg.Client({ connectionString: options.databaseUrl, application_name: 'soak-faults' });
  await faultDb.connect();
  let turn = 0;
  loops.push(
    until(async () => {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(options.faultEveryMs ?? 8_000, deadline - Date.now()))));
      if (stopping || Date.now() >= deadline) return;
      const fault = (['kill Postgres connections', 'stop the S3 server', 'kill the child gateway'] as const)[turn++ % 3]!;
      // A child is killed once it writes: killing it while it still starts up would test little.
      if (fault === 'kill the child gateway') await Promise.race([childWriting, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      count(faults, fault);
      say(`fault: ${fault}`);
      // Bounded: a fault that hangs is reported, and the soak goes on (and ends on time).
      const inject = async () => {
        if (fault === 'kill the child gateway') {
          child?.kill('SIGKILL');
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          if (!stopping) startChild();
        } else if (fault === 'kill Postgres connections') {
          const { rowCount } = await faultDb.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'ltbase-gateway'`,
          );
          faults['postgres connections terminated (count)'] = (faults['postgres connections terminated (count)'] ?? 0) + (rowCount ?? 0);
        } else {
          s3Down = true;
          await s3.stop();
          await new Promise((resolve) => setTimeout(resolve, 2_000 + Math.floor(Math.random() * 3_000)));
          await s3.start();
          s3Down = false;
        }
      };
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        inject(),
        new Promise<void>((resolve) => (timer = setTimeout(() => resolve(void count(errors, `fault hung over 30 s: ${fault}`)), 30_000))),
      ])
        .catch((error: unknown) => count(errors, `fault failed: ${fault}: ${errorKind(error)}`))
        .finally(() => clearTimeout(timer));
    }, 0),
  );
  const ticker = setInterval(() => say(`${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(operations)} errors ${JSON.stringify(errors)}`), 30_000);
  await Promise.all(loops);
  clearInterval(ticker);
  stopping = true;
  const runMs = Date.now() - started;

  // The end: no more faults; the child dies last, then everything is flushed and verified twice
  // (with the buffer flushed, then after a forced compaction).
  // A child that died by itself (and was not restarted, the soak being over) has nothing to wait for.
  const last = child as ChildProcess | null;
  const exited = last && last.exitCode === null && last.signalCode === null ? new Promise((resolve) => last.once('exit', resolve)) : Promise.resolve();
  (child as ChildProcess | null)?.kill('SIGKILL');
  await exited;
  await faultDb.end();
  if (s3Down) await s3.start();
  const settle = async (what: 'flush' | 'compact') => {
    for (const entity of [customers, orders]) {
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          await lakehouse.admin[what](entity, true);
          break;
        } catch (error) {
          count(errors, `final ${what}: ${errorKind(error)}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }
  };
  const verifyAll = async () => Promise.all([customers, orders].map((entity) => lakehouse.admin.verify(entity)));
  await settle('flush');
  const flushed = await verifyAll();
  await settle('compact');
  const compacted = await verifyAll();

  // Every acknowledged write is in the truth as acknowledged.
  const lostExamples: string[] = [];
  let rowsLost = 0;
  const checked = [...tracked.entries()].filter(([, t]) => !t.unknown && !t.pending);
  const rows = await oltp.readRows(orders, checked.map(([id]) => id));
  for (const [id, expected] of checked) {
    const row = rows.get(id);
    const wrong = expected.state === 'deleted' ? row !== undefined : row === undefined || (expected.quantity !== undefined && Number(row.values.quantity) !== expected.quantity);
    if (wrong) {
      rowsLost++;
      if (lostExamples.length < 10) lostExamples.push(`${id}: expected ${expected.state}${expected.quantity !== undefined ? ` quantity ${expected.quantity}` : ''}`);
    }
  }
  for (const report of [...flushed, ...compacted]) {
    const drift = report.missing + report.extra + report.different + report.duplicated + (report.error ? 1 : 0);
    rowsLost += drift;
    if (drift > 0) lostExamples.push(`${report.entity}: verify ${JSON.stringify(report)}`);
  }

  await lakehouse.close();
  await oltp.close();
  await s3.close();
  await fs.rm(dataDir, { recursive: true, force: true });
  return {
    durationS: Math.round(runMs / 1000),
    operations,
    faults,
    rowsChecked: checked.length + [...flushed, ...compacted].reduce((sum, r) => sum + r.truth_rows, 0),
    rowsLost,
    lostExamples,
    errors,
    verify: compacted,
  };
}

/**
 * The loopback S3 server (as test/support/s3.ts starts it), whose stop also cuts the SDK's
 * keep-alive connections: closing only the listener waits for them, and they would still be served.
 */
async function startOutageS3() {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-soak-s3-'));
  const create = (port: number) =>
    new S3rver({ address: '127.0.0.1', port, silent: true, directory, allowMismatchedSignatures: true, vhostBuckets: false, configureBuckets: [{ name: 'soak' }] });
  let server: S3rver | null = create(0);
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    const http = (server as unknown as { httpServer?: import('node:http').Server } | null)?.httpServer;
    const closing = server?.close();
    http?.closeAllConnections();
    await closing;
    server = null;
  };
  return {
    settings: (prefix: string) => ({
      lakeUrl: `s3://soak/${prefix}`,
      s3: { endpoint, region: 'us-east-1', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
    stop,
    async start() {
      if (server) return;
      server = create(port);
      await server.run();
    },
    async close() {
      await stop();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
