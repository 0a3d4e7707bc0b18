// Boots the gateway's parts against a fresh test database and calls it through yoga.fetch (no port).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openLakehouse, type Lakehouse, type LakehouseSettings } from '../../src/cli/lakehouse.js';
import { loadCatalog, type Catalog } from '../../src/catalog/index.js';
import { buildSchema, createGatewayYoga, type GatewayYoga, type RequestBounds } from '../../src/graphql/index.js';
import { createMetrics, type GatewayMetrics } from '../../src/metrics/index.js';
import { checkReadiness, openOltpStore, type OltpStore } from '../../src/oltp/index.js';
import { createTestDatabase } from './postgres.js';

export const DEMO_SCHEMA_DIR = path.resolve('schema');
export const TEST_ADMIN_TOKEN = 'test-admin-token';

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: { code?: string } }[];
}

export interface TestGateway {
  catalog: Catalog;
  oltp: OltpStore;
  lakehouse: Lakehouse;
  /** The settings the lakehouse was opened with (a second process can open the same lake). */
  lakeSettings: LakehouseSettings;
  yoga: GatewayYoga;
  /** The registry behind /metrics (the yoga serves /metrics and /readyz as `npm start` does). */
  metrics: GatewayMetrics;
  databaseUrl: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, options?: { admin?: boolean }): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  schemaDir?: string;
  /** Lake settings; by default a local lake in a fresh temp directory. */
  lake?: Partial<LakehouseSettings>;
  /** Run the background flush and GC workers (off by default: tests flush explicitly). */
  workers?: boolean;
  /**
   * Join this existing database instead of creating one: a second gateway process beside the
   * first (its own definitions, DuckDB and scratch directory); closing it leaves the database.
   */
  databaseUrl?: string;
  /** Largest accepted attribute value in bytes (the gateway's MAX_VALUE_BYTES); default the gateway's. */
  maxValueBytes?: number;
  /** Request bounds (rows, response bytes, document cache); default the gateway's. */
  bounds?: RequestBounds;
  /** Rows one insert or set-based mutation may write (the gateway's MAX_INSERT_OBJECTS); default 20,000. */
  maxInsertObjects?: number;
  /** Runs on the fresh database before any connection opens (e.g. ALTER DATABASE … SET …). */
  prepareDatabase?(databaseUrl: string, databaseName: string): Promise<void>;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const catalog = await loadCatalog(options.schemaDir ?? DEMO_SCHEMA_DIR);
  const database = options.databaseUrl
    ? { url: options.databaseUrl, name: new URL(options.databaseUrl).pathname.slice(1), drop: async () => undefined }
    : await createTestDatabase();
  let oltp: OltpStore;
  try {
    if (!options.databaseUrl) await options.prepareDatabase?.(database.url, database.name);
    oltp = await openOltpStore({ databaseUrl: database.url, catalog, log, maxValueBytes: options.maxValueBytes });
  } catch (error) {
    await database.drop();
    throw error;
  }
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-test-'));
  const lakeSettings: LakehouseSettings = {
    lakeUrl: `file://${path.join(dataDir, 'lake')}`,
    s3: { region: 'us-east-1', forcePathStyle: true },
    dataDir,
    flush: { maxRows: 20_000, maxAgeMs: 3_600_000, checkIntervalMs: 200 },
    orphanGraceMs: 600_000,
    ...options.lake,
  };
  const metrics = createMetrics({ processMetrics: false });
  const lakehouse = await openLakehouse(lakeSettings, catalog, oltp, log, metrics);
  if (options.workers) lakehouse.startWorkers();
  const yoga = createGatewayYoga({
    schema: buildSchema(catalog),
    adminToken: TEST_ADMIN_TOKEN,
    metrics,
    readiness: () => checkReadiness(oltp.pool, 2_000),
    bounds: options.bounds,
    services: { catalog, oltp, admin: lakehouse.admin, search: lakehouse.search, log, limits: { defaultLimit: 100, maxLimit: 1_000, maxInsertObjects: options.maxInsertObjects ?? 20_000 } },
  });
  return {
    catalog,
    oltp,
    lakehouse,
    lakeSettings,
    yoga,
    metrics,
    databaseUrl: database.url,
    async gql(query, variables, { admin = false } = {}) {
      const response = await yoga.fetch('http://test/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(admin ? { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResponse;
    },
    async close() {
      await lakehouse.close();
      await oltp.close();
      await database.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
