// Finds a Postgres server for the whole test run, in this order: TEST_DATABASE_URL or
// DATABASE_URL; a container when a Docker engine answers; else an embedded Postgres in a temp
// directory. Test files then create their own databases on it (see postgres.ts).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/oltp/index.js';
import { freePort } from './ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A Postgres URL whose user may create and drop databases. */
    pgAdminUrl: string;
    /** Where it came from: env, container or embedded. */
    pgSource: string;
    /** A temp directory for files tests make, removed after the run (see scratch.ts). */
    scratchDir: string;
  }
}

type Teardown = () => Promise<void>;

async function fromContainer(): Promise<{ url: string; stop: Teardown } | null> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    return null; // no Docker engine: fall back
  }
  const container = await new GenericContainer('postgres:16-alpine')
    .withEnvironment({ POSTGRES_PASSWORD: 'postgres' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    url: `postgres://postgres:postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
    stop: async () => void (await container.stop()),
  };
}

async function fromEmbedded(): Promise<{ url: string; stop: Teardown }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-test-pg-'));
  await fs.chmod(dir, 0o755); // the postgres user the server runs as (when we are root) must enter it
  const server = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port: await freePort(),
    database: 'postgres',
    log: pino({ level: 'warn' }),
    durable: false,
  });
  return {
    url: server.adminUrl,
    stop: async () => {
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject): Promise<Teardown> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-test-scratch-'));
  project.provide('scratchDir', scratch);
  const removeScratch = () => fs.rm(scratch, { recursive: true, force: true });
  const given = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (given) {
    project.provide('pgAdminUrl', given);
    project.provide('pgSource', 'env');
    return removeScratch;
  }
  const server = (await fromContainer()) ?? (await fromEmbedded());
  project.provide('pgAdminUrl', server.url);
  project.provide('pgSource', server.url.includes('postgres:postgres@') ? 'container' : 'embedded');
  return async () => {
    await server.stop();
    await removeScratch();
  };
}
