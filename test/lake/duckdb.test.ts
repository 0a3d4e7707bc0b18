// The process's DuckDB: offline by default, in UTC, and it says which optional extensions it has.
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
