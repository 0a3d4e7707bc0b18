// Differential test of sorting: seeded random writes, updates of referenced rows, deletes, flushes
// and compactions; after each step random related sorts, aggregate sorts, distinct_on and pages
// (root lists and batched children) through GraphQL are compared with the oracle's sort over the
// OLTP truth (test/support/oracle-sort.ts). SORT_DIFF_STEPS / SORT_DIFF_SEED scale and vary it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactEntity, deleteRow, dice, flushEntity, insertRows, stepContext, updateRow } from '../support/differential.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { readTruth, type Truth } from '../support/oracle.js';
import { answerSorted, sortedPage, type SortedPageArgs } from '../support/oracle-sort.js';

const STEPS = Number(process.env.SORT_DIFF_STEPS ?? 14);
const SEED = Number(process.env.SORT_DIFF_SEED ?? 20261130);
const QUESTIONS_PER_STEP = 4;

const { random, pick, chance } = dice(SEED);

// Few distinct values, so ties and distinct groups are common.
const NAMES = ['Ada', 'Bob', 'Émile', 'ada', null];
const COUNTRIES = ['DE', 'FR', 'US', null];
const TIERS = ['FREE', 'PRO', 'ENTERPRISE', null];
const NOTES = ['gift', 'rush', null];
const DIRECTIONS = ['asc', 'asc_nulls_first', 'asc_nulls_last', 'desc', 'desc_nulls_first', 'desc_nulls_last'] as const;
const BASE_MS = Date.UTC(2026, 0, 1);
const timestamp = () => (chance(0.2) ? null : new Date(BASE_MS + Math.floor(random() * 5) * 86_400_000).toISOString());

function randomCustomer(): Record<string, unknown> {
  return {
    name: pick(NAMES) ?? 'Zoe',
    country: pick(COUNTRIES),
    tier: pick(TIERS),
    signup_at: timestamp(),
    lifetime_value: chance(0.3) ? null : pick([1, 2.5, 1e19, -1e19]),
  };
}

function randomOrder(customers: string[]): Record<string, unknown> {
  return {
    customer: customers.length && !chance(0.15) ? pick(customers) : null,
    total: chance(0.2) ? null : pick([1, 2, 3.5, 100]),
    quantity: chance(0.2) ? null : pick([0, 1, 2, 7, '9223372036854775807']),
    paid: pick([true, false, null]),
    placed_at: timestamp(),
    note: pick(NOTES),
  };
}

const dir = () => pick(DIRECTIONS);

/** A term sorting orders: own column, or through the customer (its fields or its order aggregates). */
function ordersTerm(): Record<string, unknown> {
  return pick<() => Record<string, unknown>>([
    () => ({ [pick(['total', 'quantity', 'note', 'paid', 'placed_at'])]: dir() }),
    () => ({ customer: { [pick(['name', 'country', 'tier', 'lifetime_value', 'signup_at', 'row_id'])]: dir() } }),
    () => ({ customer: { orders_aggregate: pick([{ count: dir() }, { sum: { quantity: dir() } }, { max: { total: dir() } }]) } }),
  ])();
}

/** A term sorting customers: own column or an aggregate of their orders. */
function customersTerm(): Record<string, unknown> {
  return pick<() => Record<string, unknown>>([
    () => ({ [pick(['name', 'country', 'tier', 'lifetime_value'])]: dir() }),
    () => ({ orders_aggregate: { count: dir() } }),
    () => ({ orders_aggregate: { sum: { quantity: dir() } } }),
    () => ({ orders_aggregate: { avg: { quantity: dir() } } }),
    () => ({ orders_aggregate: { max: { [pick(['total', 'placed_at', 'note'])]: dir() } } }),
    () => ({ orders_aggregate: { min: { [pick(['total', 'placed_at'])]: dir() } } }),
  ])();
}

/** order_by (1-2 terms) and maybe distinct_on, whose columns then lead order_by (Hasura's rule). */
function sortArgs(term: () => Record<string, unknown>, distinctColumns: string[]): SortedPageArgs {
  const orderBy = Array.from({ length: 1 + Math.floor(random() * 2) }, term);
  const args: SortedPageArgs = { order_by: orderBy, limit: pick([3, 10, 100]), offset: pick([0, 0, 2]) };
  if (chance(0.35)) {
    const column = pick(distinctColumns);
    args.distinct_on = [column];
    const lead = column === 'customer' ? { customer: { row_id: dir() } } : { [column]: dir() };
    args.order_by = chance(0.15) ? [] : [lead, ...orderBy];
  }
  return args;
}

function randomOrdersWhere(): Record<string, unknown> | undefined {
  return pick([
    undefined,
    { total: { _gte: 2 } },
    { customer: { country: { _eq: pick(['DE', 'FR']) } } },
    { _or: [{ paid: { _eq: true } }, { note: { _is_null: true } }] },
  ]);
}

const gqlArgs = (args: SortedPageArgs) => ({ w: args.where ?? null, o: args.order_by, d: args.distinct_on ?? null, l: args.limit, f: args.offset });

describe('related sorts, aggregate sorts and distinct_on equal the oracle over the OLTP truth', () => {
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
      if (action < 0.35 || live.orders.length < 6) {
        live.customers.push(...(await insertRows(gw, 'customers', Array.from({ length: 1 + Math.floor(random() * 3) }, randomCustomer))));
        live.orders.push(...(await insertRows(gw, 'orders', Array.from({ length: 2 + Math.floor(random() * 8) }, () => randomOrder(live.customers)))));
        log.push('insert');
      } else if (action < 0.6) {
        // Referenced rows change after the orders naming them were flushed, and orders move between customers.
        const customer = pick(live.customers);
        const { name, country, tier, lifetime_value } = randomCustomer();
        await updateRow(gw, 'customers', customer, Object.fromEntries(Object.entries({ name, country, tier, lifetime_value }).filter(() => chance(0.6))));
        const set = randomOrder(live.customers);
        await updateRow(gw, 'orders', pick(live.orders), Object.fromEntries(Object.entries(set).filter(() => chance(0.5))));
        log.push('update');
      } else if (action < 0.72) {
        const entity = chance(0.6) ? 'orders' : 'customers';
        const id = pick(live[entity]);
        await deleteRow(gw, entity, id);
        live[entity] = live[entity].filter((x) => x !== id);
        log.push(`delete ${entity}`);
      } else if (action < 0.9) {
        const entity = chance(0.5) ? 'orders' : 'customers';
        await flushEntity(gw, entity);
        log.push(`flush ${entity}`);
      } else {
        const entity = chance(0.5) ? 'orders' : 'customers';
        await flushEntity(gw, entity);
        log.push(`compact ${entity}: ${await compactEntity(gw, entity)}`);
      }

      const truth: Truth = await readTruth(gw);
      const orders = gw.catalog.entity('orders');
      const customers = gw.catalog.entity('customers');
      for (let q = 0; q < QUESTIONS_PER_STEP; q++) {
        const kind = q % 3;
        if (kind === 0) {
          const args = { ...sortArgs(ordersTerm, ['customer', 'note', 'paid']), where: randomOrdersWhere() };
          const context = `${stepContext(step, log)}, orders ${JSON.stringify(args)}`;
          const res = await gw.gql(
            `query($w: orders_bool_exp, $o: [orders_order_by!], $d: [orders_select_column!], $l: Int, $f: Int) { orders(where: $w, order_by: $o, distinct_on: $d, limit: $l, offset: $f) { row_id } }`,
            gqlArgs(args),
          );
          expect(res.errors, context).toBeUndefined();
          expect(res.data.orders.map((r: { row_id: string }) => r.row_id), context).toEqual(answerSorted(gw.catalog, truth, orders, args).map((r) => r.row_id));
        } else if (kind === 1) {
          const args = sortArgs(customersTerm, ['country', 'tier', 'name']);
          const context = `${stepContext(step, log)}, customers ${JSON.stringify(args)}`;
          const res = await gw.gql(
            `query($o: [customers_order_by!], $d: [customers_select_column!], $l: Int, $f: Int) { customers(order_by: $o, distinct_on: $d, limit: $l, offset: $f) { row_id } }`,
            gqlArgs(args),
          );
          expect(res.errors, context).toBeUndefined();
          expect(res.data.customers.map((r: { row_id: string }) => r.row_id), context).toEqual(answerSorted(gw.catalog, truth, customers, args).map((r) => r.row_id));
        } else {
          // Batched children: every customer's orders in one statement, each parent paged on its own.
          const args = sortArgs(ordersTerm, ['note', 'paid', 'customer']);
          const context = `${stepContext(step, log)}, customers { orders ${JSON.stringify(args)} }`;
          const res = await gw.gql(
            `query($o: [orders_order_by!], $d: [orders_select_column!], $l: Int, $f: Int) { customers(order_by: {row_id: asc}, limit: 1000) { row_id orders(order_by: $o, distinct_on: $d, limit: $l, offset: $f) { row_id } } }`,
            gqlArgs(args),
          );
          expect(res.errors, context).toBeUndefined();
          const expected = [...truth.get('customers')!.values()]
            .sort((a, b) => (a.row_id < b.row_id ? -1 : 1))
            .map((c) => ({
              row_id: c.row_id,
              orders: sortedPage(gw.catalog, truth, orders, [...truth.get('orders')!.values()].filter((o) => o.values.customer === c.row_id), args).map((o) => ({ row_id: o.row_id })),
            }));
          expect(res.data.customers, context).toEqual(expected);
        }
        questions++;
      }
    }
    expect(log.filter((l) => l.startsWith('flush') || l.startsWith('compact')).length).toBeGreaterThan(0);
    expect(questions).toBe(STEPS * QUESTIONS_PER_STEP);
  });
});
