// One-off maintenance from the command line (`flush`, `compact`): for cron jobs and operators,
// the same operations as the admin mutations, without a running gateway.
import path from 'node:path';
import type { Logger } from 'pino';
import { loadCatalog, type Catalog, type EntitySchema } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import type { AdminOperations } from '../graphql/index.js';
import { openOltpStore, startEmbeddedPostgres, type OltpStore } from '../oltp/index.js';
import { openLakehouse } from './lakehouse.js';

/**
 * Runs `work` with the OLTP store of DATABASE_URL, or else of the embedded Postgres of DATA_DIR
 * (started for the command and stopped after it; a running `npm start` holds it).
 */
export async function withOltpStore(config: Config, log: Logger, catalog: Catalog, work: (oltp: OltpStore) => Promise<void>): Promise<void> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'pg'), port: config.embeddedPgPort, database: 'ltbase', log });
  try {
    const oltp = await openOltpStore({ databaseUrl: config.databaseUrl ?? embedded!.url, catalog, log, maxValueBytes: config.maxValueBytes });
    try {
      await work(oltp);
    } finally {
      await oltp.close();
    }
  } finally {
    await embedded?.stop();
  }
}

/**
 * Runs `operation` for the named entity (or every entity) and prints one JSON report per entity.
 * Without DATABASE_URL use the admin mutation of a running `npm start` instead (see withOltpStore).
 */
export async function runMaintenance(
  config: Config,
  log: Logger,
  entityName: string | undefined,
  operation: (admin: AdminOperations, entity: EntitySchema) => Promise<unknown>,
): Promise<void> {
  const catalog = await loadCatalog(config.schemaDir);
  const entities = entityName ? [catalog.entity(entityName)] : catalog.entities;
  await withOltpStore(config, log, catalog, async (oltp) => {
    const lakehouse = await openLakehouse(config, catalog, oltp, log);
    try {
      // BigInt fields (slots) print as decimal text.
      const json = (report: unknown) => JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
      for (const entity of entities) process.stdout.write(`${json(await operation(lakehouse.admin, entity))}\n`);
    } finally {
      await lakehouse.close();
    }
  });
}
