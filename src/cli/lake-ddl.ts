// `lake ddl`: prints, per entity, the DDL that opens its lake files to Trino, Athena, Spark or DuckDB.
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { loadCatalog } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import { ValidationError } from '../errors/index.js';
import { DDL_ENGINES, externalDdl, liveFiles, type DdlEngine } from '../lake/index.js';
import { bufferStats, inTransaction } from '../oltp/index.js';
import { entitiesNamed, withOltpStore } from './maintain.js';

export interface LakeDdlOptions {
  engine: string;
  project?: string;
  entity?: string;
  /** The lake root as the engine names it; default LAKE_URL (a file:// root as a path for DuckDB). */
  location?: string;
  namespace?: string;
}

export function parseEngine(engine: string): DdlEngine {
  if (!(DDL_ENGINES as readonly string[]).includes(engine)) {
    throw new ValidationError(`--engine ${JSON.stringify(engine)}: expected one of ${DDL_ENGINES.join(', ')}`);
  }
  return engine as DdlEngine;
}

/** The default location: LAKE_URL, except that DuckDB reads a local lake by its path. */
function defaultLocation(config: Config, engine: DdlEngine): string {
  return engine === 'duckdb' && config.lakeUrl.startsWith('file://') ? fileURLToPath(config.lakeUrl) : config.lakeUrl;
}

/** Writes the DDL of the named entities (each from its own manifest listing) to stdout. */
export async function printLakeDdl(config: Config, log: Logger, options: LakeDdlOptions): Promise<void> {
  const engine = parseEngine(options.engine);
  const catalog = await loadCatalog(config.schemaDir);
  const entities = entitiesNamed(catalog, options);
  const location = options.location ?? defaultLocation(config, engine);
  await withOltpStore(config, log, catalog, async (oltp) => {
    for (const entity of entities) {
      // The live files and the buffer's state from one snapshot, so the header tells the truth about the listing.
      const { files, buffered, listedAt } = await inTransaction(
        oltp.pool,
        async (client) => ({ files: await liveFiles(client, entity), buffered: await bufferStats(client, entity), listedAt: new Date() }),
        'REPEATABLE READ',
      );
      const ddl = externalDdl({
        engine,
        entity,
        files,
        location,
        namespace: options.namespace,
        listedAt,
        buffered: { rows: buffered.rows, newestSlot: buffered.newestSlot },
      });
      process.stdout.write(`${ddl}\n`);
    }
  });
}
