// Boots a gateway serving several projects (tenants) from one process, each at /graphql/<project>,
// against a fresh test database; calls go through the project router without a port.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openLakehouse, type Lakehouse, type LakehouseSettings } from '../../src/cli/lakehouse.js';
import { loadCatalog, type Catalog } from '../../src/catalog/index.js';
import { createProjectEndpoints, type AuthSettings, type ProjectEndpoints } from '../../src/graphql/index.js';
import { createMetrics, type GatewayMetrics } from '../../src/metrics/index.js';
import { checkReadiness, openOltpStore, type OltpStore } from '../../src/oltp/index.js';
import { TEST_ADMIN_TOKEN, TEST_AUTH, TEST_WEB_SAFETY, asAdmin, testLakeSettings, type GraphQLResponse } from './gateway.js';
import { createTestDatabase } from './postgres.js';

export interface ProjectsGateway {
  catalog: Catalog;
  oltp: OltpStore;
  lakehouse: Lakehouse;
  lakeSettings: LakehouseSettings;
  endpoints: ProjectEndpoints;
  metrics: GatewayMetrics;
  /** A GraphQL call at `path` (`/graphql/<project>`, or `/graphql`). */
  gqlAt<T = any>(path: string, query: string, variables?: Record<string, unknown>, options?: { admin?: boolean; headers?: Record<string, string> }): Promise<{ status: number; body: GraphQLResponse<T> }>;
  /** A GraphQL call at the endpoint of `project`. */
  gql<T = any>(project: string, query: string, variables?: Record<string, unknown>, options?: { admin?: boolean; headers?: Record<string, string> }): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface ProjectsGatewayOptions {
  /** One definition per project (the JSON of a `SCHEMA_DIR` file), written to a fresh directory. */
  definitions: readonly { project: string; entities: unknown[] }[];
  /** Lake settings; by default a local lake in a fresh temp directory. */
  lake?: Partial<LakehouseSettings>;
  /** Authentication (default TEST_AUTH: the admin token and an anonymous role). */
  auth?: AuthSettings;
}

export async function startProjectsGateway(options: ProjectsGatewayOptions): Promise<ProjectsGateway> {
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-projects-'));
  const schemaDir = path.join(dataDir, 'schema');
  await fs.mkdir(schemaDir);
  for (const definition of options.definitions) {
    await fs.writeFile(path.join(schemaDir, `${definition.project}.json`), JSON.stringify(definition));
  }
  const catalog = await loadCatalog(schemaDir);
  const database = await createTestDatabase();
  let oltp: OltpStore;
  try {
    oltp = await openOltpStore({ databaseUrl: database.url, catalog, log });
  } catch (error) {
    await database.drop();
    throw error;
  }
  const lakeSettings = testLakeSettings(dataDir, options.lake);
  const metrics = createMetrics({ processMetrics: false });
  const lakehouse = await openLakehouse(lakeSettings, catalog, oltp, log, metrics);
  const endpoints = createProjectEndpoints({
    auth: options.auth ?? TEST_AUTH,
    webSafety: TEST_WEB_SAFETY,
    metrics,
    readiness: () => checkReadiness(oltp.pool, 2_000),
    services: { catalog, oltp, admin: lakehouse.admin, search: lakehouse.search, log, limits: { defaultLimit: 100, maxLimit: 1_000, maxInsertObjects: 20_000 } },
  });
  const gqlAt: ProjectsGateway['gqlAt'] = async (at, query, variables, { admin, headers = {} } = {}) => {
    const response = await endpoints.fetch(`http://test${at}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(asAdmin(admin, headers) ? { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } : {}), ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: (await response.json()) as GraphQLResponse };
  };
  return {
    catalog,
    oltp,
    lakehouse,
    lakeSettings,
    endpoints,
    metrics,
    gqlAt,
    async gql(project, query, variables, options) {
      return (await gqlAt(`/graphql/${project}`, query, variables, options)).body;
    },
    async close() {
      await lakehouse.close();
      await oltp.close();
      await database.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
