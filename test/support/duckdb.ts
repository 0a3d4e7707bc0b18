// One in-memory DuckDB for the tests of a file: opened before them, closed after.
import { afterAll, beforeAll } from 'vitest';
import { DuckDb } from '../../src/lake/index.js';

/** Registers the file's hooks; the returned function gives the open DuckDb inside its tests. */
export function fileDuckDb(): () => DuckDb {
  let duck: DuckDb | undefined;
  beforeAll(async () => {
    duck = await DuckDb.open();
  });
  afterAll(() => {
    duck?.close();
  });
  return () => {
    if (!duck) throw new Error('DuckDB is open only inside the tests of the file');
    return duck;
  };
}
