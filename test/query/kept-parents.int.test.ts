// Kept parents of reverse-relation filters (src/query/kept-parents.ts): the same search-screen
// questions asked after every step of seeded random writes (orders moving between customers, in and
// out of the filters, deleted; customers deleted; flushes and compactions of both) equal the oracle
// over the OLTP truth (as a page and as the count beside it), and equal the same question read
// without anything kept; the counters show that the asks after the first were answered from kept
// parents, most of them corrected.
// KEPT_PARENTS_STEPS / KEPT_PARENTS_SEED scale and vary it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dice, insertRows, randomMoves, stepContext } from '../support/differential.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { withNothingKept } from '../support/kept.js';
import { answerList, readTruth } from '../support/oracle.js';

const STEPS = Number(process.env.KEPT_PARENTS_STEPS ?? 40);
const SEED = Number(process.env.KEPT_PARENTS_SEED ?? 11);
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

/** Questions a search screen repeats: the reverse filter, its negation, inside an _or, through a ref, and counts of related rows. */
const QUESTIONS: { entity: 'customers' | 'orders'; where: Record<string, unknown> }[] = [
  { entity: 'customers', where: { orders: { total: { _gt: 50 } } } },
  { entity: 'customers', where: { _not: { orders: { paid: { _eq: true } } } } },
  { entity: 'customers', where: { _or: [{ tier: { _eq: 'PRO' } }, { orders: { note: { _eq: 'gift' }, quantity: { _gt: 2 } } }] } },
  { entity: 'orders', where: { customer: { orders: { total: { _gt: 90 } } } } },
  // Counts of related rows: with matching rows only, and true of the parents without any.
  { entity: 'customers', where: { orders_aggregate: { count: { predicate: { _gt: 2 }, filter: { paid: { _eq: false } } } } } },
  { entity: 'customers', where: { orders_aggregate: { count: { predicate: { _lte: 1 } } } } },
];

describe('kept parents of reverse-relation filters, corrected by the rows changed since', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const ask = async (entity: string, where: Record<string, unknown>, context: string): Promise<string[]> => {
    const res = await gw.gql(`query($w: ${entity}_bool_exp) { ${entity}(where: $w, limit: 1000) { row_id } }`, { w: where });
    expect(res.errors, context).toBeUndefined();
    return res.data[entity].map((r: { row_id: string }) => r.row_id);
  };

  const count = async (entity: string, where: Record<string, unknown>, context: string): Promise<number> => {
    const res = await gw.gql(`query($w: ${entity}_bool_exp) { ${entity}_aggregate(where: $w) { aggregate { count } } }`, { w: where });
    expect(res.errors, context).toBeUndefined();
    return res.data[`${entity}_aggregate`].aggregate.count;
  };

  it(`equal the oracle and a read without them over ${STEPS} random steps (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const cache = gw.lakehouse.search.aggregates;
    const customers = await insertRows(gw, 'customers', Array.from({ length: 12 }, customer));
    const orders = await insertRows(gw, 'orders', Array.from({ length: 40 }, () => order(customers)));
    const log: string[] = [];
    const move = randomMoves(gw, seeded);
    const before = { ...cache.stats };
    for (let step = 0; step < STEPS; step++) {
      const action = random();
      if (action < 0.25) {
        log.push(await move.insert('orders', orders, () => order(customers)));
      } else if (action < 0.55) {
        log.push(await move.update('orders', orders, () => order(customers), { total: 99 }));
      } else if (action < 0.65) {
        log.push(await move.delete('orders', orders));
      } else if (action < 0.72) {
        // Its orders stay, naming a row that is gone: no longer a parent.
        log.push(await move.replace('customers', customers, customer));
      } else if (action < 0.88) {
        log.push(await move.flush(['orders', 'customers']));
      } else {
        log.push(await move.compact('orders'));
      }

      const truth = await readTruth(gw);
      for (const { entity, where } of QUESTIONS) {
        const context = `${stepContext(step, log)}, ${entity} ${JSON.stringify(where)}`;
        const expected = answerList(gw.catalog, truth, gw.catalog.entity(entity), { where, limit: 1_000 }).map((r) => r.row_id);
        const kept = await ask(entity, where, context);
        expect(kept, context).toEqual(expected);
        // The screen's total beside its page: the same filter in an aggregate.
        const total = await count(entity, where, context);
        expect(total, `${context}: count`).toBe(expected.length);
        await withNothingKept(cache, async () => {
          expect(await ask(entity, where, context), `${context}: nothing kept`).toEqual(kept);
          expect(await count(entity, where, context), `${context}: count, nothing kept`).toBe(total);
        });
      }
    }
    // Every ask after a question's first two (the second builds what it keeps) and after each flush
    // or compaction of orders (which lists other files) comes from kept parents; most after a
    // write in the buffer, corrected.
    const hits = cache.stats.hits - before.hits;
    const corrections = cache.stats.corrections - before.corrections;
    const full = cache.stats.full - before.full;
    expect(hits + corrections, JSON.stringify(cache.stats)).toBeGreaterThan(full);
    expect(corrections, JSON.stringify(cache.stats)).toBeGreaterThan(0);
    expect(log.some((l) => l === 'flush orders')).toBe(true);
  });

  it('keeps nothing of a question asked once, and reads the kept parents from the second ask on', async () => {
    const cache = gw.lakehouse.search.aggregates;
    const [id] = await insertRows(gw, 'customers', [{ name: 'Once' }]);
    await insertRows(gw, 'orders', [{ customer: id, total: 12_345, note: 'once' }]);
    const where = { orders: { total: { _eq: 12_345 }, note: { _eq: 'once' } } };
    const asks = async () => {
      const { hits, corrections, full } = cache.stats;
      expect(await ask('customers', where, 'ask')).toEqual([id]);
      return { hits: cache.stats.hits - hits, corrections: cache.stats.corrections - corrections, full: cache.stats.full - full };
    };
    expect(await asks()).toEqual({ hits: 0, corrections: 0, full: 0 });
    expect(await asks()).toEqual({ hits: 0, corrections: 0, full: 1 });
    expect(await asks()).toEqual({ hits: 1, corrections: 0, full: 0 });
    // The count beside the page reads the same kept parents.
    const { hits } = cache.stats;
    expect(await count('customers', where, 'count')).toBe(1);
    expect(cache.stats.hits - hits).toBe(1);
    // A change to a referencing row: corrected, and the parent is gone.
    const res = await gw.gql(`mutation($n: String!) { update_orders(where: {note: {_eq: $n}}, _set: {customer: null}) { affected_rows } }`, { n: 'once' });
    expect(res.errors).toBeUndefined();
    const { corrections } = cache.stats;
    expect(await ask('customers', where, 'after the update')).toEqual([]);
    expect(cache.stats.corrections - corrections).toBe(1);
  });
});
