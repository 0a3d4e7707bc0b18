// One-off maintenance from the command line (`flush`, `compact`): for cron jobs and operators,
// the same operations as the admin mutations, beside a running gateway or without one.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadCatalog, type Catalog, type EntitySchema } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import type { AdminOperations } from '../graphql/index.js';
import { openOltpStore, startEmbeddedPostgres, type OltpStore } from '../oltp/index.js';
import { openLakehouse } from './lakehouse.js';

/**
 * Runs `work` with the OLTP store of DATABASE_URL, or else of the embedded Postgres of DATA_DIR:
 * the one a running gateway owns (used, never stopped), else one started for the command and
 * stopped after it. `joined` says which, so the command keeps its scratch files apart.
 */
export async function withOltpStore(
  config: Config,
  log: Logger,
  catalog: Catalog,
  work: (oltp: OltpStore, joined: boolean) => Promise<void>,
): Promise<void> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'pg'), port: config.embeddedPgPort, database: 'ltbase', log, whenOwned: 'join' });
  try {
    const oltp = await openOltpStore({ databaseUrl: config.databaseUrl ?? embedded!.url, catalog, log, maxValueBytes: config.maxValueBytes });
    try {
      await work(oltp, embedded?.joined !== undefined);
    } finally {
      await oltp.close();
    }
  } finally {
    await embedded?.stop();
  }
}

/**
 * The entities a command names: `entity` of `project`, every entity of `project`, or every entity.
 * An entity name several projects define needs the project (the error says so).
 */
export function entitiesNamed(catalog: Catalog, target: { entity?: string; project?: string }): readonly EntitySchema[] {
  if (target.entity) return [catalog.entity(target.entity, target.project)];
  return target.project ? catalog.project(target.project).entities : catalog.entities;
}

/** Runs `operation` for the named entity (or every entity, of one project or all) and prints one JSON report per entity. */
export async function runMaintenance(
  config: Config,
  log: Logger,
  target: { entity?: string; project?: string },
  operation: (admin: AdminOperations, entity: EntitySchema) => Promise<unknown>,
): Promise<void> {
  const catalog = await loadCatalog(config.schemaDir);
  const entities = entitiesNamed(catalog, target);
  await withOltpStore(config, log, catalog, async (oltp, joined) => {
    // Beside a running gateway, DuckDB's spill files and the read cache go to a directory of this
    // command's own (the gateway's are in use), removed after it.
    const dataDir = joined ? path.join(config.dataDir, 'tmp', `cli-${process.pid}`) : config.dataDir;
    const lakehouse = await openLakehouse({ ...config, dataDir }, catalog, oltp, log);
    try {
      // BigInt fields (slots) print as decimal text.
      const json = (report: unknown) => JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
      for (const entity of entities) process.stdout.write(`${json(await operation(lakehouse.admin, entity))}\n`);
    } finally {
      await lakehouse.close();
      if (joined) await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
}
