// Reading a few rows of lake files by row_id (a kept aggregate's corrections, the positions of
// rows updated in the buffer, a search that pins row_id): in files written with the row key by key
// first, in files written before it by row_id alone, and the same rows either way.
import path from 'node:path';
import { expect, it } from 'vitest';
import { lakeColumns, ROW_KEY_COLUMN, rowKeyOf, sqlString, writeParquet } from '../../src/lake/index.js';
import { MAX_KEYED_ROWS, rowIdsConditionSql, rowKeyGroups, rowLookupGroups } from '../../src/query/row-lookup.js';
import type { TierFile } from '../../src/query/tiers.js';
import { currentRowsSql } from '../../src/query/view.js';
import { shopItems } from '../support/definitions.js';
import { fileDuckDb } from '../support/duckdb.js';
import { scratchDir } from '../support/scratch.js';

const duck = fileDuckDb();
const items = shopItems([{ name: 'v', type: 'int' }]);

/** A row_id whose first 8 bytes are `prefix` and whose last 8 are `tail`. */
const rowId = (prefix: bigint, tail: number) => {
  const h = prefix.toString(16).padStart(16, '0') + tail.toString(16).padStart(16, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

it('finds the same rows in files with and without the row key, also rows that share a key', async () => {
  const dir = await scratchDir('row-lookup-');
  // Rows i = 0..299,999 whose first 8 bytes are 1e15 + 4096 i (16 in a row share a row key, their
  // first 6 bytes; one in 16 is a version 7 id); every 1,000th row has a twin of the same 8 bytes.
  const rows = (first: number, count: number) =>
    `SELECT 1::BIGINT AS time_slot, 1::SMALLINT AS schema_id, id::UUID AS row_id, NULL::BIGINT AS deleted_at, v::BIGINT AS v FROM (
       SELECT (h[1:8] || '-' || h[9:12] || '-' || h[13:16] || '-' || t[1:4] || '-' || t[5:16]) AS id, v FROM (
         SELECT printf('%016x', 1000000000000000 + i * 4096) AS h, printf('%016x', twin) AS t, i * 2 + twin AS v
           FROM range(${first}, ${first + count}) AS r(i), range(2) AS s(twin) WHERE twin = 0 OR i % 1000 = 0))
     ORDER BY row_id`;
  // Written by the lake's writer (with the key, several row groups), and as files were before it.
  const keyedFile = await writeParquet(duck(), items, rows(0, 300_000), path.join(dir, 'keyed.parquet'));
  const olderPath = path.join(dir, 'older.parquet');
  await duck().use((c) => c.run(`COPY (${rows(300_000, 1_000)}) TO ${sqlString(olderPath)} (FORMAT parquet)`));
  expect(keyedFile.columns).toContain(ROW_KEY_COLUMN);
  const keyed: TierFile = { fileId: 1n, changedRows: 0, rowCount: keyedFile.rows, rowIdMin: keyedFile.rowIdMin, rowIdMax: keyedFile.rowIdMax, localPath: keyedFile.localFile, columns: keyedFile.columns, zones: null };
  const older: TierFile = {
    fileId: 2n,
    changedRows: 0,
    rowCount: 1_001,
    rowIdMin: rowId(1_000_000_000_000_000n + 300_000n * 4096n, 0),
    rowIdMax: rowId(1_000_000_000_000_000n + 300_999n * 4096n, 0),
    localPath: olderPath,
    columns: lakeColumns(items).map((c) => c.name),
    zones: null,
  };
  const prefix = (i: number) => 1_000_000_000_000_000n + BigInt(i) * 4096n;
  // A row, a row with a twin (only it asked for), both twins of another prefix, a row of the older
  // file, and a row_id no file holds (its key is other rows').
  const wanted = [rowId(prefix(7), 0), rowId(prefix(123_000), 0), rowId(prefix(250_000), 0), rowId(prefix(250_000), 1), rowId(prefix(300_500), 0), rowId(prefix(42), 1)];
  expect(rowKeyOf(wanted[1]!)).toBe(prefix(123_000) >> 16n);
  // The writer's key of every row (text and v7 paths alike) is the one the reader computes.
  const mismatched = await duck().use(async (c) =>
    (await c.runAndReadAll(`SELECT row_id::VARCHAR AS id, ${ROW_KEY_COLUMN} AS k FROM read_parquet(${sqlString(keyedFile.localFile)})`))
      .getRowObjectsJS()
      .filter((r) => r.k !== rowKeyOf(r.id as string)),
  );
  expect(mismatched).toEqual([]);
  const versions = await duck().use(async (c) =>
    (await c.runAndReadAll(`SELECT count(*) FILTER (WHERE uuid_extract_version(row_id) = 7)::INTEGER AS v7, count(*)::INTEGER AS n FROM read_parquet(${sqlString(keyedFile.localFile)})`)).getRowObjectsJS(),
  );
  expect(versions[0]!.v7).toBeGreaterThan(0);
  expect(versions[0]!.v7).toBeLessThan(versions[0]!.n as number);

  const groups = rowLookupGroups([keyed, older], wanted);
  expect(groups.map((g) => [g.files.map((f) => f.fileId), g.where.startsWith(`${ROW_KEY_COLUMN} IN (`)])).toEqual([
    [[1n], true],
    [[2n], false],
  ]);
  const tiers = { entity: items, files: [keyed, older], latestChanged: null, hot: null };
  const found = await duck().use(async (c) =>
    (await c.runAndReadAll(`SELECT v FROM ${currentRowsSql(tiers, wanted, null, wanted)} AS r ORDER BY v`)).getRowObjectsJS().map((r) => Number(r.v)),
  );
  expect(found).toEqual([14, 246_000, 500_000, 500_001, 601_000]);

  // A search's filter by row_id (its own condition on top): the keyed file by its row keys, the
  // older file as it is; the same rows, and a twin not asked for stays out.
  const keyGroups = rowKeyGroups([keyed, older], wanted)!;
  expect(keyGroups.map((g) => [g.files.map((f) => f.fileId), g.where?.startsWith(`${ROW_KEY_COLUMN} IN (`) ?? false])).toEqual([
    [[1n], true],
    [[2n], false],
  ]);
  const searched = await duck().use(async (c) =>
    (await c.runAndReadAll(`SELECT v FROM ${currentRowsSql(tiers, wanted)} AS r WHERE ${rowIdsConditionSql(wanted)} ORDER BY v`)).getRowObjectsJS().map((r) => Number(r.v)),
  );
  expect(searched).toEqual(found);
  // Past the bound, or with a value that is no UUID (the search's filter refuses it), files are read as they are.
  expect(rowKeyGroups([keyed], Array.from({ length: MAX_KEYED_ROWS + 1 }, (_, i) => rowId(prefix(i), 0)))).toBeNull();
  expect(rowKeyGroups([keyed], [wanted[0]!, 'not-a-uuid'])).toBeNull();
  expect(rowKeyGroups([older], wanted)).toBeNull();
});
