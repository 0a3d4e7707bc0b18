// Closing a store waits for its connections to close: a database dropped right after a gateway
// stopped (as the benchmarks drop theirs) finds none of them, and none reports a failure.
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.js';
import { openOltpStore } from '../../src/oltp/index.js';
import { DEMO_SCHEMA_DIR } from '../support/gateway.js';
import { createTestDatabase } from '../support/postgres.js';

describe('closing a store', () => {
  it('resolves once its connections are closed: dropping the database right after finds none and nothing is logged', async () => {
    const catalog = await loadCatalog(DEMO_SCHEMA_DIR);
    for (let round = 0; round < 3; round++) {
      const database = await createTestDatabase();
      const logged: string[] = [];
      const log = pino({ level: 'warn' }, new Writable({ write: (chunk, _encoding, done) => done(void logged.push(String(chunk))) }));
      const store = await openOltpStore({ databaseUrl: database.url, catalog, log, poolSize: 8 });
      // Eight connections at once, all idle in the pool when it closes.
      await Promise.all(Array.from({ length: 8 }, () => store.pool.query('SELECT pg_sleep(0.02)')));
      expect(store.pool.totalCount).toBe(8);
      const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
      await admin.connect();
      try {
        await store.close();
        // At once, as a benchmark drops its database: WITH (FORCE) ends a backend still open.
        await admin.query(`DROP DATABASE ${database.name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(logged, `round ${round}`).toEqual([]);
    }
  });
});
