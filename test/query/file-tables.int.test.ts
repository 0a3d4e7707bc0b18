// DuckDB tables of lake files (src/query/file-tables.ts), read in the files' place: every file held
// as a table here (minRows 1), the search-screen questions after every step of seeded random writes
// (updates and deletes of flushed rows, flushes, compactions) equal the oracle over the OLTP truth,
// whether a step's files are already held as tables or still loading (read from Parquet); and the
// statements did read the tables. Then the bound: what does not fit is read from Parquet.
// FILE_TABLES_STEPS / FILE_TABLES_SEED scale and vary it.
import { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dice, insertRows, randomMoves, stepContext } from '../support/differential.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { answerList, readTruth } from '../support/oracle.js';

const STEPS = Number(process.env.FILE_TABLES_STEPS ?? 30);
const SEED = Number(process.env.FILE_TABLES_SEED ?? 5);
const seeded = dice(SEED);
const { random, pick, chance } = seeded;

const customer = () => ({ name: pick(['Ada', 'Bob', 'Cy']), tier: pick(['FREE', 'PRO', null]) });
const order = (customers: readonly string[]) => ({
  customer: chance(0.1) ? null : pick(customers),
  total: chance(0.1) ? null : Math.floor(random() * 100),
  quantity: chance(0.1) ? null : Math.floor(random() * 5),
  paid: pick([true, false, null]),
  note: pick(['gift', 'rush', null]),
});

/** A selective page, one through the customer ref, a reverse-relation filter, and every row. */
const PAGES: { entity: 'customers' | 'orders'; where: Record<string, unknown>; order_by: Record<string, string>[] }[] = [
  { entity: 'orders', where: { total: { _gte: 50 }, paid: { _eq: true } }, order_by: [{ quantity: 'desc' }] },
  { entity: 'orders', where: { customer: { tier: { _eq: 'PRO' } } }, order_by: [{ total: 'asc' }] },
  { entity: 'customers', where: { orders: { total: { _gt: 50 } } }, order_by: [{ name: 'asc' }] },
  { entity: 'orders', where: {}, order_by: [{ note: 'asc_nulls_first' }] },
];

/** Statements run while `work` runs, by the tables they name. */
async function statementsDuring(work: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const original = DuckDBConnection.prototype.runAndReadAll;
  DuckDBConnection.prototype.runAndReadAll = function (this: DuckDBConnection, ...args: Parameters<typeof original>) {
    seen.push(String(args[0]));
    return original.apply(this, args);
  };
  try {
    await work();
  } finally {
    DuckDBConnection.prototype.runAndReadAll = original; // the suite shares worker processes
  }
  return seen;
}

describe('DuckDB tables of lake files, read in their place', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ lake: { fileTables: { minRows: 1 } } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const check = async (context: string): Promise<void> => {
    const truth = await readTruth(gw);
    for (const { entity, where, order_by } of PAGES) {
      const expected = answerList(gw.catalog, truth, gw.catalog.entity(entity), { where, order_by, limit: 1_000 }).map((r) => r.row_id);
      const res = await gw.gql(`query($w: ${entity}_bool_exp, $o: [${entity}_order_by!]) { ${entity}(where: $w, order_by: $o, limit: 1000) { row_id } }`, { w: where, o: order_by });
      expect(res.errors, context).toBeUndefined();
      expect(res.data[entity].map((r: { row_id: string }) => r.row_id), `${context}, ${entity} ${JSON.stringify(where)}`).toEqual(expected);
    }
    // Every order counted and summed (totals are integers: exact).
    const orders = answerList(gw.catalog, truth, gw.catalog.entity('orders'), { limit: 1_000_000 });
    const res = await gw.gql(`{ orders_aggregate { aggregate { count sum { total } } } }`);
    expect(res.errors, context).toBeUndefined();
    const totals = orders.map((r) => r.values.total as number | null).filter((t): t is number => t !== null);
    const sum = totals.reduce((s, t) => s + t, 0);
    expect(res.data.orders_aggregate.aggregate, `${context}: count and sum`).toEqual({ count: orders.length, sum: { total: totals.length ? sum : null } });
  };

  it(`answer as the oracle over ${STEPS} random steps (seed ${SEED}), loaded or not`, { timeout: 600_000 }, async () => {
    const tables = gw.lakehouse.search.engine.fileTables;
    const customers = await insertRows(gw, 'customers', Array.from({ length: 12 }, customer));
    const orders = await insertRows(gw, 'orders', Array.from({ length: 60 }, () => order(customers)));
    const move = randomMoves(gw, seeded);
    const log: string[] = [await move.flush(['orders']), await move.flush(['customers'])];
    let readFromTables = 0;
    for (let step = 0; step < STEPS; step++) {
      const action = random();
      if (action < 0.2) {
        log.push(await move.insert('orders', orders, () => order(customers)));
      } else if (action < 0.5) {
        log.push(await move.update('orders', orders, () => order(customers), { total: 99 }));
      } else if (action < 0.6) {
        log.push(await move.delete('orders', orders));
      } else if (action < 0.65) {
        log.push(await move.replace('customers', customers, customer));
      } else if (action < 0.85) {
        log.push(await move.flush(['orders', 'customers']));
      } else {
        log.push(await move.compact(pick(['orders', 'customers'])));
      }
      // Half the steps read what is loaded by now (some files still from Parquet), half wait for every load.
      if (chance(0.5)) await tables.settled();
      const statements = await statementsDuring(() => check(stepContext(step, log)));
      if (statements.some((sql) => sql.includes('lake_file_tables'))) readFromTables++;
    }
    expect(readFromTables, 'steps whose statements read file tables').toBeGreaterThan(STEPS / 4);
  });

  it('reads a file from Parquet again once its table is dropped (the file no longer live), and loads it again when it is', async () => {
    const tables = gw.lakehouse.search.engine.fileTables;
    await tables.settled();
    expect(tables.loaded.length).toBeGreaterThan(0);
    tables.retainOnly(new Set());
    expect(tables.loaded).toEqual([]);
    // The first search after the drop reads Parquet (and starts the loads); its answer is the same.
    const page = async () => (await gw.gql(`{ orders(order_by: [{total: asc}], limit: 1000) { row_id total } }`)).data.orders;
    let fromParquet: unknown;
    const statements = await statementsDuring(async () => void (fromParquet = await page()));
    expect(statements.some((sql) => sql.includes('lake_file_tables'))).toBe(false);
    await tables.settled();
    expect(await page()).toEqual(fromParquet);
    expect(tables.loaded.length).toBeGreaterThan(0);
    expect((await statementsDuring(() => check('loaded again'))).some((sql) => sql.includes('lake_file_tables'))).toBe(true);
  });
});

describe('DuckDB tables of lake files, retired', () => {
  it('drops the tables of files a compaction retired at the next search of their entity, before GC forgets the files', async () => {
    const gw = await startTestGateway({ lake: { fileTables: { minRows: 1 } } });
    try {
      const moves = randomMoves(gw, seeded);
      await insertRows(gw, 'orders', Array.from({ length: 30 }, (_, i) => ({ total: i, note: `a${i}` })));
      await moves.flush(['orders']);
      await insertRows(gw, 'orders', Array.from({ length: 30 }, (_, i) => ({ total: 30 + i, note: `b${i}` })));
      await moves.flush(['orders']);
      const tables = gw.lakehouse.search.engine.fileTables;
      const page = async () => {
        const res = await gw.gql(`{ orders(where: {total: {_gte: 25}}, order_by: [{total: asc}], limit: 10) { total } }`);
        expect(res.errors).toBeUndefined();
        return res.data.orders.map((r: { total: number }) => r.total);
      };
      expect(await page()).toEqual([25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);
      await tables.settled();
      const deltas = tables.loaded;
      expect(deltas).toHaveLength(2);

      await gw.lakehouse.admin.compact(gw.catalog.entity('orders'), true);
      expect(await page()).toEqual([25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);
      await tables.settled();
      expect(tables.loaded.filter((id) => deltas.includes(id))).toEqual([]);
      // The compacted file's table instead, read by the next search.
      expect(tables.loaded).toHaveLength(1);
      expect((await statementsDuring(async () => void (await page()))).some((sql) => sql.includes('lake_file_tables'))).toBe(true);
    } finally {
      await gw.close();
    }
  });
});

describe('DuckDB tables of lake files, more than fit', () => {
  /** Two delta files of 30 orders each, and a page that lists both. */
  async function twoFiles(gw: TestGateway): Promise<() => Promise<void>> {
    const moves = randomMoves(gw, seeded);
    for (const batch of ['a', 'b']) {
      await insertRows(gw, 'orders', Array.from({ length: 30 }, (_, i) => ({ total: i, note: `${batch}${i}` })));
      await moves.flush(['orders']);
    }
    return async () => {
      const res = await gw.gql(`{ orders_aggregate { aggregate { count } } }`);
      expect(res.errors).toBeUndefined();
      expect(res.data.orders_aggregate.aggregate.count).toBe(60);
    };
  }

  it('keeps the tables it loaded while they are read, and reads the file that does not fit from Parquet, instead of loading each in turn', async () => {
    // One table's bytes, from a gateway where both fit.
    let perTable: number;
    const roomy = await startTestGateway({ lake: { fileTables: { minRows: 1 } } });
    try {
      await (await twoFiles(roomy))();
      const tables = roomy.lakehouse.search.engine.fileTables;
      await tables.settled();
      expect(tables.loaded).toHaveLength(2);
      perTable = tables.bytesHeld / 2;
    } finally {
      await roomy.close();
    }
    const gw = await startTestGateway({ lake: { fileTables: { minRows: 1, maxBytes: Math.floor(perTable * 1.5) } } });
    try {
      const ask = await twoFiles(gw);
      const tables = gw.lakehouse.search.engine.fileTables;
      const seen: bigint[][] = [];
      for (let round = 0; round < 5; round++) {
        await ask();
        await tables.settled();
        seen.push(tables.loaded);
      }
      expect(seen[0]).toHaveLength(1);
      expect(seen, 'the table loaded first stays; the other file is not loaded in its place').toEqual(Array(5).fill(seen[0]));
      expect(tables.bytesHeld).toBeLessThanOrEqual(perTable * 1.5);
    } finally {
      await gw.close();
    }
  });
});

describe('DuckDB tables of lake files, bounded', () => {
  it('loads nothing past DUCKDB_FILE_TABLES_BYTES, and answers from Parquet', async () => {
    const gw = await startTestGateway({ lake: { fileTables: { minRows: 1, maxBytes: 100 } } });
    try {
      const ids = await insertRows(gw, 'orders', Array.from({ length: 20 }, (_, i) => ({ total: i, note: `n${i}` })));
      await randomMoves(gw, seeded).flush(['orders']);
      const tables = gw.lakehouse.search.engine.fileTables;
      for (let ask = 0; ask < 4; ask++) {
        const res = await gw.gql(`{ orders(where: {total: {_lt: 5}}, order_by: [{total: asc}]) { row_id } }`);
        expect(res.errors).toBeUndefined();
        expect(res.data.orders.map((r: { row_id: string }) => r.row_id)).toEqual(ids.slice(0, 5));
        await tables.settled();
      }
      expect(tables.loaded).toEqual([]);
      expect(tables.bytesHeld).toBe(0);
    } finally {
      await gw.close();
    }
  });
});
