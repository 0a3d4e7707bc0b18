// Kept partial aggregates (src/query/aggregate-cache.ts): the same dashboard questions asked after
// every step of seeded random writes (inserts, updates that move rows between groups and in and out
// of the filter, deletes, flushes, compactions) equal the oracle over the OLTP truth, and equal the
// same question read in full; the counters show that most asks were corrected, not read again.
// AGG_CACHE_STEPS / AGG_CACHE_SEED scale and vary it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactEntity, deleteRow, dice, flushEntity, insertRows, stepContext, updateRow } from '../support/differential.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { withNothingKept } from '../support/kept.js';
import { readTruth } from '../support/oracle.js';
import { answerGroups, roundFloats, type AggregateAsk, type GroupArgs } from '../support/oracle-aggregate.js';
import { MAX_KEPT_GROUPS } from '../../src/query/aggregate-cache.js';
import { parseWhere } from '../../src/graphql/bind-filter.js';
import { planAggregate } from '../../src/query/index.js';

const STEPS = Number(process.env.AGG_CACHE_STEPS ?? 40);
const SEED = Number(process.env.AGG_CACHE_SEED ?? 7);
const { random, pick, chance } = dice(SEED);

const YEAR_MS = Date.UTC(2026, 0, 1);
// Quarters: sums of them are exact in binary, so the oracle's and DuckDB's sums agree exactly.
const quarter = (max: number) => Math.round(random() * max * 4) / 4;
const order = () => ({
  total: chance(0.1) ? null : quarter(100),
  quantity: chance(0.1) ? null : Math.floor(random() * 10),
  paid: pick([true, false, null]),
  placed_at: chance(0.1) ? null : new Date(YEAR_MS + Math.floor(random() * 365 * 24) * 3_600_000).toISOString(),
  note: pick(['gift', 'rush', null]),
});

const ASK: AggregateAsk = { count: true, fields: { sum: ['total', 'quantity'], avg: ['total', 'quantity'], min: ['total', 'placed_at'], max: ['total', 'placed_at'] } };
const SELECTION = 'count sum { total quantity } avg { total quantity } min { total placed_at } max { total placed_at }';
/** A dashboard: a plain aggregate with a filter, groups by a bucket, groups by a field with HAVING and top-N. */
const DASHBOARD: GroupArgs[] = [
  { where: { paid: { _eq: true } }, group_by: [] },
  { group_by: ['placed_at_month'], time_zone: 'Europe/Berlin' },
  { where: { total: { _gt: 20 } }, group_by: ['note'], having: { count: { _gt: 1 } }, order_by: [{ sum: { total: 'desc' } }], limit: 2 },
];

function question(args: GroupArgs): { query: string; variables: Record<string, unknown> } {
  const keys = args.group_by.length ? args.group_by.join(' ') : null;
  const declared = keys ? '$w: orders_bool_exp, $z: String, $h: orders_group_having, $o: [orders_group_order_by!], $l: Int' : '$w: orders_bool_exp';
  return {
    query: `query(${declared}) {
      orders_aggregate(where: $w${keys ? `, group_by: [${args.group_by.join(', ')}], time_zone: $z` : ''}) {
        ${keys ? `groups(having: $h, order_by: $o, limit: $l) { key { ${keys} } aggregate { ${SELECTION} } }` : `aggregate { ${SELECTION} }`}
      }
    }`,
    variables: { w: args.where, ...(keys ? { z: args.time_zone ?? null, h: args.having, o: args.order_by, l: args.limit ?? null } : {}) },
  };
}

describe('kept partial aggregates, corrected by the rows changed since', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const ask = async (args: GroupArgs, context: string) => {
    const { query, variables } = question(args);
    const res = await gw.gql(query, variables);
    expect(res.errors, context).toBeUndefined();
    return args.group_by.length ? res.data.orders_aggregate.groups : [{ key: {}, aggregate: res.data.orders_aggregate.aggregate }];
  };

  it(`equal the oracle and a full read over ${STEPS} random steps (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const cache = gw.lakehouse.search.aggregates;
    const live: string[] = await insertRows(gw, 'orders', Array.from({ length: 30 }, order));
    const log: string[] = [];
    const orders = gw.catalog.entity('orders');
    for (let step = 0; step < STEPS; step++) {
      const action = random();
      if (action < 0.35) {
        live.push(...(await insertRows(gw, 'orders', Array.from({ length: 1 + Math.floor(random() * 4) }, order))));
        log.push('insert');
      } else if (action < 0.7) {
        for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
          const set = Object.fromEntries(Object.entries(order()).filter(() => chance(0.5)));
          expect(await updateRow(gw, 'orders', pick(live), Object.keys(set).length ? set : { total: 1.5 }), 'update').toBeUndefined();
        }
        log.push('update');
      } else if (action < 0.82) {
        const id = pick(live);
        expect(await deleteRow(gw, 'orders', id), 'delete').toBeUndefined();
        live.splice(live.indexOf(id), 1);
        log.push('delete');
      } else if (action < 0.94) {
        await flushEntity(gw, 'orders');
        log.push('flush');
      } else {
        log.push(`compact: ${await compactEntity(gw, 'orders', { dirtyRatio: 0 })}`);
      }

      const truth = await readTruth(gw);
      for (const args of DASHBOARD) {
        const context = `${stepContext(step, log)}, ${JSON.stringify(args)}`;
        const expected = answerGroups(gw.catalog, truth, orders, args, ASK);
        const kept = await ask(args, context);
        const none = { count: 0, sum: { total: null, quantity: null }, avg: { total: null, quantity: null }, min: { total: null, placed_at: null }, max: { total: null, placed_at: null } };
        expect(roundFloats(kept), context).toEqual(roundFloats(args.group_by.length ? expected : [{ key: {}, aggregate: expected[0]?.aggregate ?? none }]));
        // The same question read in full (nothing kept) answers exactly the same, floats included.
        expect(await withNothingKept(cache, () => ask(args, context)), `${context}: read in full`).toEqual(kept);
      }
    }
    // Most asks follow a few writes in the same files: corrected, not read again.
    expect(cache.stats.corrections, JSON.stringify(cache.stats)).toBeGreaterThan(cache.stats.full);
    expect(log.some((l) => l === 'flush')).toBe(true);
  });

  it('corrects by a row changed twice between two asks and by one inserted and changed between them', async () => {
    const cache = gw.lakehouse.search.aggregates;
    const args: GroupArgs = { where: { note: { _eq: 'twice' } }, group_by: [] };
    // The rows that hold the extremes stay, so no kept min or max goes stale.
    const [first] = await insertRows(gw, 'orders', [{ total: 1, note: 'twice' }, { total: 0.5, note: 'twice' }, { total: 100, note: 'twice' }]);
    // Kept from the second ask on (the first is read its own way).
    for (const time of ['first', 'second']) expect((await ask(args, `three rows, ${time} ask`))[0].aggregate.sum.total).toBe(101.5);
    const { corrections, full } = cache.stats;
    // Versions 2 and 8 come and go between the asks: neither may count, added or taken away.
    expect(await updateRow(gw, 'orders', first!, { total: 2 }), 'update').toBeUndefined();
    expect(await updateRow(gw, 'orders', first!, { total: 4 }), 'update').toBeUndefined();
    const [second] = await insertRows(gw, 'orders', [{ total: 8, note: 'twice' }]);
    expect(await updateRow(gw, 'orders', second!, { total: 16 }), 'update').toBeUndefined();
    const after = (await ask(args, 'after the changes'))[0].aggregate;
    expect(after).toMatchObject({ count: 4, sum: { total: 120.5 }, min: { total: 0.5 }, max: { total: 100 } });
    expect({ corrections: cache.stats.corrections - corrections, full: cache.stats.full - full }, JSON.stringify(cache.stats)).toEqual({ corrections: 1, full: 0 });
  });

  it('corrects a snapshot older than the mirror: a version superseded after its slot still counts', async () => {
    const cache = gw.lakehouse.search.aggregates;
    const search = gw.lakehouse.search;
    const orders = gw.catalog.entity('orders');
    const plan = planAggregate({ entity: orders, filter: parseWhere(gw.catalog, orders, { note: { _eq: 'older' } }), request: { count: true, fields: { sum: ['total'] } } });
    const sumOf = async (s: typeof search) => (await s.aggregate(plan))[0]!.aggregate.sum.total;
    const [first, second] = await insertRows(gw, 'orders', [{ total: 1, note: 'older' }, { total: 2, note: 'older' }]);
    for (let ask = 0; ask < 2; ask++) expect(await sumOf(search)).toBe(3);
    // given: a snapshot taken after the first row changed
    expect(await updateRow(gw, 'orders', first!, { total: 10 }), 'update').toBeUndefined();
    const handle = search.engine.snapshot([orders]);
    try {
      await handle.read([orders], (view) => ({ sql: `SELECT count(*) AS n FROM ${view(orders)} AS o`, params: [] }));
      // when: the second row changes after it, and a newer read copies that into the shared mirror
      expect(await updateRow(gw, 'orders', second!, { total: 100 }), 'update').toBeUndefined();
      await search.engine.read([orders], (view) => ({ sql: `SELECT count(*) AS n FROM ${view(orders)} AS o`, params: [] }));
      // then: corrected for the older snapshot, the second row's version there (2) is neither taken away nor replaced
      const { corrections } = cache.stats;
      expect(await sumOf(search.scoped(() => handle))).toBe(12);
      expect(cache.stats.corrections - corrections).toBe(1);
    } finally {
      handle.release();
    }
    expect(await sumOf(search)).toBe(110);
  });

  it('corrects in the answer’s statement while few changed rows are all buffered, and writes the corrected partials past that', async () => {
    const cache = gw.lakehouse.search.aggregates;
    const args: GroupArgs = { where: { note: { _eq: 'inline' } }, group_by: [] };
    // The rows holding the extremes (0 and 1,000) stay, so no kept min or max goes stale.
    const ids = await insertRows(gw, 'orders', [1, 2, 4, 0, 1_000].map((total) => ({ total, note: 'inline' })));
    for (const time of ['first', 'second']) expect((await ask(args, `${time} ask`))[0].aggregate.sum.total).toBe(1_007);
    const inlineRows = cache.inlineRows;
    cache.inlineRows = 2;
    try {
      const step = async (changes: [number, number][], sum: number) => {
        const { corrections, inline } = cache.stats;
        for (const [i, total] of changes) expect(await updateRow(gw, 'orders', ids[i]!, { total }), 'update').toBeUndefined();
        expect((await ask(args, `after ${JSON.stringify(changes)}`))[0].aggregate.sum.total).toBe(sum);
        return { corrections: cache.stats.corrections - corrections, inline: cache.stats.inline - inline };
      };
      // One row changed since the kept partials, then two: each ask corrects them in its own statement.
      expect(await step([[0, 10]], 1_016)).toEqual({ corrections: 1, inline: 1 });
      expect(await step([[1, 20]], 1_034)).toEqual({ corrections: 1, inline: 1 });
      // Three rows changed since: the corrected partials are written and kept, and the next ask corrects those.
      expect(await step([[2, 40]], 1_070)).toEqual({ corrections: 1, inline: 0 });
      expect(await step([[0, 100]], 1_160)).toEqual({ corrections: 1, inline: 1 });
    } finally {
      cache.inlineRows = inlineRows;
    }
  });

  it('corrects rows whose earlier version is in a lake file by the version their change replaced, in the answer’s statement', async () => {
    const cache = gw.lakehouse.search.aggregates;
    const args: GroupArgs = { where: { note: { _eq: 'replaced' } }, group_by: [] };
    const at = (day: number) => new Date(YEAR_MS + day * 86_400_000).toISOString();
    // The rows holding the extremes (0 and 1,000; days 0 and 300) stay, so no kept min or max goes stale.
    const [, , a, b, c] = await insertRows(gw, 'orders', [
      { total: 0, quantity: 1, placed_at: at(0), note: 'replaced' },
      { total: 1_000, quantity: 1, placed_at: at(300), note: 'replaced' },
      { total: 0.25, quantity: null, placed_at: at(10), note: 'replaced' },
      { total: 0.125, quantity: 3, placed_at: null, note: 'replaced' },
      { total: 456.789, quantity: 7, placed_at: at(20), note: 'replaced' },
    ]);
    await flushEntity(gw, 'orders');
    for (const time of ['first', 'second']) await ask(args, `${time} ask`);
    const { corrections, inline, full } = cache.stats;
    // An attribute set where it had no value, one cleared and one changed, and a row deleted: each
    // earlier version is only in the lake file, and each change carried it.
    expect(await updateRow(gw, 'orders', a!, { quantity: 5 }), 'update').toBeUndefined();
    expect(await updateRow(gw, 'orders', b!, { total: 2.5, quantity: null, placed_at: at(30) }), 'update').toBeUndefined();
    expect(await deleteRow(gw, 'orders', c!), 'delete').toBeUndefined();
    const [after] = await ask(args, 'after the changes');
    // Quarters and eighths: sums exact in binary, whichever way they are added up.
    expect(after.aggregate).toMatchObject({ count: 4, sum: { total: 1_002.75, quantity: 7 }, min: { total: 0, placed_at: at(0) }, max: { total: 1_000, placed_at: at(300) } });
    expect([after]).toEqual(await withNothingKept(cache, () => ask(args, 'read in full')));
    const counts = { corrections: cache.stats.corrections - corrections, inline: cache.stats.inline - inline, full: cache.stats.full - full };
    expect(counts, JSON.stringify(cache.stats)).toEqual({ corrections: 1, inline: 1, full: 0 });
  });

  it('reads a float sum again rather than keep one that lost its digits to a cancelled huge value', async () => {
    const cache = gw.lakehouse.search.aggregates;
    const args: GroupArgs = { where: { note: { _eq: 'cancel' } }, group_by: [] };
    const [small] = await insertRows(gw, 'orders', [{ total: 0.1, note: 'cancel' }, { total: 0.2, note: 'cancel' }]);
    const [huge] = await insertRows(gw, 'orders', [{ total: 1e20, note: 'cancel' }]);
    for (const time of ['first', 'second']) expect((await ask(args, `with the huge value, ${time} ask`))[0].aggregate.sum.total).toBe(1e20);
    const { refused, full } = cache.stats;
    expect(await deleteRow(gw, 'orders', huge!), 'delete').toBeUndefined();
    // Corrected by subtraction the sum would be 1e20 + 0.1 + 0.2 - 1e20: 0, not 0.3.
    const after = (await ask(args, 'after the delete'))[0].aggregate;
    expect(after.sum.total).toBeCloseTo(0.3, 12);
    expect(after.count).toBe(2);
    // The correction was computed and refused; that ask read every row and kept what it read, which
    // the next ask uses as it is.
    expect(cache.stats.refused).toBe(refused + 1);
    expect(cache.stats.full).toBe(full + 1);
    const { hits } = cache.stats;
    expect((await ask(args, 'again'))[0].aggregate.sum.total).toBeCloseTo(0.3, 12);
    expect(cache.stats.hits).toBe(hits + 1);
    expect(small).toBeDefined();
  });

  it('keeps a question whose keys go through a ref by the ref, reading the referenced rows at each ask; reads one whose filter does in full', async () => {
    const cache = gw.lakehouse.search.aggregates;
    const [customer] = await insertRows(gw, 'customers', [{ name: 'Ref', tier: 'FREE', country: 'DE' }]);
    await insertRows(gw, 'orders', [{ customer, total: 7, note: 'through-ref' }]);
    const byTier = `{ orders_aggregate(where: {note: {_eq: "through-ref"}}, group_by: [customer__tier]) { groups { key { customer__tier } aggregate { count } } } }`;
    const proOnly = `{ orders_aggregate(where: {note: {_eq: "through-ref"}, customer: {tier: {_eq: PRO}}}) { aggregate { count sum { total } } } }`;
    const ask = async (query: string) => {
      const before = { ...cache.stats };
      const res = await gw.gql(query);
      expect(res.errors).toBeUndefined();
      const used = Object.fromEntries(Object.entries(cache.stats).map(([k, v]) => [k, v - before[k as keyof typeof before]]));
      return { answer: res.data.orders_aggregate, used };
    };
    const none = { hits: 0, corrections: 0, inline: 0, full: 0, refused: 0 };
    // The first ask is read its own way and noted; the second reads the partials and keeps them.
    expect(await ask(byTier)).toEqual({ answer: { groups: [{ key: { customer__tier: 'FREE' }, aggregate: { count: 1 } }] }, used: none });
    expect(await ask(byTier)).toEqual({ answer: { groups: [{ key: { customer__tier: 'FREE' }, aggregate: { count: 1 } }] }, used: { ...none, full: 1 } });
    expect(await ask(proOnly)).toEqual({ answer: { aggregate: { count: 0, sum: { total: null } } }, used: none });
    // The customer changes, its orders do not: the kept partials are the orders', the tier is read now.
    expect(await updateRow(gw, 'customers', customer!, { tier: 'PRO' }), 'update').toBeUndefined();
    expect(await ask(byTier)).toEqual({ answer: { groups: [{ key: { customer__tier: 'PRO' }, aggregate: { count: 1 } }] }, used: { ...none, hits: 1 } });
    expect(await ask(proOnly)).toEqual({ answer: { aggregate: { count: 1, sum: { total: 7 } } }, used: none });
    // Gone, the customer leaves its order in the NULL group, as the direct statement's LEFT JOIN does.
    expect(await deleteRow(gw, 'customers', customer!), 'delete').toBeUndefined();
    expect(await ask(byTier)).toEqual({ answer: { groups: [{ key: { customer__tier: null }, aggregate: { count: 1 } }] }, used: { ...none, hits: 1 } });
  });

  it('answers but does not keep partials of more groups than MAX_KEPT_GROUPS', async () => {
    const cache = gw.lakehouse.search.aggregates;
    await insertRows(gw, 'orders', Array.from({ length: MAX_KEPT_GROUPS + 1 }, (_, i) => ({ quantity: 1_000_000 + i, note: 'many groups' })));
    const query = `{ orders_aggregate(where: {note: {_eq: "many groups"}}, group_by: [quantity]) { groups(limit: 2) { key { quantity } aggregate { count } } } }`;
    const { full, hits } = cache.stats;
    for (let ask = 0; ask < 3; ask++) {
      const res = await gw.gql(query);
      expect(res.errors).toBeUndefined();
      expect(res.data.orders_aggregate.groups).toEqual([
        { key: { quantity: 1_000_000 }, aggregate: { count: 1 } },
        { key: { quantity: 1_000_001 }, aggregate: { count: 1 } },
      ]);
    }
    // The second ask read the partials (the first is read its own way) and did not keep them: the
    // third is read its own way again.
    expect(cache.stats.full).toBe(full + 1);
    expect(cache.stats.hits).toBe(hits);
  });

  it('keeps partials of at most maxRows rows together, dropping the least recently asked; clear() drops them all', async () => {
    const cache = gw.lakehouse.search.aggregates;
    await insertRows(gw, 'orders', Array.from({ length: 30 }, (_, i) => ({ quantity: 2_000_000 + (i % 10), note: `budget ${Math.floor(i / 10)}` })));
    const query = (n: number) => `{ orders_aggregate(where: {note: {_eq: "budget ${n}"}}, group_by: [quantity]) { groups { aggregate { count } } } }`;
    const ask = async (n: number) => {
      const { full, hits } = cache.stats;
      const res = await gw.gql(query(n));
      expect(res.errors).toBeUndefined();
      expect(res.data.orders_aggregate.groups).toHaveLength(10);
      return { full: cache.stats.full - full, hits: cache.stats.hits - hits };
    };
    const maxRows = cache.maxRows;
    cache.maxRows = 25;
    try {
      // Ten groups each, kept at the second ask: the third question's partials push the first one's out.
      for (const n of [0, 1, 2]) {
        expect(await ask(n)).toEqual({ full: 0, hits: 0 });
        expect(await ask(n)).toEqual({ full: 1, hits: 0 });
      }
      expect(await ask(2)).toEqual({ full: 0, hits: 1 });
      expect(await ask(1)).toEqual({ full: 0, hits: 1 });
      // Dropped, the first is a new question again.
      expect(await ask(0)).toEqual({ full: 0, hits: 0 });
      expect(await ask(0)).toEqual({ full: 1, hits: 0 });
      // Cleared, nothing is kept or noted.
      cache.clear();
      for (const n of [0, 2]) expect(await ask(n)).toEqual({ full: 0, hits: 0 });
    } finally {
      cache.maxRows = maxRows;
    }
  });
});
