// Command line entry: serve (default), schema print, seed, flush, compact, verify, rebuild, lake ddl, token.
import './cli/production-mode.js'; // first: before any library reads NODE_ENV
import fs from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import type { Logger } from 'pino';
import { loadCatalog } from './catalog/index.js';
import { printLakeDdl } from './cli/lake-ddl.js';
import { createLogger } from './cli/logger.js';
import { runMaintenance, withOltpStore } from './cli/maintain.js';
import { seedDemo } from './cli/seed.js';
import { serve } from './cli/serve.js';
import { mintDevelopmentToken, sessionVariables } from './cli/token.js';
import { loadConfig, type Config } from './config/index.js';
import { GatewayError } from './errors/index.js';
import { printGatewaySchema } from './graphql/index.js';

/**
 * Runs a command; a GatewayError (bad config or definitions) ends the process with its message only.
 * Logs go to stdout, or to stderr (`logTo` 2) for commands whose stdout is their result.
 */
async function run(action: (config: Config, log: Logger) => Promise<void>, logTo: 1 | 2 = 1): Promise<void> {
  let log: Logger = createLogger({ logLevel: 'info', logFormat: 'auto', fd: logTo });
  try {
    const config = loadConfig();
    log = createLogger({ ...config, fd: logTo });
    await action(config, log);
  } catch (error) {
    if (error instanceof GatewayError) log.fatal(error.message);
    else log.fatal({ err: error }, 'failed');
    process.exitCode = 1;
  }
}

/** Entity names are unique within a project only. */
const PROJECT_OPTION = 'only this project’s entities; needed for an entity name several projects define';

const program = new Command('ltbase-gateway').description('LTBase analytics gateway');

program
  .command('serve', { isDefault: true })
  .description('serve GraphQL (and GraphiQL) on PORT')
  .action(() =>
    run(async (config, log) => {
      const gateway = await serve(config, log);
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info(`${signal}: shutting down`);
        gateway
          .stop()
          .then(() => log.info('stopped'))
          .finally(() => process.exit(0));
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    }),
  );

program
  .command('schema')
  .description('schema tools')
  .command('print')
  .description('write the GraphQL schema generated from SCHEMA_DIR')
  .option('-o, --out <file>', 'output file', 'schema/schema.graphql')
  .option('--project <name>', 'the project whose schema to write (each has its own); needed when SCHEMA_DIR defines several')
  .option('--role <name>', "the schema a role sees (its permissions'); default: the admin's, all of it")
  .action((options: { out: string; project?: string; role?: string }) =>
    run(async (config, log) => {
      const sdl = printGatewaySchema(await loadCatalog(config.schemaDir), options.project, options.role);
      await fs.mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
      await fs.writeFile(options.out, sdl);
      log.info(`wrote ${options.out}`);
    }),
  );

program
  .command('seed')
  .description('load the demo data set through the write path')
  .option('--customers <n>', 'customers to insert', (v) => Number.parseInt(v, 10), 2_000)
  .option('--orders <n>', 'orders to insert', (v) => Number.parseInt(v, 10), 8_000)
  .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 42)
  .action((options: { customers: number; orders: number; seed: number }) =>
    run(async (config, log) => {
      const catalog = await loadCatalog(config.schemaDir);
      await withOltpStore(config, log, catalog, (oltp) => seedDemo(oltp, catalog, log, options));
    }),
  );

for (const [name, description] of [
  ['flush', 'flush buffered changes into delta files (all entities, or one)'],
  ['compact', 'compact delta files into base files (all entities, or one)'],
] as const) {
  program
    .command(name)
    .description(description)
    .argument('[entity]', 'entity name, e.g. orders')
    .option('--project <name>', PROJECT_OPTION)
    .option('--force', 'even below the thresholds', false)
    .action((entity: string | undefined, options: { force: boolean; project?: string }) =>
      run(
        (config, log) =>
          runMaintenance(config, log, { entity, project: options.project }, (admin, schema) => (name === 'flush' ? admin.flush(schema, options.force) : admin.compact(schema, options.force))),
        2,
      ),
    );
}

program
  .command('verify')
  .description('compare the lake (merge-on-read) with the OLTP truth and report drift (all entities, or one); exit code 2 on drift')
  .argument('[entity]', 'entity name, e.g. orders')
  .option('--project <name>', PROJECT_OPTION)
  .action((entity: string | undefined, options: { project?: string }) =>
    run(
      (config, log) =>
        runMaintenance(config, log, { entity, project: options.project }, async (admin, schema) => {
          const report = await admin.verify(schema);
          if (!report.ok) process.exitCode = 2;
          return report;
        }),
      2,
    ),
  );

program
  .command('rebuild')
  .description('write the lake afresh from the OLTP truth, in one manifest swap (all entities, or one)')
  .argument('[entity]', 'entity name, e.g. orders')
  .option('--project <name>', PROJECT_OPTION)
  .action((entity: string | undefined, options: { project?: string }) =>
    run((config, log) => runMaintenance(config, log, { entity, project: options.project }, (admin, schema) => admin.rebuild(schema)), 2),
  );

program
  .command('lake')
  .description('lake tools')
  .command('ddl')
  .description('print, per entity, external tables over its lake files and a view of its live rows (last write wins, deletes dropped) for a distributed engine')
  .requiredOption('--engine <engine>', 'trino, athena, spark or duckdb')
  .option('--project <name>', 'only this project’s entities')
  .option('--entity <name>', 'only this entity (with --project when several projects define it)')
  .option('--location <url>', 'the lake root as the engine names it (e.g. s3a://bucket/prefix for Spark); default LAKE_URL')
  .option('--namespace <name>', 'where the tables and views go: catalog.schema (Trino), a database (Athena, Spark)')
  .action((options: { engine: string; project?: string; entity?: string; location?: string; namespace?: string }) =>
    run((config, log) => printLakeDdl(config, log, options), 2),
  );

program
  .command('token')
  .description('print a development JWT with Hasura claims, signed with JWT_SECRET (HS256)')
  .requiredOption('--role <role>', 'the default role (x-hasura-default-role)')
  .option('--roles <roles>', 'more allowed roles, comma-separated (x-hasura-allowed-roles)', '')
  .option('--user-id <id>', 'x-hasura-user-id (and sub)')
  .option('--project <project>', 'x-hasura-project, the project the token is for')
  .option('--claim <name=value>', 'another session variable, e.g. x-hasura-region=eu (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
  .option('--expires-in <span>', 'lifetime, e.g. 30m, 1h, 7d', '1h')
  .action((options: { role: string; roles: string; userId?: string; project?: string; claim: string[]; expiresIn: string }) =>
    run(async (config) => {
      const token = await mintDevelopmentToken(config, {
        role: options.role,
        roles: options.roles.split(',').map((r) => r.trim()).filter((r) => r !== ''),
        userId: options.userId,
        project: options.project,
        variables: sessionVariables(options.claim),
        expiresIn: options.expiresIn,
      });
      process.stdout.write(`${token}\n`);
    }, 2),
  );

await program.parseAsync();
