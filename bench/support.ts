// Shared by the benchmark scripts: a throwaway database, a gateway in process with the demo data in
// a mixed lake state, timing and statistics helpers.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { GraphQLSchema } from 'graphql';
import pg from 'pg';
import pino, { type Logger } from 'pino';
import { loadCatalog, type Catalog, type EntitySchema } from '../src/catalog/index.js';
import { demoCustomer, demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { openLakehouse, type Lakehouse } from '../src/cli/lakehouse.js';
import { compactSchema } from '../src/compaction/index.js';
import { buildSchema, createGatewayYoga } from '../src/graphql/index.js';
import { openOltpStore, startEmbeddedPostgres, type AttributeInput, type OltpStore } from '../src/oltp/index.js';
import { freePort } from '../test/support/ports.js';

export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** BENCH_DATABASE_URL / DATABASE_URL: a running Postgres server the benchmarks make their databases on. */
function benchServerUrl(): string | undefined {
  return process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
}

/**
 * A fresh database on BENCH_DATABASE_URL / DATABASE_URL's server, else on an embedded Postgres;
 * `existing`: a database a former run kept on that server (dropped by drop() all the same).
 */
export async function benchDatabase(name: string, existing?: string): Promise<BenchDatabase> {
  const serverUrl = benchServerUrl();
  let stopServer = async () => {};
  let adminUrl: string;
  if (existing && !serverUrl) throw new Error('a kept database lives on BENCH_DATABASE_URL: set it');
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
  const database = existing ?? `${name}_${Date.now()}`;
  if (!existing) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return {
    url: url.toString(),
    name: database,
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

/** The benches' admin credential: questions are asked as the admin (no role's filters) unless a bench says otherwise. */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-of-32-characters';

type Fetcher = (url: string, init: RequestInit) => Promise<Response> | Response;
const ADMIN_HEADERS = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };

/** A GraphQL caller over a fetch function (HTTP or yoga.fetch in process), as the admin unless `headers` say otherwise; errors throw. */
export function graphqlCaller(fetcher: Fetcher, url: string, headers: Record<string, string> = ADMIN_HEADERS): (query: string, variables?: Record<string, unknown>) => Promise<any> {
  const post = graphqlPoster(fetcher, url, headers);
  return (query, variables = {}) => post(JSON.stringify({ query, variables }));
}

/** graphqlCaller for a request body serialized beforehand (a bench's clock leaves that out). */
export function graphqlPoster(fetcher: Fetcher, url: string, headers: Record<string, string> = ADMIN_HEADERS): (body: string) => Promise<any> {
  return async (body) => {
    const response = await fetcher(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const answer = (await response.json()) as { data?: any; errors?: { message: string }[] };
    if (answer.errors) throw new Error(answer.errors.map((e) => e.message).join('; '));
    return answer.data;
  };
}

/** A gateway in process over a throwaway database and a local lake, as the search benchmarks run it. */
export interface BenchGateway {
  dataDir: string;
  /** The throwaway database (a second gateway process, the lab's EAV copy). */
  databaseUrl: string;
  log: Logger;
  catalog: Catalog;
  oltp: OltpStore;
  lakehouse: Lakehouse;
  /** The GraphQL schema the gateway serves (to check a question against before a long load). */
  schema: GraphQLSchema;
  yoga: ReturnType<typeof createGatewayYoga>;
  /** GraphQL through yoga.fetch: the real HTTP handling, without a port. */
  gql: ReturnType<typeof graphqlCaller>;
  /** What the script recorded of the data of a kept state (see `keep`); that of the state reused. */
  state: Record<string, unknown>;
  /** Closes; drops the database and the lake unless kept. */
  close(): Promise<void>;
}

export interface BenchGatewayOptions {
  queryTimeoutMs?: number;
  /**
   * Keep the database and lake at close, for a later run to measure again with `reuse` (say, after
   * a merge) without loading again. Needs BENCH_DATABASE_URL. `state` is saved with them.
   */
  keep?: boolean;
  /** The data directory of a kept state: its database and lake, as the run that kept them left them. */
  reuse?: string;
  /** Bound of the DuckDB tables of large lake files (DUCKDB_FILE_TABLES_BYTES; default the configuration's, 0: none). */
  fileTablesBytes?: number;
  /** DuckDB's memory_limit (DUCKDB_MEMORY_LIMIT; default the configuration's). */
  duckdbMemoryLimit?: string;
}

const STATE_FILE = 'bench-state.json';

export async function openBenchGateway(name: string, options: BenchGatewayOptions = {}): Promise<BenchGateway> {
  const log = pino({ level: 'warn' });
  if (options.keep && !benchServerUrl()) throw new Error('--keep needs BENCH_DATABASE_URL (a server that outlives this process)');
  const kept = options.reuse ? (JSON.parse(await fs.readFile(path.join(options.reuse, STATE_FILE), 'utf8')) as { database: string; state: Record<string, unknown> }) : null;
  const database = await benchDatabase(name, kept?.database);
  const dataDir = options.reuse ?? (await fs.mkdtemp(path.join(os.tmpdir(), `ltbase-${name.replaceAll('_', '-')}-`)));
  const catalog = await loadCatalog('schema');
  const oltp = await openOltpStore({ databaseUrl: database.url, catalog, log });
  const lakehouse = await openLakehouse(
    {
      lakeUrl: `file://${path.join(dataDir, 'lake')}`,
      s3: { region: 'us-east-1', forcePathStyle: true },
      dataDir,
      flush: { maxRows: 20_000, maxAgeMs: 3_600_000, checkIntervalMs: 1_000 },
      orphanGraceMs: 600_000,
      ...(options.queryTimeoutMs ? { query: { timeoutMs: options.queryTimeoutMs } } : {}),
      ...(options.fileTablesBytes !== undefined ? { fileTables: { maxBytes: options.fileTablesBytes } } : {}),
      ...(options.duckdbMemoryLimit ? { duckdb: { memoryLimit: options.duckdbMemoryLimit } } : {}),
    },
    catalog,
    oltp,
    log,
  );
  const schema = buildSchema(catalog);
  const yoga = createGatewayYoga({
    schema,
    auth: { adminToken: BENCH_ADMIN_TOKEN },
    services: { catalog, oltp, admin: lakehouse.admin, search: lakehouse.search, log, limits: { defaultLimit: 100, maxLimit: 10_000, maxInsertObjects: 50_000 } },
  });
  const gateway: BenchGateway = {
    dataDir,
    databaseUrl: database.url,
    log,
    catalog,
    oltp,
    lakehouse,
    schema,
    yoga,
    gql: graphqlCaller((url, init) => yoga.fetch(url, init), 'http://bench/graphql'),
    state: kept?.state ?? {},
    async close() {
      await lakehouse.close();
      await oltp.close();
      if (options.keep) {
        await fs.writeFile(path.join(dataDir, STATE_FILE), JSON.stringify({ database: database.name, state: gateway.state }, null, 2));
        console.log(`kept the database ${database.name} and the lake in ${dataDir}: --reuse ${dataDir} measures them again (and drops them, unless --keep)`);
        return;
      }
      await fs.rm(dataDir, { recursive: true, force: true });
      await database.drop();
    },
  };
  return gateway;
}

export interface Timing {
  p50: number;
  p95: number;
}

/**
 * Times alternatives round-robin (a run of each in turn, after warm-ups), so drift of this shared
 * machine falls on all of them alike instead of on whichever ran during a slow spell.
 */
export async function timedTogether(alternatives: readonly (() => Promise<unknown>)[], runs: number, warmups = Math.min(3, runs)): Promise<Timing[]> {
  for (let i = 0; i < warmups; i++) for (const run of alternatives) await run(); // warm caches and plans
  const times = alternatives.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, run] of alternatives.entries()) {
      const started = performance.now();
      await run();
      times[k]!.push(performance.now() - started);
    }
  }
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { p50: percentile(t, 50), p95: percentile(t, 95) };
  });
}

export async function timed(run: () => Promise<unknown>, runs: number, warmups?: number): Promise<Timing> {
  return (await timedTogether([run], runs, warmups))[0]!;
}

export const ms = (v: number) => `${v.toFixed(1)} ms`;
const seconds = (v: number) => `${(v / 1000).toFixed(1)} s`;

/** Rows per transaction of the lab's updates (writeInBatches). */
const UPDATE_BATCH = 1_000;

export interface DemoSizes {
  orders: number;
  customers: number;
  /** Changes of a buffer: half new orders (the last of `orders`), half updates of flushed orders. */
  buffered: number;
}

/**
 * The demo data set through the write path, in the steps of a mixed lake state: the load (customers
 * flushed once, orders flushed every 20,000, the default FLUSH_MAX_ROWS, all but the half of a
 * buffer that is new orders), updates flushed into a delta file, a buffer of changes, compaction.
 */
export class DemoLoad {
  readonly customerIds: string[] = [];
  /** Each flush of the load and of flushUpdates: rows and milliseconds (the flush rate of the lab). */
  readonly flushes: { entity: string; rows: number; ms: number; bytes: number }[] = [];
  readonly orderIds: string[] = [];
  /** The data's seeded PRNG: a script that draws more after the load stays reproducible. */
  readonly random = seededRandom(42);

  private constructor(
    private readonly g: BenchGateway,
    readonly sizes: DemoSizes,
  ) {}

  /**
   * `progress`: told the rows written so far of all `customers + orders - buffered / 2` (the lab's
   * progress bar); without it the load logs its start and end only.
   */
  static async load(g: BenchGateway, sizes: DemoSizes, batch = 10_000, progress?: (rowsDone: number, rowsTotal: number) => void): Promise<DemoLoad> {
    const load = new DemoLoad(g, sizes);
    const { customers, orders } = load.entities;
    const started = performance.now();
    if (!progress) console.log(`loading ${sizes.customers.toLocaleString('en')} customers and ${sizes.orders.toLocaleString('en')} orders through the write path ...`);
    const flushedOrders = sizes.orders - sizes.buffered / 2;
    const tell = () => progress?.(load.customerIds.length + load.orderIds.length, sizes.customers + flushedOrders);
    for (let done = 0; done < sizes.customers; done += batch) {
      const rows = await g.oltp.writer.insert(customers, Array.from({ length: Math.min(batch, sizes.customers - done) }, () => demoCustomer(load.random)));
      load.customerIds.push(...rows.map((r) => r.row_id));
      tell();
    }
    await load.flush(customers);
    for (let done = 0; done < flushedOrders; done += batch) {
      const rows = await g.oltp.writer.insert(orders, Array.from({ length: Math.min(batch, flushedOrders - done) }, () => demoOrder(load.random, load.customerIds)));
      load.orderIds.push(...rows.map((r) => r.row_id));
      if (load.orderIds.length % 20_000 === 0) await load.flush(orders);
      tell();
    }
    if (!progress) console.log(`loaded in ${seconds(performance.now() - started)}`);
    return load;
  }

  /** A forced flush of the entity's buffer, recorded in `flushes`. */
  async flush(entity: EntitySchema): Promise<void> {
    const report = await this.g.lakehouse.admin.flush(entity, true);
    if (report.flushed) this.flushes.push({ entity: entity.name, rows: report.rows, ms: report.duration_ms, bytes: report.bytes });
  }

  get entities() {
    return { customers: this.g.catalog.entity('customers'), orders: this.g.catalog.entity('orders') };
  }

  /** `count` random orders get a new total and paid flag, one write each. */
  async updateOrders(count: number): Promise<void> {
    const changes = Array.from({ length: count }, () => ({
      id: this.orderIds[Math.floor(this.random() * this.orderIds.length)]!,
      set: { total: Math.round(this.random() * 100_000) / 100, paid: this.random() < 0.5 },
    }));
    await this.writeInBatches(changes, this.entities.orders);
  }

  /** `count` random customers get a new tier (one of the enum's values), one write each. */
  async updateCustomers(count: number): Promise<void> {
    const tiers = this.entities.customers.attributes.find((a) => a.name === 'tier')!.values!;
    const changes = Array.from({ length: count }, () => ({
      id: this.customerIds[Math.floor(this.random() * this.customerIds.length)]!,
      set: { tier: tiers[Math.floor(this.random() * tiers.length)]! },
    }));
    await this.writeInBatches(changes, this.entities.customers);
  }

  /**
   * The updates in transactions of UPDATE_BATCH rows each (EavWriter.updateRows: one change_log
   * row per changed row): single-row updates took ~3 ms each here, and the
   * 200,000 of scale 10 half an hour. The draws stay in seed order; a row drawn twice in one batch
   * keeps its later values (one version), as one statement of the API would write it.
   */
  private async writeInBatches(changes: readonly { id: string; set: AttributeInput }[], entity: EntitySchema): Promise<void> {
    for (let start = 0; start < changes.length; start += UPDATE_BATCH) {
      const batch = new Map<string, AttributeInput>();
      for (const { id, set } of changes.slice(start, start + UPDATE_BATCH)) batch.set(id, { ...batch.get(id), ...set });
      await this.g.oltp.writer.updateRows(entity, batch);
    }
  }

  /** Random updates flushed into a delta file per entity (with what the buffer held). */
  async flushUpdates(orders: number, customers = 0): Promise<void> {
    const started = performance.now();
    await this.updateOrders(orders);
    await this.flush(this.entities.orders);
    if (customers > 0) {
      await this.updateCustomers(customers);
      await this.flush(this.entities.customers);
    }
    console.log(`${orders.toLocaleString('en')} order and ${customers.toLocaleString('en')} customer updates flushed in ${seconds(performance.now() - started)}`);
  }

  /** `sizes.buffered` changes left unflushed (half new orders, half updates of flushed ones), and `customers` customer updates. */
  async bufferChanges(customers = 0): Promise<void> {
    const started = performance.now();
    await this.g.oltp.writer.insert(this.entities.orders, Array.from({ length: this.sizes.buffered / 2 }, () => demoOrder(this.random, this.customerIds)));
    await this.updateOrders(this.sizes.buffered / 2);
    await this.updateCustomers(customers);
    console.log(`${this.sizes.buffered.toLocaleString('en')} order and ${customers.toLocaleString('en')} customer changes buffered in ${seconds(performance.now() - started)}`);
  }

  /** Each entity compacted to one base file, what the compaction worker leaves (the buffer stays). */
  async compact(): Promise<{ entity: string; ms: number; rows: number; bytes: number }[]> {
    const done: { entity: string; ms: number; rows: number; bytes: number }[] = [];
    for (const entity of [this.entities.customers, this.entities.orders]) {
      const outcome = await compactSchema(this.g.lakehouse.compactDeps, entity, { force: true, trigger: 'bench' });
      if (outcome.status === 'compacted') {
        done.push({ entity: entity.name, ms: outcome.durationMs, rows: outcome.added.reduce((n, a) => n + a.rows, 0), bytes: outcome.added.reduce((n, a) => n + a.bytes, 0) });
        const added = outcome.added.map((a) => `${a.role} (${a.rows.toLocaleString('en')} rows, ${(a.bytes / 1e6).toFixed(1)} MB)`).join(', ');
        console.log(`compacted ${entity.name}: ${outcome.removed.length} files into ${added} in ${outcome.durationMs} ms`);
      }
    }
    return done;
  }
}

/** One line per entity: its base and delta files and buffered changes. */
export async function describeLake(g: BenchGateway, entities: readonly string[]): Promise<string> {
  const status = await g.lakehouse.admin.lakeStatus(g.catalog.entity(entities[0]!).project);
  return entities
    .map((name) => {
      const s = status.find((e) => e.entity === name)!;
      return `${name}: ${s.base_files} base files (${(s.base_bytes / 1e6).toFixed(1)} MB), ${s.delta_files} delta files (${(s.delta_bytes / 1e6).toFixed(1)} MB), ${s.buffered_rows} buffered changes`;
    })
    .join('\n');
}

/** The current rows of each entity (lake and buffer merged) written to one Parquet file per entity, sorted by row_id. */
export async function exportCompacted(g: BenchGateway, entities: readonly string[], tag: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of entities) {
    files[name] = path.join(g.dataDir, `${name}-compacted-${tag}.parquet`);
    await g.lakehouse.search.exportCurrent(g.catalog.entity(name), files[name]);
  }
  return files;
}

/** Runs SQL on the gateway's DuckDB directly (no merge-on-read): the "raw DuckDB" of the benchmarks. */
export function rawDuckDb(g: BenchGateway): (sql: string) => Promise<Record<string, unknown>[]> {
  return (sql) => g.lakehouse.duck.use(async (c) => (await c.runAndReadAll(sql)).getRowObjectsJS());
}

/** The EAV store's attribute ids, keyed `${schema_id}.${name}` (e.g. `2.total`). */
export async function eavAttributeIds(oltp: OltpStore): Promise<Record<string, number>> {
  const { rows } = await oltp.pool.query<{ schema_id: number; name: string; attribute_id: number }>('SELECT schema_id, name, attribute_id FROM eav_attribute');
  return Object.fromEntries(rows.map((r) => [`${r.schema_id}.${r.name}`, r.attribute_id]));
}
