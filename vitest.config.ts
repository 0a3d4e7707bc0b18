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
    // @20minutes/s3rver answers paginated ListObjectsV2 with 500 without the legacy provider (FIELD-NOTES).
    execArgv: ['--openssl-legacy-provider'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
