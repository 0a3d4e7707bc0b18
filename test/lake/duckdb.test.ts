// The process's DuckDB: offline by default, in UTC, says which optional extensions it has, and
// returns strings as stored.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DuckDb } from '../../src/lake/index.js';

let duck: DuckDb;
beforeAll(async () => {
  duck = await DuckDb.open();
});
afterAll(() => {
  duck?.close();
});

it('never installs an extension at run time, and reports whether httpfs and postgres loaded locally', async () => {
  const settings = await duck.use(async (c) =>
    (await c.runAndReadAll(`SELECT current_setting('autoinstall_known_extensions') AS install, current_setting('TimeZone') AS zone`)).getRowObjectsJS(),
  );
  expect(settings).toEqual([{ install: false, zone: 'UTC' }]);
  const loaded = await duck.use(async (c) =>
    (await c.runAndReadAll(`SELECT extension_name, loaded FROM duckdb_extensions() WHERE extension_name IN ('httpfs', 'postgres_scanner') ORDER BY 1`)).getRowObjectsJS(),
  );
  expect(duck.extensions).toEqual({
    httpfs: loaded.find((e) => e.extension_name === 'httpfs')?.loaded ?? false,
    postgres: loaded.find((e) => e.extension_name === 'postgres_scanner')?.loaded ?? false,
  });
});

it('returns a string that starts with a byte order mark whole, as a bound value and as a result', async () => {
  const row = await duck.use(async (c) =>
    (await c.runAndReadAll(`SELECT $1 AS bound, chr(65279) || 'bom' AS built, length($1) AS n`, ['\uFEFFbom'])).getRowObjectsJS()[0]!,
  );
  expect(row).toEqual({ bound: '\uFEFFbom', built: '\uFEFFbom', n: 4n });
});
