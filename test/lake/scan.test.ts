// Scans over lake files written by processes on different definitions: the columns may differ in
// set and in order, and every value must still land in its own column.
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseProjectDefinition } from '../../src/catalog/index.js';
import { DuckDb, lakeColumns, parquetScanSql, sqlString } from '../../src/lake/index.js';
import { scratchDir } from '../support/scratch.js';

let duck: DuckDb;
beforeAll(async () => {
  duck = await DuckDb.open();
});
afterAll(() => {
  duck?.close();
});

const items = parseProjectDefinition(
  { project: 'shop', entities: [{ id: 1, name: 'items', attributes: [{ name: 'a', type: 'string' }, { name: 'b', type: 'string' }] }] },
  'schema/shop.json',
).entities[0]!;

it('files with the same columns in another order are read by name, not by position', async () => {
  const dir = await scratchDir('scan-');
  const write = async (file: string, order: string[], values: Record<string, string>) => {
    const select = [
      `1::BIGINT AS time_slot, 1::SMALLINT AS schema_id, uuid() AS row_id, NULL::BIGINT AS deleted_at`,
      ...order.map((c) => `${sqlString(values[c]!)} AS ${c}`),
    ].join(', ');
    await duck.use((c) => c.run(`COPY (SELECT ${select}) TO ${sqlString(file)} (FORMAT parquet)`));
    return { localPath: file, columns: [...lakeColumns(items, []).map((c) => c.name), ...order] };
  };
  const first = await write(path.join(dir, 'ab.parquet'), ['a', 'b'], { a: 'a1', b: 'b1' });
  const second = await write(path.join(dir, 'ba.parquet'), ['b', 'a'], { a: 'a2', b: 'b2' });
  const rows = await duck.use(async (c) =>
    (await c.runAndReadAll(`SELECT a, b FROM ${parquetScanSql(items, [first, second])} ORDER BY a`)).getRowObjectsJS(),
  );
  expect(rows).toEqual([
    { a: 'a1', b: 'b1' },
    { a: 'a2', b: 'b2' },
  ]);
});
