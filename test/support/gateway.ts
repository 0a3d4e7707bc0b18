// Boots the gateway's parts against a fresh test database and calls it through yoga.fetch (no port).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { GraphQLSchema } from 'graphql';
import pino from 'pino';
import { openLakehouse, type Lakehouse, type LakehouseSettings } from '../../src/cli/lakehouse.js';
import { loadCatalog, type Catalog } from '../../src/catalog/index.js';
import { buildSchema, createGatewayYoga, DEFAULT_WEB_SAFETY, type AuthSettings, type GatewayYoga, type RequestBounds, type WebSafetySettings } from '../../src/graphql/index.js';
import { createMetrics, type GatewayMetrics } from '../../src/metrics/index.js';
import { checkReadiness, openOltpStore, type OltpStore } from '../../src/oltp/index.js';
import { createTestDatabase } from './postgres.js';

export const DEMO_SCHEMA_DIR = path.resolve('schema');
export const TEST_ADMIN_TOKEN = 'test-admin-token';
/**
 * The test gateway's credentials, in this one place: the admin token, and a role for requests
 * without a credential so tests written before authentication (issue 12) call it as they did.
 */
/**
 * Tests call as the admin unless they say otherwise: the anonymous role may do only what its
 * permissions allow, and most test definitions give it none.
 */
export function asAdmin(admin: boolean | undefined, headers: Record<string, string>): boolean {
  return admin ?? !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization');
}

export const TEST_AUTH: AuthSettings = { adminToken: TEST_ADMIN_TOKEN, anonymousRole: 'anonymous' };
/**
 * The test gateway's limits: the gateway's defaults, but with the document shape (depth, aliases,
 * tokens, cost) out of the way of tests that prove other bounds with 200 aliases or 21 levels;
 * tests of the limits themselves pass their own (test/graphql/web-safety*.int.test.ts).
 */
export const TEST_WEB_SAFETY: WebSafetySettings = { ...DEFAULT_WEB_SAFETY, maxDepth: 1_000, maxAliases: 100_000, maxTokens: 10_000_000, maxCost: 1_000_000_000 };

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
  /** Another server over the same services, with its own authentication, limits or schema. */
  yogaWith(options: { auth?: AuthSettings; webSafety?: WebSafetySettings; schema?: GraphQLSchema }): GatewayYoga;
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    /** admin: send the admin token (default: yes, unless `headers` carry an Authorization of their own). */
    options?: { admin?: boolean; headers?: Record<string, string> },
  ): Promise<GraphQLResponse<T>>;
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
  /** Authentication (default TEST_AUTH: the admin token and an anonymous role); replaces TEST_AUTH whole. */
  auth?: AuthSettings;
  /** API limits and web safety; default TEST_WEB_SAFETY. */
  webSafety?: WebSafetySettings;
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
  const lakeSettings = testLakeSettings(dataDir, options.lake);
  const metrics = createMetrics({ processMetrics: false });
  const lakehouse = await openLakehouse(lakeSettings, catalog, oltp, log, metrics);
  if (options.workers) lakehouse.startWorkers();
  const services = { catalog, oltp, admin: lakehouse.admin, search: lakehouse.search, log, limits: { defaultLimit: 100, maxLimit: 1_000, maxInsertObjects: options.maxInsertObjects ?? 20_000 } };
  const schema = buildSchema(catalog);
  const yoga = createGatewayYoga({
    schema,
    auth: options.auth ?? TEST_AUTH,
    webSafety: options.webSafety ?? TEST_WEB_SAFETY,
    metrics,
    readiness: () => checkReadiness(oltp.pool, 2_000),
    bounds: options.bounds,
    services,
  });
  return {
    catalog,
    oltp,
    lakehouse,
    lakeSettings,
    yoga,
    metrics,
    databaseUrl: database.url,
    yogaWith: (other) =>
      createGatewayYoga({ schema: other.schema ?? schema, auth: other.auth ?? TEST_AUTH, webSafety: other.webSafety, bounds: options.bounds, services }),
    async gql(query, variables, { admin, headers = {} } = {}) {
      const response = await yoga.fetch('http://test/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(asAdmin(admin, headers) ? { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } : {}),
          ...headers,
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

/** Lake settings of a test gateway: a local lake under `dataDir`, flushes only when asked, `overrides` on top. */
export function testLakeSettings(dataDir: string, overrides: Partial<LakehouseSettings> = {}): LakehouseSettings {
  return {
    lakeUrl: `file://${path.join(dataDir, 'lake')}`,
    s3: { region: 'us-east-1', forcePathStyle: true },
    dataDir,
    flush: { maxRows: 20_000, maxAgeMs: 3_600_000, checkIntervalMs: 200 },
    orphanGraceMs: 600_000,
    ...overrides,
  };
}
