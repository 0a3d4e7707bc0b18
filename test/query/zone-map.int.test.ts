// Zone-map pruning skips files whose ranges rule a filter out, and never revives an older version:
// a skipped file's changed set still hides the versions it supersedes (view.ts, zone-map.ts).
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EntitySchema } from '../../src/catalog/index.js';
import { DuckDb } from '../../src/lake/index.js';
import type { Filter } from '../../src/query/filter.js';
import { HotMirror } from '../../src/query/hot.js';
import { LakeLatestVersions } from '../../src/query/latest.js';
import { takeSnapshot } from '../../src/query/snapshot.js';
import { ChangedRowSets } from '../../src/query/tiers.js';
import { currentRowsSql } from '../../src/query/view.js';
import { ZoneMaps } from '../../src/query/zone-map.js';
import { sqlString } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { scratchDir } from '../support/scratch.js';

describe('zone maps: pruning files by their column ranges', () => {
  let gw: TestGateway;
  let duck: DuckDb;
  let hot: HotMirror;
  let changed: ChangedRowSets;
  let latest: LakeLatestVersions;
  let zones: ZoneMaps;
  let orders: EntitySchema;

  beforeEach(async () => {
    gw = await startTestGateway();
    // A DuckDB of its own: the mirror's table names would collide with the gateway's engine.
    const dir = await scratchDir('zone-map-');
    duck = await DuckDb.open({ tempDir: path.join(dir, 'duckdb') });
    hot = new HotMirror(duck);
    changed = new ChangedRowSets(gw.oltp.pool, duck);
    latest = new LakeLatestVersions(duck);
    zones = new ZoneMaps(duck);
    orders = gw.catalog.entity('orders');
  });
  afterEach(async () => {
    duck?.close();
    await gw?.close();
  });

  const quantity = { name: 'quantity', type: 'int' as const };
  const atLeast = (n: bigint) => ({ filter: { kind: 'compare', column: quantity, op: 'gte', value: n } as Filter, where: `quantity >= ${n}` });
  const below = (n: bigint) => ({ filter: { kind: 'compare', column: quantity, op: 'lt', value: n } as Filter, where: `quantity < ${n}` });

  /** The row_id:quantity of the current orders the filter keeps, and how many lake files the statement reads. */
  const search = async ({ filter, where }: { filter: Filter; where: string }) => {
    // A first snapshot starts the zones' computation (in the background), the second one uses them.
    (await takeSnapshot({ pool: gw.oltp.pool, hot, cache: gw.lakehouse.cache, changed, latest, zones }, [orders])).release();
    await zones.settled();
    const snapshot = await takeSnapshot({ pool: gw.oltp.pool, hot, cache: gw.lakehouse.cache, changed, latest, zones }, [orders]);
    try {
      const tiers = snapshot.tiers(orders);
      const sql = currentRowsSql(tiers, null, filter);
      const rows = await duck.use(async (c) => {
        const reader = await c.runAndReadAll(`SELECT row_id::VARCHAR AS id, quantity FROM ${sql} AS o WHERE ${where} ORDER BY id`);
        return reader.getRowObjectsJS() as { id: string; quantity: bigint }[];
      });
      const filesRead = tiers.files.filter((f) => sql.includes(sqlString(f.localPath))).length;
      return { rows: rows.map((r) => `${r.id}:${r.quantity}`), filesRead, files: tiers.files.length };
    } finally {
      snapshot.release();
    }
  };
  const insert = async (...quantities: number[]) => (await gw.oltp.writer.insert(orders, quantities.map((q) => ({ quantity: q })))).map((r) => r.row_id);
  const flush = async () => expect((await gw.lakehouse.admin.flush(orders, true)).flushed).toBe(true);
  const setQuantity = (rowId: string, q: number) => gw.oltp.writer.update(orders, rowId, { quantity: q });
  const sorted = (entries: string[]) => [...entries].sort();

  it('skips the files whose range rules the filter out', async () => {
    // given: small quantities in one file, large ones in another
    const small = await insert(1, 2, 3);
    await flush();
    const large = await insert(100, 200);
    await flush();

    // when / then: each filter reads the one file that can hold its rows
    const big = await search(atLeast(50n));
    expect(big).toMatchObject({ filesRead: 1, files: 2 });
    expect(big.rows).toEqual(sorted(large.map((id, i) => `${id}:${[100, 200][i]}`)));
    const few = await search(below(10n));
    expect(few).toMatchObject({ filesRead: 1, files: 2 });
    expect(few.rows).toEqual(sorted(small.map((id, i) => `${id}:${i + 1}`)));
  });

  it('an update flushed into a skipped file still hides the version it moved out of the range', async () => {
    // given: row A with quantity 5 in file 1; then A set to 100, flushed with a new row B (200) into file 2
    const [a] = await insert(5);
    await flush();
    await setQuantity(a!, 100);
    const [b] = await insert(200);
    await flush();

    // when: a filter file 2's range rules out (quantity < 50), so only file 1's range is read
    const few = await search(below(50n));

    // then: A's old version (5) stays hidden by file 2's changed set
    expect(few.rows).toEqual([]);
    // and the other way round, file 1 skipped: A's newest version and B
    const big = await search(atLeast(50n));
    expect(big.rows).toEqual(sorted([`${a}:100`, `${b}:200`]));
  });

  it('an update in the buffer moves a row into the range of a filter its file is skipped for, and out of another', async () => {
    // given: A (5) and C (7) in file 1; A set to 100 in the buffer
    const [a, c] = await insert(5, 7);
    await flush();
    await setQuantity(a!, 100);

    // when / then: file 1 is skipped for quantity >= 50, and A comes from the buffer
    const big = await search(atLeast(50n));
    expect(big.filesRead).toBe(0);
    expect(big.rows).toEqual([`${a}:100`]);
    // file 1 is read for quantity < 50, and A's old version is hidden by the buffer
    const few = await search(below(50n));
    expect(few.rows).toEqual([`${c}:7`]);
  });

  it('a file whose rows all lack the attribute (NULL) is skipped for any comparison of it', async () => {
    // given: a file whose orders have no quantity (NULL in every row), then one with quantities
    const [none] = (await gw.oltp.writer.insert(orders, [{ total: 1 }])).map((r) => r.row_id);
    await flush();
    const [some] = await insert(3);
    await flush();

    // when / then: the NULL-only file is not read for a comparison, and its row does not match
    const few = await search(below(10n));
    expect(few).toMatchObject({ filesRead: 1, rows: [`${some}:3`] });
    expect(none).toBeDefined();
  });
});
