// Counts, sums and avgs read in full by subtraction (partials.ts, view.ts signedRowsSql): every file
// row, the superseded ones taken away again from their values (positions.ts: taken once a listing
// was asked for them VALUES_AFTER_ASKS times), plus the newer tiers. Its answers must equal the rows
// written, and a float sum that subtraction would round away must be read the direct way.
import { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EntitySchema } from '../../src/catalog/index.js';
import { VALUES_AFTER_ASKS } from '../../src/query/positions.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

type Order = {
  total: number | null;
  quantity: number | null;
  note: string | null;
};

const QUESTION = `{ orders_aggregate(group_by: [note]) { groups { key { note } aggregate { count sum { total quantity } avg { total quantity } } } } }`;

describe('aggregates read by subtraction', () => {
  let gw: TestGateway;
  let orders: EntitySchema;
  let statements: string[];

  beforeEach(async () => {
    gw = await startTestGateway();
    orders = gw.catalog.entity('orders');
    // Every ask reads in full (no kept partials), as the first ask of a question does.
    gw.lakehouse.search.aggregates.entries = 0;
    statements = [];
    const run = DuckDBConnection.prototype.runAndReadAll;
    vi.spyOn(DuckDBConnection.prototype, 'runAndReadAll').mockImplementation(function (this: DuckDBConnection, ...args: Parameters<typeof run>) {
      statements.push(args[0]);
      return run.apply(this, args);
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await gw?.close();
  });

  /** The groups the rows should give, in the answer's shape, by note. */
  const expected = (rows: ReadonlyMap<string, Order>) => {
    const groups = new Map<string | null, Order[]>();
    for (const row of rows.values()) groups.set(row.note, [...(groups.get(row.note) ?? []), row]);
    const sum = (values: (number | null)[]) => {
      const present = values.filter((v): v is number => v !== null);
      return present.length ? present.reduce((a, b) => a + b, 0) : null;
    };
    const avg = (values: (number | null)[]) => {
      const present = values.filter((v): v is number => v !== null);
      return present.length ? sum(present)! / present.length : null;
    };
    return [...groups]
      .map(([note, group]) => ({
        key: { note },
        aggregate: {
          count: group.length,
          sum: { total: sum(group.map((r) => r.total)), quantity: sum(group.map((r) => r.quantity)) },
          avg: { total: avg(group.map((r) => r.total)), quantity: avg(group.map((r) => r.quantity)) },
        },
      }))
      .sort((a, b) => String(a.key.note).localeCompare(String(b.key.note)));
  };
  const answer = async () => {
    const { data, errors } = await gw.gql<{ orders_aggregate: { groups: { key: { note: string | null } }[] } }>(QUESTION);
    expect(errors).toBeUndefined();
    return data!.orders_aggregate.groups
      .map((g) => JSON.parse(JSON.stringify(g)) as { key: { note: string | null } })
      .sort((a, b) => String(a.key.note).localeCompare(String(b.key.note)));
  };
  /** Statements read by subtraction (signed rows over the positions table), and the direct reads of every row. */
  const subtracted = () => statements.filter((sql) => sql.includes('_sign') && sql.includes('lake_superseded_'));
  const direct = () => statements.filter((sql) => !sql.includes('_sign') && sql.includes('ANTI JOIN') && sql.includes('count(*)'));
  /** Asks `ask` until the listing's values are taken, checking each answer; how many asks read the direct way before. */
  const askUntilSubtracted = async (ask: () => Promise<void>) => {
    statements.length = 0;
    for (let asked = 0; asked < VALUES_AFTER_ASKS; asked++) {
      await ask();
      if (subtracted().length) return asked;
    }
    throw new Error(`no read by subtraction after ${VALUES_AFTER_ASKS} asks`);
  };

  it('equals the rows written, with files, changes in the lake and changes in the buffer', async () => {
    const rows = new Map<string, Order>();
    const write = async (values: Order[]) => (await gw.oltp.writer.insert(orders, values)).forEach((row, i) => rows.set(row.row_id, values[i]!));
    // Quarters: their sums are exact in binary, whichever order they are added in.
    const made: Order[] = Array.from({ length: 24 }, (_, i) => ({ total: i % 5 === 0 ? null : i * 1.25, quantity: i % 7 === 0 ? null : i, note: ['gift', 'rush', null][i % 3]! }));
    await write(made);
    await gw.lakehouse.admin.flush(orders, true);
    const ids = [...rows.keys()];
    const update = async (id: string, values: Partial<Order>) => {
      await gw.oltp.writer.update(orders, id, values);
      rows.set(id, { ...rows.get(id)!, ...values });
    };
    // Changes flushed to a delta file: every "rush" order moves to "gift", so its group empties.
    for (const id of ids) if (rows.get(id)!.note === 'rush') await update(id, { note: 'gift', total: 3.5 });
    await gw.lakehouse.admin.flush(orders, true);
    // Changes left in the buffer: updates of rows in both files, a delete, new rows.
    await update(ids[1]!, { total: 99.75, quantity: 2 });
    await update(ids[4]!, { quantity: null });
    await gw.oltp.writer.softDelete(orders, ids[6]!);
    rows.delete(ids[6]!);
    await write([{ total: 0.5, quantity: 1, note: 'late' }]);

    // The direct way until the values are taken, then by subtraction.
    expect(await askUntilSubtracted(async () => expect(await answer()).toEqual(expected(rows)))).toBe(VALUES_AFTER_ASKS - 1);
    expect(direct()).toHaveLength(VALUES_AFTER_ASKS - 1);
    statements.length = 0;
    const groups = await answer();
    expect(groups).toEqual(expected(rows));
    expect(groups.map((g) => g.key.note)).not.toContain('rush');
    // By subtraction, once: no direct read after it.
    expect(subtracted()).toHaveLength(1);
    expect(direct()).toEqual([]);
  });

  it('reads a float sum the direct way where subtraction would round its digits away', async () => {
    const [big, ...small] = await gw.oltp.writer.insert(orders, [
      { total: 1e300, note: 'gift' },
      { total: 0.5, note: 'gift' },
      { total: 0.25, note: 'gift' },
    ]);
    expect(small).toHaveLength(2);
    await gw.lakehouse.admin.flush(orders, true);
    // The file still holds 1e300: taken away again, 0.75 would be lost under it.
    await gw.oltp.writer.update(orders, big!.row_id, { total: 1 });

    const ask = async () => {
      const { data, errors } = await gw.gql<{ orders_aggregate: { aggregate: { count: number; sum: { total: number } } } }>(
        `{ orders_aggregate(where: {note: {_eq: "gift"}}) { aggregate { count sum { total } } } }`,
      );
      expect(errors).toBeUndefined();
      expect(data!.orders_aggregate.aggregate).toEqual({ count: 3, sum: { total: 1.75 } });
    };
    await askUntilSubtracted(ask);
    // Tried by subtraction, then read again the direct way.
    expect(subtracted()).toHaveLength(1);
    expect(direct()).toHaveLength(VALUES_AFTER_ASKS);
  });

  it('reads the direct way while the positions table lacks the values of rows updated since it was built', async () => {
    const made = await gw.oltp.writer.insert(orders, [
      { total: 1.5, note: 'gift' },
      { total: 2.5, note: 'gift' },
      { total: 4, note: 'rush' },
    ]);
    await gw.lakehouse.admin.flush(orders, true);
    await gw.oltp.writer.update(orders, made[0]!.row_id, { total: 10 });
    // The listing's values: of the rows updated so far.
    const gift = (sum: number) => ({ key: { note: 'gift' }, aggregate: { count: 2, sum: { total: sum, quantity: null }, avg: { total: sum / 2, quantity: null } } });
    const rush = (total: number) => ({ key: { note: 'rush' }, aggregate: { count: 1, sum: { total, quantity: null }, avg: { total, quantity: null } } });
    await askUntilSubtracted(async () => expect(await answer()).toEqual([gift(12.5), rush(4)]));

    // An update of another lake row: the table gains its position only, without its values.
    await gw.oltp.writer.update(orders, made[2]!.row_id, { total: 8 });
    statements.length = 0;
    expect(await answer()).toEqual([gift(12.5), rush(8)]);
    expect(subtracted()).toEqual([]);
    expect(direct()).toHaveLength(1);

    // A flush lists new files: a new table, and new values; the older listing's go with its table.
    await gw.lakehouse.admin.flush(orders, true);
    await askUntilSubtracted(async () => expect(await answer()).toEqual([gift(12.5), rush(8)]));
    const valuesTables = () =>
      gw.lakehouse.duck.use(async (c) => (await c.runAndReadAll(`SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name LIKE 'lake_superseded_values_%'`)).getRowsJS()[0]![0]);
    await expect.poll(valuesTables, { timeout: 10_000 }).toBe(1);
  });
});
