// Differential test of the read API: seeded random writes, updates that move rows in and out of
// filters, deletes, flushes and compactions; after each step random searches and aggregates through GraphQL
// are compared with the answer computed from the OLTP EAV store (the truth).
// DIFF_STEPS / DIFF_SEED scale and vary it (e.g. DIFF_STEPS=400 for a long run).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntityRow } from '../../src/oltp/index.js';
import { compactEntity, deleteRow, dice, flushEntity, insertRows, stepContext, updateRow } from '../support/differential.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { answerList, evaluate, readTruth, type Truth } from '../support/oracle.js';

const STEPS = Number(process.env.DIFF_STEPS ?? 40);
const SEED = Number(process.env.DIFF_SEED ?? 20261125);
const QUESTIONS_PER_STEP = 6;

const { random, pick, chance } = dice(SEED);

const NAMES = ['Ada', 'Bob', "O'Neil", '100% pure', 'snake_case', 'back\\slash', 'Émile'];
const COUNTRIES = ['DE', 'FR', 'US', null];
const TIERS = ['FREE', 'PRO', 'ENTERPRISE', null];
const NOTES = ['gift', 'rush', "it's", 'a_b', '50%', null];
const BASE_MS = Date.UTC(2026, 0, 1);
const timestamp = () => (chance(0.15) ? null : new Date(BASE_MS + Math.floor(random() * 120) * 6 * 3_600_000).toISOString());
// Floats that look like integers (DuckDB once typed a list by its first element), beyond int32 and
// int64, and tiny; ints at the edges of int64, so that sums pass 64 bits.
const EDGE_FLOATS = [1, 1.5, 3_000_000_000, 1e19, -1e19, 1e-300];
const EDGE_INTS = ['9223372036854775807', '-9223372036854775808', '9007199254740993'];
const float = (normal: () => number) => (chance(0.15) ? pick(EDGE_FLOATS) : normal());
/** Every customer row_id ever inserted, deleted ones too (ref filters must not match those). */
const everyCustomer: string[] = [];
/** A BigInt as the API serialises it: a number while exact in JS, else a decimal string. */
const bigIntJson = (n: bigint) => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString());

function randomCustomer(): Record<string, unknown> {
  return {
    name: pick(NAMES),
    country: pick(COUNTRIES),
    tier: pick(TIERS),
    signup_at: timestamp(),
    lifetime_value: chance(0.2) ? null : float(() => Math.round(random() * 1000) / 4),
  };
}

function randomOrder(customers: string[]): Record<string, unknown> {
  return {
    customer: customers.length && !chance(0.1) ? pick(customers) : null,
    total: chance(0.1) ? null : float(() => Math.round(random() * 400) / 4),
    quantity: chance(0.1) ? null : chance(0.05) ? pick(EDGE_INTS) : Math.floor(random() * 10),
    paid: pick([true, false, null]),
    placed_at: timestamp(),
    note: pick(NOTES),
  };
}

function randomOrderCondition(truth: Truth): Record<string, unknown> {
  const someId = () => pick([...truth.get('orders')!.keys(), '01900000-0000-7000-8000-000000000000']);
  const conditions: (() => Record<string, unknown>)[] = [
    () => ({ total: { [pick(['_gt', '_gte', '_lt', '_lte', '_eq', '_neq'])]: Math.round(random() * 400) / 4 } }),
    () => ({ quantity: { [pick(['_gt', '_lte', '_eq', '_neq'])]: Math.floor(random() * 10) } }),
    () => ({ quantity: { [pick(['_in', '_nin'])]: [1, 3, 5].slice(0, Math.floor(random() * 4)) } }),
    () => ({ paid: { _eq: pick([true, false]) } }),
    () => ({ paid: { _is_null: pick([true, false]) } }),
    () => ({ note: { [pick(['_eq', '_neq', '_contains', '_starts_with', '_like', '_ilike'])]: pick(['gift', "it'", 'a_b', '50%', 'R%', '%s%', '_']) } }),
    () => ({ placed_at: { [pick(['_gt', '_lt'])]: new Date(BASE_MS + Math.floor(random() * 120) * 6 * 3_600_000).toISOString() } }),
    () => ({ row_id: { _in: [someId(), someId()] } }),
    () => ({ customer: { country: { _eq: pick(['DE', 'FR', 'US']) } } }),
    () => ({ customer: { tier: { _in: ['PRO', 'ENTERPRISE'] }, lifetime_value: { _gt: 50 } } }),
    () => ({ customer: { row_id: { _is_null: pick([true, false]) } } }),
    () => ({ total: { [pick(['_in', '_nin'])]: pick([[1, 1.5], [1, 3_000_000_000], [1e19, 0.25, -1e19]]) } }),
    () => ({ total: { [pick(['_gte', '_lt', '_eq'])]: pick(EDGE_FLOATS) } }),
    () => ({ customer: { lifetime_value: { _in: [1, 1.5, 3_000_000_000] } } }),
    () => ({ customer: { row_id: { [pick(['_eq', '_neq'])]: pick(everyCustomer) } } }),
    () => ({ customer: { _and: [{ row_id: { _in: [pick(everyCustomer), pick(everyCustomer)] } }] } }),
    // Hasura's other text operators.
    () => ({ note: { [pick(['_nlike', '_nilike'])]: pick(['gift', '%s%', 'R%', '%\\%', '_']) } }),
    () => ({ note: { [pick(['_regex', '_nregex', '_iregex', '_niregex'])]: pick(['^g', 'S', "t'", 'a_b|50', '[[:digit:]]', '^$']) } }),
    () => ({ note: { [pick(['_similar', '_nsimilar'])]: pick(['gift', '%s%', '(gift|rush)', '_*%', 'a\\_b', '[0-9]+\\%']) } }),
    // Empty objects (Hasura): true, false, and "the referenced row exists".
    () => pick([{}, { note: {} }, { _not: {} }, { _and: [] }, { _or: [] }, { customer: {} }, { _not: { customer: {} } }]),
    () => ({ customer: { orders_aggregate: { count: { predicate: { [pick(['_gt', '_eq', '_lte'])]: Math.floor(random() * 4) } } } } }),
  ];
  const leaf = () => pick(conditions)();
  const shape = random();
  if (shape < 0.45) return leaf();
  if (shape < 0.65) return { _and: [leaf(), leaf()] };
  if (shape < 0.85) return { _or: [leaf(), leaf()] };
  return { _not: leaf() };
}

/** A condition on customers through their orders: reverse filters and aggregate predicates. */
function randomCustomerCondition(): Record<string, unknown> {
  const orderCondition = () =>
    pick<Record<string, unknown>>([
      {},
      { paid: { _eq: pick([true, false]) } },
      { total: { [pick(['_gt', '_lt'])]: Math.round(random() * 400) / 4 } },
      { note: { _is_null: pick([true, false]) } },
      { quantity: { _in: [1, 3, 5] } },
    ]);
  const predicate = (max: number) => ({ [pick(['_gt', '_gte', '_eq', '_neq', '_lt', '_lte'])]: Math.floor(random() * max) });
  const conditions: (() => Record<string, unknown>)[] = [
    () => ({ orders: orderCondition() }),
    () => ({ _not: { orders: orderCondition() } }),
    () => ({ orders: { customer: { tier: { _in: ['PRO', 'ENTERPRISE'] } }, paid: { _eq: true } } }),
    () => ({ orders_aggregate: { count: { predicate: predicate(4), ...(chance(0.5) ? { filter: orderCondition() } : {}) } } }),
    () => ({ orders_aggregate: { count: { predicate: predicate(4), arguments: [pick(['paid', 'note', 'total'])], distinct: chance(0.5) } } }),
    () => ({ orders_aggregate: { count: { predicate: { _eq: 0 } } } }),
    // min/max of floats and sums/averages of ints are exact, whatever the order rows are summed in.
    () => ({ orders_aggregate: { [pick(['min', 'max'])]: { arguments: 'total', predicate: chance(0.2) ? { _is_null: pick([true, false]) } : predicate(100), filter: orderCondition() } } }),
    () => ({ orders_aggregate: { [pick(['sum', 'avg'])]: { arguments: 'quantity', predicate: predicate(12), distinct: chance(0.3) } } }),
    () => ({ orders_aggregate: { [pick(['bool_and', 'bool_or'])]: { arguments: 'paid', predicate: chance(0.2) ? { _is_null: true } : { _eq: pick([true, false]) } } } }),
    () => ({ tier: { _eq: pick(['FREE', 'PRO']) } }),
  ];
  const leaf = () => pick(conditions)();
  const shape = random();
  if (shape < 0.5) return leaf();
  if (shape < 0.65) return { _and: [leaf(), leaf()] };
  if (shape < 0.8) return { _or: [leaf(), leaf()] };
  return { _not: leaf() };
}

const BUCKETS = ['hour', 'day', 'week', 'month', 'year'] as const;

/** The UTC time bucket of a timestamp, as the API returns it (ISO text; weeks start on Monday). */
function bucketOf(bucket: (typeof BUCKETS)[number], value: Date): string {
  const y = value.getUTCFullYear();
  const m = value.getUTCMonth();
  const d = value.getUTCDate();
  const start = {
    hour: Date.UTC(y, m, d, value.getUTCHours()),
    day: Date.UTC(y, m, d),
    week: Date.UTC(y, m, d - ((value.getUTCDay() + 6) % 7)),
    month: Date.UTC(y, m, 1),
    year: Date.UTC(y, 0, 1),
  }[bucket];
  return new Date(start).toISOString();
}

/** Groups of `rows` by `key` (null last, keys ascending) with count and sum of quantity. */
function expectedGroups(rows: EntityRow[], name: string, key: (row: EntityRow) => string | boolean | null): unknown[] {
  const groups = new Map<string | boolean | null, EntityRow[]>();
  for (const row of rows) groups.set(key(row), [...(groups.get(key(row)) ?? []), row]);
  const keys = [...groups.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => {
    const quantities = groups.get(k)!.map((r) => r.values.quantity).filter((v) => v !== null && v !== undefined) as bigint[];
    return {
      key: { [name]: k },
      aggregate: { count: groups.get(k)!.length, sum: { quantity: quantities.length ? bigIntJson(quantities.reduce((a, b) => a + b, 0n)) : null } },
    };
  });
}

function shapeRows(rows: EntityRow[]): Record<string, unknown>[] {
  return rows.map((r) => ({
    row_id: r.row_id,
    total: r.values.total ?? null,
    quantity: r.values.quantity === null || r.values.quantity === undefined ? null : bigIntJson(r.values.quantity as bigint),
    paid: r.values.paid ?? null,
    note: r.values.note ?? null,
  }));
}

describe('merge-on-read answers equal the OLTP truth', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it(`over ${STEPS} random steps (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const live = { customers: [] as string[], orders: [] as string[] };
    const log: string[] = [];
    let questions = 0;

    for (let step = 0; step < STEPS; step++) {
      const action = random();
      if (action < 0.3 || live.orders.length < 5) {
        const customers = await insertRows(gw, 'customers', Array.from({ length: 1 + Math.floor(random() * 3) }, randomCustomer));
        live.customers.push(...customers);
        everyCustomer.push(...customers);
        live.orders.push(...(await insertRows(gw, 'orders', Array.from({ length: 1 + Math.floor(random() * 8) }, () => randomOrder(live.customers)))));
        log.push('insert');
      } else if (action < 0.6) {
        // Updates move rows in and out of every filter above, flushed or not.
        const id = pick(live.orders);
        const set = randomOrder(live.customers);
        const partial = Object.fromEntries(Object.entries(set).filter(() => chance(0.5)));
        expect(await updateRow(gw, 'orders', id, Object.keys(partial).length ? partial : { total: 1 })).toBeUndefined();
        if (chance(0.3) && live.customers.length) {
          const customer = pick(live.customers);
          await updateRow(gw, 'customers', customer, { country: pick(COUNTRIES), tier: pick(TIERS) });
        }
        log.push('update');
      } else if (action < 0.72) {
        const entity = chance(0.75) ? 'orders' : 'customers';
        const id = pick(live[entity]);
        await deleteRow(gw, entity, id);
        live[entity] = live[entity].filter((x) => x !== id);
        log.push(`delete ${entity}`);
      } else if (action < 0.9) {
        const entity = chance(0.7) ? 'orders' : 'customers';
        await flushEntity(gw, entity);
        log.push(`flush ${entity}`);
      } else {
        // Compaction with varied settings, so every phase runs: present files, roll-overs into
        // historical files (a tiny target size), rewrites and kept changes (the dirty ratio).
        const entity = chance(0.7) ? 'orders' : 'customers';
        const settings = { dirtyRatio: pick([0, 0.05, 0.3, 2]), baseTargetBytes: pick([1, 6_000, 1e9]) };
        log.push(`compact ${entity} ${JSON.stringify(settings)}: ${await compactEntity(gw, entity, settings)}`);
      }

      const truth = await readTruth(gw);
      const orders = gw.catalog.entity('orders');
      for (let q = 0; q < QUESTIONS_PER_STEP; q++) {
        if (q === 0) {
          // Customers through their orders (reverse relations and aggregate predicates).
          const where = randomCustomerCondition();
          const res = await gw.gql(`query($w: customers_bool_exp) { customers(where: $w, limit: 1000) { row_id } }`, { w: where });
          const context = `${stepContext(step, log)}, customers where ${JSON.stringify(where)}`;
          expect(res.errors, context).toBeUndefined();
          const expected = answerList(gw.catalog, truth, gw.catalog.entity('customers'), { where, limit: 1000 }).map((r) => r.row_id);
          expect(res.data.customers.map((r: { row_id: string }) => r.row_id), context).toEqual(expected);
          questions++;
          continue;
        }
        const where = randomOrderCondition(truth);
        const context = `${stepContext(step, log)}, where ${JSON.stringify(where)}`;
        if (q % 6 === 5) {
          // Grouped: by a time bucket of placed_at (UTC) or by a plain field.
          const bucket = pick([...BUCKETS, null]);
          const name = bucket ? `placed_at_${bucket}` : pick(['paid', 'note']);
          const res = await gw.gql(
            `query($w: orders_bool_exp) { orders_aggregate(where: $w, group_by: [${name}]) { groups { key { ${name} } aggregate { count sum { quantity } } } } }`,
            { w: where },
          );
          expect(res.errors, context).toBeUndefined();
          const matching = [...truth.get('orders')!.values()].filter((r) => evaluate(gw.catalog, truth, orders, r, where) === true);
          const key = (r: EntityRow) => {
            const value = (bucket ? r.values.placed_at : r.values[name]) ?? null;
            if (value === null || !bucket) return value as string | boolean | null;
            return bucketOf(bucket, value instanceof Date ? value : new Date(value as string));
          };
          expect(res.data.orders_aggregate.groups, `${context}, group_by ${name}`).toEqual(expectedGroups(matching, name, key));
        } else if (q % 3 === 2) {
          const res = await gw.gql(
            `query($w: orders_bool_exp) { orders_aggregate(where: $w) { aggregate { count sum { quantity } max { total } count_distinct { customer } } } }`,
            { w: where },
          );
          expect(res.errors, context).toBeUndefined();
          const matching = [...truth.get('orders')!.values()].filter((r) => evaluate(gw.catalog, truth, orders, r, where) === true);
          const quantities = matching.map((r) => r.values.quantity).filter((v) => v !== null && v !== undefined) as bigint[];
          const totals = matching.map((r) => r.values.total).filter((v) => v !== null && v !== undefined) as number[];
          expect(res.data.orders_aggregate.aggregate, context).toEqual({
            count: matching.length,
            sum: { quantity: quantities.length ? bigIntJson(quantities.reduce((a, b) => a + b, 0n)) : null },
            max: { total: totals.length ? Math.max(...totals) : null },
            count_distinct: { customer: new Set(matching.map((r) => r.values.customer).filter((v) => v !== null)).size },
          });
        } else {
          const orderBy = [{ [pick(['total', 'quantity', 'placed_at', 'note'])]: pick(['asc', 'desc', 'asc_nulls_first', 'desc_nulls_last']) }];
          const limit = pick([5, 20, 100]);
          const offset = pick([0, 0, 3]);
          const res = await gw.gql(
            `query($w: orders_bool_exp, $o: [orders_order_by!], $l: Int, $f: Int) { orders(where: $w, order_by: $o, limit: $l, offset: $f) { row_id total quantity paid note } }`,
            { w: where, o: orderBy, l: limit, f: offset },
          );
          expect(res.errors, context).toBeUndefined();
          const expected = shapeRows(answerList(gw.catalog, truth, orders, { where, order_by: orderBy, limit, offset }));
          expect(res.data.orders, `${context}, order ${JSON.stringify(orderBy)} limit ${limit} offset ${offset}`).toEqual(expected);
        }
        questions++;
      }
    }
    // The run exercised every tier: files were written and rows are still buffered.
    expect(log.filter((l) => l.startsWith('flush')).length).toBeGreaterThan(0);
    if (STEPS >= 40) expect(log.filter((l) => l.startsWith('compact') && !l.includes('no delta files')).length).toBeGreaterThan(0);
    expect(questions).toBe(STEPS * QUESTIONS_PER_STEP);
  });
});
