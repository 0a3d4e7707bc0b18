// `serve`: starts Postgres (given or embedded), migrates, loads the catalog and serves GraphQL.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadCatalog } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import { createProjectEndpoints } from '../graphql/index.js';
import { createMetrics } from '../metrics/index.js';
import { checkReadiness, openOltpStore, startEmbeddedPostgres, type EmbeddedPostgres, type OltpStore } from '../oltp/index.js';
import { openLakehouse, type Lakehouse } from './lakehouse.js';
import { isEmpty, seedDemo } from './seed.js';

const DEMO_COUNTS = { customers: 2_000, orders: 8_000 };
const MAX_INSERT_OBJECTS = 50_000;
/** /readyz waits this long for Postgres: a probe must answer well within its own timeout. */
const READY_TIMEOUT_MS = 2_000;

/** The embedded default's admin token: made once, kept under DATA_DIR so restarts reuse it. */
async function embeddedAdminToken(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'admin-token');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const token = randomBytes(24).toString('base64url');
    await fs.mkdir(dataDir, { recursive: true });
    await fs.writeFile(file, `${token}\n`, { mode: 0o600 });
    return token;
  }
}

export interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

export async function serve(config: Config, log: Logger): Promise<RunningGateway> {
  const started = performance.now();
  const metrics = createMetrics();
  const catalog = await loadCatalog(config.schemaDir);
  log.info({ entities: catalog.entities.map((e) => `${e.project}.${e.name}`) }, `loaded schema definitions from ${config.schemaDir}`);

  let embedded: EmbeddedPostgres | undefined;
  let oltp: OltpStore | undefined;
  let lakehouse: Lakehouse | undefined;
  let server: Server | undefined;
  const stop = async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    await lakehouse?.close().catch((error: unknown) => log.warn({ err: error }, 'stopping the lake workers failed'));
    await oltp?.close().catch((error: unknown) => log.warn({ err: error }, 'closing the Postgres pool failed'));
    await embedded?.stop().catch((error: unknown) => log.warn({ err: error }, 'stopping the embedded Postgres failed'));
  };

  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const dataDir = path.join(config.dataDir, 'pg');
      log.info(`DATABASE_URL is not set: starting the embedded Postgres in ${dataDir}`);
      embedded = await startEmbeddedPostgres({ dataDir, port: config.embeddedPgPort, database: 'ltbase', log });
      databaseUrl = embedded.url;
    }
    oltp = await openOltpStore({ databaseUrl, catalog, log, maxValueBytes: config.maxValueBytes });
    if (embedded && (await isEmpty(oltp))) await seedDemo(oltp, catalog, log, DEMO_COUNTS);
    lakehouse = await openLakehouse(config, catalog, oltp, log, metrics);
    log.info(`lake: ${lakehouse.store.description}`);

    const adminToken = config.adminToken ?? (embedded ? await embeddedAdminToken(config.dataDir) : undefined);
    const pool = oltp.pool;
    // One endpoint per project, /graphql/<project> (and /graphql when there is one): graphql/projects.ts.
    const endpoints = createProjectEndpoints({
      adminToken,
      metrics,
      readiness: () => checkReadiness(pool, READY_TIMEOUT_MS),
      bounds: { ...config.request, documentCache: config.documentCache },
      services: {
        catalog,
        oltp,
        admin: lakehouse.admin,
        search: lakehouse.search,
        log,
        limits: { ...config.query, maxInsertObjects: MAX_INSERT_OBJECTS },
      },
    });
    server = createServer((request, response) => endpoints.handleNode(request, response));
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.port, config.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const urls = endpoints.projects.map((project) => `http://localhost:${port}${endpoints.endpointOf(project)}`);
    const url = urls.length === 1 ? `http://localhost:${port}/graphql` : urls[0]!;
    log.info({ ms: Math.round(performance.now() - started) }, urls.length === 1 ? `GraphiQL is at ${url}` : `GraphiQL is at ${urls.join(', ')} (one endpoint per project)`);
    log.info(`probes: http://localhost:${port}/healthz (alive), /readyz (Postgres answers), /metrics (Prometheus)`);
    if (adminToken) {
      log.info(
        config.adminToken
          ? 'admin API: send "Authorization: Bearer <ADMIN_TOKEN>"'
          : `admin API (embedded default): send "Authorization: Bearer ${adminToken}" (kept in ${path.join(config.dataDir, 'admin-token')}; set ADMIN_TOKEN to choose one)`,
      );
    } else {
      log.warn('ADMIN_TOKEN is not set: the admin API refuses every call');
    }
    if (config.workers) lakehouse.startWorkers();
    else log.info('WORKERS=false: this process does not flush or collect garbage on its own');
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
