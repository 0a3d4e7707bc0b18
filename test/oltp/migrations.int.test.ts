// The migration runner applies each missing version, so branches that number theirs apart merge
// in any order; and migration 5 holds an older database to the enum values its rows already have.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { createPool, MIGRATIONS, migrate, openOltpStore, type Migration, type PgPool } from '../../src/oltp/index.js';
import { DEMO_SCHEMA_DIR } from '../support/gateway.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const log = pino({ level: 'silent' });
let database: TestDatabase | undefined;
let pool: PgPool | undefined;
afterEach(async () => {
  await pool?.end();
  await database?.drop();
  pool = database = undefined;
});

async function freshPool(): Promise<PgPool> {
  database = await createTestDatabase();
  pool = createPool(database.url);
  return pool;
}

async function appliedVersions(db: PgPool): Promise<number[]> {
  return (await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
}

describe('migrations', () => {
  it('a lower version that lands after a higher one is still applied', async () => {
    const db = await freshPool();
    const fourLater: Migration = { version: 4, name: 'a later branch', sql: 'CREATE TABLE probe_four (x integer)' };
    await migrate(db, log, MIGRATIONS.filter((m) => m.version !== 4));
    expect(await appliedVersions(db)).not.toContain(4);
    await migrate(db, log, [...MIGRATIONS.filter((m) => m.version !== 4), fourLater]);
    expect(await appliedVersions(db)).toContain(4);
    expect(await appliedVersions(db)).toContain(5);
    expect((await db.query(`SELECT to_regclass('probe_four') AS t`)).rows[0].t).toBe('probe_four');
  });

  it('migration 5 registers the enum values rows already hold, so a definition without one is refused', async () => {
    const db = await freshPool();
    await migrate(db, log, MIGRATIONS.filter((m) => m.version < 4));
    // A database from before the enum registry: an attribute and a row holding a value.
    await db.query(`INSERT INTO eav_attribute (attribute_id, project, schema_id, name, type) VALUES (100, 'demo', 1, 'tier', 'enum')`);
    await db.query(`INSERT INTO eav_value (row_id, attribute_id, v_text) VALUES ('0190a0a0-0000-7000-8000-000000000001', 100, 'LEGACY')`);
    await migrate(db, log);
    expect((await db.query(`SELECT value FROM eav_enum_value WHERE attribute_id = 100`)).rows).toEqual([{ value: 'LEGACY' }]);
    const opened = openOltpStore({ databaseUrl: database!.url, catalog: await loadCatalog(DEMO_SCHEMA_DIR), log });
    await expect(opened).rejects.toThrow(ConfigError);
    await expect(opened).rejects.toThrow(/customers\.tier: enum value "LEGACY" is missing/);
  });
});
