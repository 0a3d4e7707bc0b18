// Differential test of grouped and nested aggregates: seeded random writes (refs that move, referenced
// rows updated and deleted), flushes and compactions; after each step random group_by questions
// (own and referenced fields, buckets in time zones, HAVING, group order, top-N) and nested
// <rel>_aggregate through GraphQL are compared with test/support/oracle-aggregate.ts over the OLTP truth.
// DIFF_AGG_STEPS / DIFF_AGG_SEED scale and vary it (e.g. DIFF_AGG_STEPS=200 for a long run).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactEntity, deleteRow, dice, flushEntity, insertRows, stepContext, updateRow } from '../support/differential.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { readTruth, type Truth } from '../support/oracle.js';
import { answerGroups, answerPerParent, roundFloats, type AggregateAsk, type GroupArgs } from '../support/oracle-aggregate.js';

const STEPS = Number(process.env.DIFF_AGG_STEPS ?? 12);
const SEED = Number(process.env.DIFF_AGG_SEED ?? 20261130);
const QUESTIONS_PER_STEP = 4;

const { random, pick, chance } = dice(SEED);

const COUNTRIES = ['DE', 'FR', 'US', null];
const TIERS = ['FREE', 'PRO', 'ENTERPRISE', null];
const NOTES = ['gift', 'rush', null];
// A year in 5-hour steps, and instants around the DST changes of Berlin and New York.
const YEAR_MS = Date.UTC(2026, 0, 1);
const DST_EDGES = ['2026-03-29T00:30:00Z', '2026-03-28T23:30:00Z', '2026-10-25T00:30:00Z', '2026-03-08T06:30:00Z', '2026-11-01T04:30:00Z', '2026-03-31T22:30:00Z', '2026-12-31T23:30:00Z'];
const timestamp = () => (chance(0.1) ? null : chance(0.2) ? pick(DST_EDGES) : new Date(YEAR_MS + Math.floor(random() * 1752) * 5 * 3_600_000).toISOString());
// Quarters: sums of them are exact in binary, so JS and DuckDB add them to the same figure.
const quarter = (max: number) => Math.round(random() * max * 4) / 4;

function randomCustomer(): Record<string, unknown> {
  return { name: pick(['Ada', 'Bob', 'Cyd']), country: pick(COUNTRIES), tier: pick(TIERS), signup_at: timestamp(), lifetime_value: chance(0.2) ? null : quarter(250) };
}

function randomOrder(customers: string[]): Record<string, unknown> {
  return {
    customer: customers.length && !chance(0.1) ? pick(customers) : null,
    total: chance(0.1) ? null : quarter(100),
    quantity: chance(0.1) ? null : Math.floor(random() * 10),
    paid: pick([true, false, null]),
    placed_at: timestamp(),
    note: pick(NOTES),
  };
}

function randomWhere(): Record<string, unknown> | undefined {
  const leaves: (() => Record<string, unknown>)[] = [
    () => ({ total: { [pick(['_gt', '_lte'])]: quarter(100) } }),
    () => ({ paid: { _eq: pick([true, false]) } }),
    () => ({ note: { _is_null: pick([true, false]) } }),
    () => ({ customer: { tier: { _in: ['PRO', 'ENTERPRISE'] } } }),
    () => ({ _not: { quantity: { _lt: 3 } } }),
  ];
  return chance(0.4) ? undefined : pick(leaves)();
}

const ZONES = [null, null, 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'];
const KEYS = ['paid', 'note', 'customer', 'customer__tier', 'customer__country', 'customer__signup_at_month', ...['day', 'week', 'month', 'quarter', 'year'].map((b) => `placed_at_${b}`)];
const DIRECTIONS = ['asc', 'asc_nulls_first', 'asc_nulls_last', 'desc', 'desc_nulls_first', 'desc_nulls_last'];

function randomHaving(): Record<string, unknown> | undefined {
  const leaves: (() => Record<string, unknown>)[] = [
    () => ({ count: { [pick(['_gt', '_lte', '_eq'])]: Math.floor(random() * 5) } }),
    () => ({ sum: { total: { [pick(['_gt', '_lt'])]: quarter(300) } } }),
    () => ({ avg: { total: { _gte: quarter(100) } } }),
    () => ({ max: { placed_at: { _is_null: pick([true, false]) } } }),
    () => ({ min: { total: { _lt: quarter(50) } } }),
    () => ({ count_distinct: { customer: { _gte: 2 } } }),
  ];
  const shape = random();
  if (shape < 0.35) return undefined;
  if (shape < 0.7) return pick(leaves)();
  if (shape < 0.85) return { _or: [pick(leaves)(), pick(leaves)()] };
  return { _not: pick(leaves)() };
}

function randomGroupOrder(keys: string[]): Record<string, unknown>[] | undefined {
  const terms: (() => Record<string, unknown>)[] = [
    () => ({ count: pick(DIRECTIONS) }),
    () => ({ sum: { total: pick(DIRECTIONS) } }),
    () => ({ max: { placed_at: pick(DIRECTIONS) } }),
    () => ({ count_distinct: { customer: pick(DIRECTIONS) } }),
    () => ({ key: { [pick(keys)]: pick(DIRECTIONS) } }),
  ];
  return chance(0.3) ? undefined : Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(terms)());
}

const ASK: AggregateAsk = {
  count: true,
  fields: { sum: ['total', 'quantity'], avg: ['total'], min: ['placed_at'], max: ['total'], count_distinct: ['customer'], stddev_samp: ['total'], var_pop: ['quantity'] },
};
const SELECTION = 'count sum { total quantity } avg { total } min { placed_at } max { total } count_distinct { customer } stddev_samp { total } var_pop { quantity }';

describe('grouped and nested aggregates equal the oracle over the OLTP truth', () => {
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
    const gql = async (query: string, variables: Record<string, unknown>, context: string) => {
      const res = await gw.gql(query, variables);
      expect(res.errors, context).toBeUndefined();
      return res.data;
    };

    for (let step = 0; step < STEPS; step++) {
      const action = random();
      if (action < 0.3 || live.orders.length < 8) {
        live.customers.push(...(await insertRows(gw, 'customers', Array.from({ length: 1 + Math.floor(random() * 3) }, randomCustomer))));
        live.orders.push(...(await insertRows(gw, 'orders', Array.from({ length: 2 + Math.floor(random() * 8) }, () => randomOrder(live.customers)))));
        log.push('insert');
      } else if (action < 0.55) {
        // Orders move between customers and groups; customers change the fields orders group by.
        const set = Object.fromEntries(Object.entries(randomOrder(live.customers)).filter(() => chance(0.5)));
        expect(await updateRow(gw, 'orders', pick(live.orders), Object.keys(set).length ? set : { total: 1 }), 'update').toBeUndefined();
        if (live.customers.length) {
          expect(await updateRow(gw, 'customers', pick(live.customers), { country: pick(COUNTRIES), tier: pick(TIERS), signup_at: timestamp() }), 'update').toBeUndefined();
        }
        log.push('update');
      } else if (action < 0.68) {
        const entity = chance(0.6) ? 'orders' : 'customers';
        const id = pick(live[entity]);
        expect(await deleteRow(gw, entity, id), 'delete').toBeUndefined();
        live[entity] = live[entity].filter((x) => x !== id);
        log.push(`delete ${entity}`);
      } else if (action < 0.88) {
        const entity = chance(0.6) ? 'orders' : 'customers';
        await flushEntity(gw, entity);
        log.push(`flush ${entity}`);
      } else {
        const entity = chance(0.6) ? 'orders' : 'customers';
        const settings = { dirtyRatio: pick([0, 0.3, 2]), baseTargetBytes: pick([6_000, 1e9]) };
        log.push(`compact ${entity}: ${await compactEntity(gw, entity, settings)}`);
      }

      if (step % 6 === 5 && live.customers.length > 1) {
        // A deleted customer leaves its orders behind: their referenced keys become NULL.
        const id = pick(live.customers);
        expect(await deleteRow(gw, 'customers', id), 'delete').toBeUndefined();
        live.customers = live.customers.filter((x) => x !== id);
        log.push('delete customers');
      }

      const truth: Truth = await readTruth(gw);
      const orders = gw.catalog.entity('orders');
      for (let q = 0; q < QUESTIONS_PER_STEP; q++) {
        const where = randomWhere();
        if (q % 4 === 3) {
          const data = await gql(
            `query($w: orders_bool_exp) { customers(order_by: [{row_id: asc}], limit: 1000) { row_id orders_aggregate(where: $w) { aggregate { ${SELECTION} } } } }`,
            { w: where },
            `nested, where ${JSON.stringify(where)}`,
          );
          const ids = data.customers.map((c: { row_id: string }) => c.row_id);
          const expected = answerPerParent(gw.catalog, truth, orders, 'customer', ids, where, ASK);
          const actual = data.customers.map((c: any) => [c.row_id, c.orders_aggregate.aggregate]);
          expect(roundFloats(actual), `${stepContext(step, log)}, nested where ${JSON.stringify(where)}`).toEqual(roundFloats(ids.map((id: string) => [id, expected.get(id)])));
        } else {
          const groupBy = [...new Set(Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(KEYS)))];
          const args: GroupArgs = {
            where,
            group_by: groupBy,
            time_zone: pick(ZONES),
            having: randomHaving(),
            order_by: randomGroupOrder(groupBy),
            limit: chance(0.5) ? 1 + Math.floor(random() * 4) : null,
            offset: chance(0.3) ? 1 + Math.floor(random() * 2) : 0,
          };
          const context = `${stepContext(step, log)}, ${JSON.stringify(args)}`;
          const data = await gql(
            `query($w: orders_bool_exp, $z: String, $h: orders_group_having, $o: [orders_group_order_by!], $l: Int, $f: Int) {
              orders_aggregate(where: $w, group_by: [${groupBy.join(', ')}], time_zone: $z) {
                groups(having: $h, order_by: $o, limit: $l, offset: $f) { key { ${groupBy.join(' ')} } aggregate { ${SELECTION} } }
              }
            }`,
            { w: where, z: args.time_zone, h: args.having, o: args.order_by, l: args.limit, f: args.offset },
            context,
          );
          expect(roundFloats(data.orders_aggregate.groups), context).toEqual(roundFloats(answerGroups(gw.catalog, truth, orders, args, ASK)));
        }
        questions++;
      }
    }
    expect(log.filter((l) => l.startsWith('flush')).length).toBeGreaterThan(0);
    expect(log.some((l) => l.startsWith('delete customers'))).toBe(true);
    expect(questions).toBe(STEPS * QUESTIONS_PER_STEP);
  });
});
