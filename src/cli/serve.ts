// `serve`: starts Postgres (given or embedded), migrates, loads the catalog and serves GraphQL.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadCatalog } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import { createProjectEndpoints, loadPersistedOperations, type AuthSettings } from '../graphql/index.js';
import { createMetrics } from '../metrics/index.js';
import { checkReadiness, openOltpStore, openOltpStoreBeside, startEmbeddedPostgres, type EmbeddedPostgres, type OltpStore } from '../oltp/index.js';
import { openLakehouse, type Lakehouse } from './lakehouse.js';
import { isEmpty, seedDemo } from './seed.js';

const DEMO_COUNTS = { customers: 2_000, orders: 8_000 };
/** /readyz waits this long for Postgres: a probe must answer well within its own timeout. */
const READY_TIMEOUT_MS = 2_000;

/**
 * The URL of the pool that serves requests: STATEMENT_TIMEOUT_MS is sent as a startup parameter, so
 * every statement of a request is bounded while migrations, flushes, compactions and rebuilds (the
 * other pool) are not — a rebuild of a large entity may rightly run for minutes. Pure.
 */
export function requestDatabaseUrl(databaseUrl: string, statementTimeoutMs: number): string {
  if (statementTimeoutMs <= 0) return databaseUrl;
  const url = new URL(databaseUrl);
  url.searchParams.set('statement_timeout', String(statementTimeoutMs));
  return url.toString();
}

/** HOST unset: loopback only while no credential is configured (the generated token is for this machine). */
export function listenHost(config: Pick<Config, 'host' | 'adminToken' | 'auth'>): string {
  if (config.host) return config.host;
  return config.adminToken || config.auth.jwtSecret || config.auth.jwksUrl ? '0.0.0.0' : '127.0.0.1';
}

/** The admin token made when none is configured: made once, kept under DATA_DIR so restarts reuse it. */
async function generatedAdminToken(dataDir: string): Promise<string> {
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
  let requestOltp: OltpStore | undefined;
  let lakehouse: Lakehouse | undefined;
  let server: Server | undefined;
  const stop = async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    await lakehouse?.close().catch((error: unknown) => log.warn({ err: error }, 'stopping the lake workers failed'));
    await requestOltp?.close().catch((error: unknown) => log.warn({ err: error }, 'closing the request Postgres pool failed'));
    await oltp?.close().catch((error: unknown) => log.warn({ err: error }, 'closing the Postgres pool failed'));
    await embedded?.stop().catch((error: unknown) => log.warn({ err: error }, 'stopping the embedded Postgres failed'));
  };

  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const dataDir = path.join(config.dataDir, 'pg');
      log.info(`DATABASE_URL is not set: starting the embedded Postgres in ${dataDir}`);
      // Stopped last by stop(), after the pools: a Ctrl-C must not reach it before (embedded.ts).
      embedded = await startEmbeddedPostgres({ dataDir, port: config.embeddedPgPort, database: 'ltbase', log, ownProcessGroup: true });
      databaseUrl = embedded.url;
    }
    oltp = await openOltpStore({ databaseUrl, catalog, log, maxValueBytes: config.maxValueBytes });
    if (embedded && (await isEmpty(oltp))) await seedDemo(oltp, catalog, log, DEMO_COUNTS);
    // Requests get their own pool, whose statements STATEMENT_TIMEOUT_MS bounds (requestDatabaseUrl).
    requestOltp = openOltpStoreBeside(oltp, {
      databaseUrl: requestDatabaseUrl(databaseUrl, config.webSafety.statementTimeoutMs),
      catalog,
      log,
      maxValueBytes: config.maxValueBytes,
    });
    lakehouse = await openLakehouse({ ...config, requestPool: requestOltp.pool }, catalog, oltp, log, metrics);
    log.info(`lake: ${lakehouse.store.description}`);

    const jwtConfigured = Boolean(config.auth.jwtSecret || config.auth.jwksUrl);
    const adminToken = config.adminToken ?? (jwtConfigured ? undefined : await generatedAdminToken(config.dataDir));
    const auth: AuthSettings = {
      adminToken,
      anonymousRole: config.auth.anonymousRole,
      maxTokenBytes: config.auth.maxTokenBytes,
      jwt: jwtConfigured
        ? {
            secret: config.auth.jwtSecret,
            jwksUrl: config.auth.jwksUrl,
            issuer: config.auth.issuer,
            audience: config.auth.audience,
            claimsNamespace: config.auth.claimsNamespace,
            clockToleranceS: config.auth.clockToleranceS,
            jwksCooldownMs: config.auth.jwksCooldownMs,
          }
        : undefined,
    };
    const { persistedOperationsFile, statementTimeoutMs: _bound, ...safety } = config.webSafety;
    const persistedOperations = persistedOperationsFile ? await loadPersistedOperations(persistedOperationsFile) : undefined;
    const pool = oltp.pool;
    // One endpoint per project, /graphql/<project> (and /graphql when there is one): graphql/projects.ts.
    const endpoints = createProjectEndpoints({
      auth,
      webSafety: { ...safety, persistedOperations },
      metrics,
      readiness: () => checkReadiness(pool, READY_TIMEOUT_MS),
      bounds: { ...config.request, documentCache: config.documentCache },
      services: {
        catalog,
        oltp: requestOltp,
        admin: lakehouse.admin,
        search: lakehouse.search,
        log,
        limits: { ...config.query, maxInsertObjects: config.maxInsertObjects },
      },
    });
    server = createServer((request, response) => endpoints.handleNode(request, response));
    const host = listenHost(config);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.port, host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const urls = endpoints.projects.map((project) => `http://localhost:${port}${endpoints.endpointOf(project)}`);
    const url = urls.length === 1 ? `http://localhost:${port}/graphql` : urls[0]!;
    log.info({ ms: Math.round(performance.now() - started) }, urls.length === 1 ? `GraphiQL is at ${url}` : `GraphiQL is at ${urls.join(', ')} (one endpoint per project)`);
    log.info(`probes: http://localhost:${port}/healthz (alive), /readyz (Postgres answers), /metrics (Prometheus)`);
    if (!config.adminToken && adminToken) {
      log.info(
        `no credential is configured: listening on ${host} only; the admin token was generated and kept in ${path.join(config.dataDir, 'admin-token')}. ` +
          `GraphiQL headers (paste into its Headers tab): {"Authorization": "Bearer ${adminToken}"}. Set ADMIN_TOKEN and JWT_SECRET or JWT_JWKS_URL to serve others`,
      );
    } else if (adminToken) {
      log.info('admin: send "Authorization: Bearer <ADMIN_TOKEN>" (or "x-hasura-admin-secret: <ADMIN_TOKEN>")');
    } else {
      log.warn('ADMIN_TOKEN is not set: nobody has the admin credential (flush, compact, lake_status, jobs, verify, rebuild are refused)');
    }
    log.info(
      jwtConfigured
        ? `JWTs verified with ${config.auth.jwtSecret ? 'JWT_SECRET (HS256)' : `the keys at ${config.auth.jwksUrl}`}; claims under "${config.auth.claimsNamespace}"`
        : 'no JWT verification configured (JWT_SECRET or JWT_JWKS_URL): only the admin token is accepted',
    );
    if (config.auth.anonymousRole) log.info(`requests without a credential act as role "${config.auth.anonymousRole}" (ANONYMOUS_ROLE)`);
    if (config.workers) lakehouse.startWorkers();
    else log.info('WORKERS=false: this process does not flush or collect garbage on its own');
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
