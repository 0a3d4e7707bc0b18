// Inserts in the buffer supersede nothing in the lake (hot.ts: change_log.op in the mirror): a
// buffer of inserts only costs the older tiers no anti-join, and every update or delete of a row
// the lake holds still hides its lake version, however the row's insert travelled.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EntitySchema } from '../../src/catalog/index.js';
import type { DuckDb } from '../../src/lake/index.js';
import { takeSnapshot } from '../../src/query/snapshot.js';
import { currentRowsSql } from '../../src/query/view.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { openSnapshotParts, type SnapshotParts } from '../support/snapshot-parts.js';

describe('hot mirror: inserts need no anti-join', () => {
  let gw: TestGateway;
  let duck: DuckDb;
  let deps: SnapshotParts['deps'];
  let customers: EntitySchema;

  beforeEach(async () => {
    gw = await startTestGateway();
    ({ duck, deps } = await openSnapshotParts(gw, 'hot-inserts-'));
    customers = gw.catalog.entity('customers');
  });
  afterEach(async () => {
    duck?.close();
    await gw?.close();
  });

  /** What a query sees now: each current customer's name by row_id, whether the buffer needed an anti-join, and the SQL. */
  const read = async () => {
    const snapshot = await takeSnapshot(deps, [customers]);
    try {
      const tiers = snapshot.tiers(customers);
      const sql = currentRowsSql(tiers);
      const rows = await duck.use(async (c) => {
        const reader = await c.runAndReadAll(`SELECT row_id::VARCHAR AS row_id, name FROM ${sql} AS current ORDER BY row_id`);
        return reader.getRowObjectsJS() as { row_id: string; name: string }[];
      });
      return { names: rows.map((r) => `${r.row_id}:${r.name}`), supersedesLake: tiers.hot?.supersedesLake ?? null, sql };
    } finally {
      snapshot.release();
    }
  };
  const insert = async (...names: string[]) => (await gw.oltp.writer.insert(customers, names.map((name) => ({ name })))).map((r) => r.row_id);
  const flush = async () => expect((await gw.lakehouse.admin.flush(customers, true)).flushed).toBe(true);
  const rename = (rowId: string, name: string) => gw.oltp.writer.update(customers, rowId, { name });
  const sorted = (entries: string[]) => [...entries].sort();

  it('a buffer of inserts only over a lake without changes reads every row once, with no anti-join', async () => {
    // given: two customers in a lake file, three more buffered
    const flushed = await insert('a', 'b');
    await flush();
    const buffered = await insert('c', 'd', 'e');

    // when: a query reads
    const seen = await read();

    // then: all five once, and no row probed against the buffer
    expect(seen.supersedesLake).toBe(false);
    expect(seen.sql).not.toContain('ANTI JOIN');
    expect(seen.names).toEqual(sorted([...flushed.map((id, i) => `${id}:${'ab'[i]}`), ...buffered.map((id, i) => `${id}:${'cde'[i]}`)]));
  });

  it('a row inserted then updated in the buffer is still an insert: no anti-join, its newest version once', async () => {
    // given: one customer in the lake; one inserted and renamed twice in the buffer
    const [old] = await insert('lake');
    await flush();
    const [fresh] = await insert('v1');
    await rename(fresh!, 'v2');
    await read(); // the mirror holds the insert before the next update arrives
    await rename(fresh!, 'v3');

    // when: a query reads
    const seen = await read();

    // then
    expect(seen.supersedesLake).toBe(false);
    expect(seen.names).toEqual(sorted([`${old}:lake`, `${fresh}:v3`]));
  });

  it('an update in the buffer of a row in a lake file hides its lake version', async () => {
    // given: two customers in the lake, one renamed in the buffer, a new one inserted
    const [kept, renamed] = await insert('kept', 'before');
    await flush();
    await rename(renamed!, 'after');
    const [added] = await insert('added');

    // when
    const seen = await read();

    // then
    expect(seen.supersedesLake).toBe(true);
    expect(seen.names).toEqual(sorted([`${kept}:kept`, `${renamed}:after`, `${added}:added`]));
  });

  it('an insert the mirror saw, then flushed, then updated: the update hides the flushed version', async () => {
    // given: a customer inserted and read (the mirror knows its insert), then flushed
    const [row] = await insert('before');
    expect((await read()).names).toEqual([`${row}:before`]);
    await flush();

    // when: it is renamed in the buffer
    await rename(row!, 'after');
    const seen = await read();

    // then: the insert lies below this query's files' newest slot, so the update supersedes a lake row
    expect(seen.supersedesLake).toBe(true);
    expect(seen.names).toEqual([`${row}:after`]);
  });

  it('a delete in the buffer of a row inserted in a delta file hides it', async () => {
    // given: two customers flushed into a delta file, whose inserts the mirror never saw
    const [gone, stays] = await insert('gone', 'stays');
    await flush();

    // when: one is deleted in the buffer, after one more insert the mirror saw
    const [later] = await insert('later');
    await read();
    await gw.oltp.writer.softDelete(customers, gone!);
    const seen = await read();

    // then
    expect(seen.supersedesLake).toBe(true);
    expect(seen.names).toEqual(sorted([`${stays}:stays`, `${later}:later`]));
  });

  it('a query whose range holds an insert and its delete needs no anti-join and shows neither', async () => {
    // given: a customer in the lake; one inserted and deleted in the buffer
    const [old] = await insert('lake');
    await flush();
    const [brief] = await insert('brief');
    await gw.oltp.writer.softDelete(customers, brief!);

    // when
    const seen = await read();

    // then
    expect(seen.supersedesLake).toBe(false);
    expect(seen.names).toEqual([`${old}:lake`]);
  });
});
