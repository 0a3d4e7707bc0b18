// Kept partial aggregates whose keys go through a ref (src/query/aggregate-cache.ts, keptPlan and
// partials.ts regroupedSql), and nested aggregates of pages of parents (kept per parent, whichever
// parents a page names): revenue by the customer's tier or country, and pages of customers with
// their orders' figures, asked after every step of
// seeded random writes to both entities (orders moving between customers, customers changing tier
// or deleted, flushes and compactions), equal the oracle over the OLTP truth and the same question
// read in full; the counters show that most asks were answered from kept partials.
// AGG_CACHE_REFS_STEPS / AGG_CACHE_REFS_SEED scale and vary it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dice, insertRows, randomMoves, stepContext, updateRow } from '../support/differential.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { withNothingKept } from '../support/kept.js';
import { readTruth } from '../support/oracle.js';
import { answerGroups, answerPerParent, roundFloats, type AggregateAsk, type GroupArgs } from '../support/oracle-aggregate.js';

const STEPS = Number(process.env.AGG_CACHE_REFS_STEPS ?? 40);
const SEED = Number(process.env.AGG_CACHE_REFS_SEED ?? 13);
const seeded = dice(SEED);
const { random, pick, chance } = seeded;

const customer = () => ({ name: pick(['Ada', 'Bob']), tier: pick(['FREE', 'PRO', 'ENTERPRISE', null]), country: pick(['DE', 'FR', null]) });
// Quarters: sums of them are exact in binary, so the oracle's and DuckDB's sums agree exactly.
const order = (customers: readonly string[]) => ({
  customer: chance(0.1) ? null : pick(customers),
  total: chance(0.1) ? null : Math.round(random() * 400) / 4,
  quantity: chance(0.1) ? null : Math.floor(random() * 10),
  note: pick(['gift', 'rush', null]),
});

const ASK: AggregateAsk = { count: true, fields: { sum: ['total', 'quantity'], avg: ['total'], min: ['total'], max: ['total'] } };
const SELECTION = 'count sum { total quantity } avg { total } min { total } max { total }';
const DASHBOARD: GroupArgs[] = [
  { group_by: ['customer__tier'], order_by: [{ sum: { total: 'desc' } }], limit: 3 },
  { where: { note: { _eq: 'gift' } }, group_by: ['customer__country', 'customer__tier'] },
  { group_by: ['note', 'customer__country'], having: { count: { _gt: 1 } } },
];

describe('kept partial aggregates keyed through a ref', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const ask = async (args: GroupArgs, context: string) => {
    const res = await gw.gql(
      `query($w: orders_bool_exp, $h: orders_group_having, $o: [orders_group_order_by!], $l: Int) {
        orders_aggregate(where: $w, group_by: [${args.group_by.join(', ')}]) { groups(having: $h, order_by: $o, limit: $l) { key { ${args.group_by.join(' ')} } aggregate { ${SELECTION} } } }
      }`,
      { w: args.where, h: args.having, o: args.order_by, l: args.limit ?? null },
    );
    expect(res.errors, context).toBeUndefined();
    return res.data.orders_aggregate.groups;
  };

  const askNested = async (offset: number, where: Record<string, unknown> | undefined, context: string) => {
    const res = await gw.gql(
      `query($o: Int!, $w: orders_bool_exp) { customers(order_by: [{row_id: asc}], limit: 4, offset: $o) { row_id orders_aggregate(where: $w) { aggregate { ${SELECTION} } } } }`,
      { o: offset, w: where },
    );
    expect(res.errors, context).toBeUndefined();
    return res.data.customers;
  };

  it(`equal the oracle and a full read over ${STEPS} random steps (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const cache = gw.lakehouse.search.aggregates;
    const customers = await insertRows(gw, 'customers', Array.from({ length: 8 }, customer));
    const orders = await insertRows(gw, 'orders', Array.from({ length: 40 }, () => order(customers)));
    const log: string[] = [];
    const move = randomMoves(gw, seeded);
    const before = { ...cache.stats };
    for (let step = 0; step < STEPS; step++) {
      const action = random();
      if (action < 0.25) {
        log.push(await move.insert('orders', orders, () => order(customers)));
      } else if (action < 0.5) {
        const set = Object.fromEntries(Object.entries(order(customers)).filter(() => chance(0.5)));
        expect(await updateRow(gw, 'orders', pick(orders), Object.keys(set).length ? set : { total: 1.5 }), 'update order').toBeUndefined();
        log.push('update order');
      } else if (action < 0.6) {
        log.push(await move.delete('orders', orders));
      } else if (action < 0.72) {
        const { tier, country } = customer();
        expect(await updateRow(gw, 'customers', pick(customers), chance(0.5) ? { tier } : { country }), 'update customer').toBeUndefined();
        log.push('update customer');
      } else if (action < 0.78) {
        // Its orders stay, naming a row that is gone: their keys become NULL.
        log.push(await move.replace('customers', customers, customer));
      } else if (action < 0.92) {
        log.push(await move.flush(['orders', 'customers']));
      } else {
        log.push(await move.compact('orders'));
      }

      const truth = await readTruth(gw);
      // A page of customers (the next one at each step) with their orders' figures, filtered and not.
      const page = { offset: (step * 3) % 9, where: step % 2 ? { note: { _neq: 'rush' } } : undefined };
      const nested = await askNested(page.offset, page.where, stepContext(step, log));
      const ids = nested.map((c: { row_id: string }) => c.row_id);
      const expected = answerPerParent(gw.catalog, truth, gw.catalog.entity('orders'), 'customer', ids, page.where, ASK);
      const context = `${stepContext(step, log)}, a page of customers with ${JSON.stringify(page)}`;
      expect(roundFloats(nested.map((c: { orders_aggregate: { aggregate: unknown } }) => c.orders_aggregate.aggregate)), context).toEqual(roundFloats(ids.map((id: string) => expected.get(id))));
      expect(await withNothingKept(cache, () => askNested(page.offset, page.where, context)), `${context}: read in full`).toEqual(nested);
      for (const args of DASHBOARD) {
        const context = `${stepContext(step, log)}, ${JSON.stringify(args)}`;
        const kept = await ask(args, context);
        expect(roundFloats(kept), context).toEqual(roundFloats(answerGroups(gw.catalog, truth, gw.catalog.entity('orders'), args, ASK)));
        expect(await withNothingKept(cache, () => ask(args, context)), `${context}: read in full`).toEqual(kept);
      }
    }
    const used = { hits: cache.stats.hits - before.hits, corrections: cache.stats.corrections - before.corrections, full: cache.stats.full - before.full };
    expect(used.hits + used.corrections, JSON.stringify(used)).toBeGreaterThan(used.full);
    expect(used.corrections, JSON.stringify(used)).toBeGreaterThan(0);
    expect(log.some((l) => l === 'update customer')).toBe(true);
  });
});
