// Scans over lake files written by processes on different definitions: the columns may differ in
// set and in order, and every value must still land in its own column.
import path from 'node:path';
import { expect, it } from 'vitest';
import { lakeColumns, parquetScanSql, sqlString } from '../../src/lake/index.js';
import { shopItems } from '../support/definitions.js';
import { fileDuckDb } from '../support/duckdb.js';
import { scratchDir } from '../support/scratch.js';

const duck = fileDuckDb();
const items = shopItems([{ name: 'a', type: 'string' }, { name: 'b', type: 'string' }]);

it('files with the same columns in another order are read by name, not by position', async () => {
  const dir = await scratchDir('scan-');
  const write = async (file: string, order: string[], values: Record<string, string>) => {
    const select = [
      `1::BIGINT AS time_slot, 1::SMALLINT AS schema_id, uuid() AS row_id, NULL::BIGINT AS deleted_at`,
      ...order.map((c) => `${sqlString(values[c]!)} AS ${c}`),
    ].join(', ');
    await duck().use((c) => c.run(`COPY (SELECT ${select}) TO ${sqlString(file)} (FORMAT parquet)`));
    return { localPath: file, columns: [...lakeColumns(items, []).map((c) => c.name), ...order] };
  };
  const first = await write(path.join(dir, 'ab.parquet'), ['a', 'b'], { a: 'a1', b: 'b1' });
  const second = await write(path.join(dir, 'ba.parquet'), ['b', 'a'], { a: 'a2', b: 'b2' });
  const rows = await duck().use(async (c) =>
    (await c.runAndReadAll(`SELECT a, b FROM ${parquetScanSql(items, [first, second])} ORDER BY a`)).getRowObjectsJS(),
  );
  expect(rows).toEqual([
    { a: 'a1', b: 'b1' },
    { a: 'a2', b: 'b2' },
  ]);
});
