import os from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 has no "exports" map: Node (and so production) loads its CommonJS main, while
    // Vite would pick the "module" build; two copies break `instanceof GraphQLError`. Load what Node loads.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // DuckDB's native addon and pg pools are happiest in separate processes.
    pool: 'forks',
    // Most of a test waits on Postgres, a child process or a timer, so two files run at once even
    // on two cores (vitest's default is cores - 1: one file at a time here, 499 s for the suite).
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    // A fork per file loaded the AWS SDK, DuckDB and graphql-yoga afresh for each of 100 files
    // (187 s of import in that run; 21 s shared). Every test file makes and closes its own
    // database, lake directory, S3 server and gateway, so files can share a process.
    isolate: false,
    // @20minutes/s3rver answers paginated ListObjectsV2 with 500 without the legacy provider (FIELD-NOTES).
    execArgv: ['--openssl-legacy-provider'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
