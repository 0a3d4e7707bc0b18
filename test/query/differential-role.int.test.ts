// Differential test of a role's row filters (issue 12): seeded random writes as the admin (owners change
// team and hide, items move between owners and regions, deletes), flushes and compactions; after
// each step random filters, related sorts, distinct_on, batched children, refs, _by_pk, grouped,
// plain and nested aggregates are asked AS A ROLE, with random session variables, and compared with
// the oracle answering over the truth cut to what the role may see (test/support/oracle-role.ts).
// The items filter uses a session variable on its own column OR goes through a ref to owners,
// whose own filter is stricter (hidden owners): an item may be visible while its owner is not; the
// owners filter goes through the reverse relation to items, read unfiltered as a ref in a filter is.
// ROLE_DIFF_STEPS / ROLE_DIFF_SEED scale and vary it (e.g. ROLE_DIFF_STEPS=100 for a long run).
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactEntity, deleteRow, dice, flushEntity, insertRows, stepContext, updateRow } from '../support/differential.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { readTruth, type Truth } from '../support/oracle.js';
import { answerFigures, answerGroups, answerPerParent, roundFloats, type AggregateAsk, type GroupArgs } from '../support/oracle-aggregate.js';
import { truthAs } from '../support/oracle-role.js';
import { sortedPage, type SortedPageArgs } from '../support/oracle-sort.js';
import { scratchDir } from '../support/scratch.js';

const STEPS = Number(process.env.ROLE_DIFF_STEPS ?? 24);
const SEED = Number(process.env.ROLE_DIFF_SEED ?? 20261201);
const QUESTIONS_PER_STEP = 6;
const ROLE = 'viewer';

const DEFINITIONS = {
  project: 'roles',
  entities: [
    {
      id: 1,
      name: 'owners',
      attributes: [
        { name: 'name', type: 'string' },
        { name: 'team', type: 'string' },
        { name: 'hidden', type: 'boolean' },
        { name: 'rank', type: 'int' },
      ],
      select_permissions: [
        // Stricter than the items' ref below: a hidden owner of the team is not visible, its items are;
        // or through the reverse relation: an owner of another team with a done gift item outside the
        // region, an item the role does not see (a relation in a filter reads every row).
        {
          role: ROLE,
          permission: {
            columns: '*',
            filter: {
              _or: [{ team: { _eq: 'X-Hasura-Team' }, hidden: { _neq: true } }, { items: { region: { _neq: 'X-Hasura-Region' }, label: { _eq: 'gift' }, done: { _eq: true } } }],
            },
            allow_aggregations: true,
          },
        },
      ],
    },
    {
      id: 2,
      name: 'items',
      attributes: [
        { name: 'owner', type: 'ref', entity: 'owners' },
        { name: 'region', type: 'string' },
        { name: 'amount', type: 'float' },
        { name: 'qty', type: 'int' },
        { name: 'done', type: 'boolean' },
        { name: 'at', type: 'timestamp' },
        { name: 'label', type: 'string' },
      ],
      select_permissions: [
        {
          role: ROLE,
          permission: {
            columns: '*',
            filter: { _or: [{ region: { _eq: 'X-Hasura-Region' } }, { owner: { team: { _eq: 'X-Hasura-Team' } } }] },
            allow_aggregations: true,
          },
        },
      ],
    },
  ],
};

const { random, pick, chance } = dice(SEED);

const TEAMS = ['red', 'blue', 'green'];
const REGIONS = ['north', 'south', 'east'];
const LABELS = ['gift', 'rush', null];
const DIRECTIONS = ['asc', 'asc_nulls_first', 'asc_nulls_last', 'desc', 'desc_nulls_first', 'desc_nulls_last'] as const;
const BASE_MS = Date.UTC(2026, 0, 1);
const timestamp = () => (chance(0.15) ? null : new Date(BASE_MS + Math.floor(random() * 60) * 13 * 3_600_000).toISOString());
// Quarters: their sums are exact in binary, whatever order JS and DuckDB add them in.
const quarter = (max: number) => Math.round(random() * max * 4) / 4;
const dir = () => pick(DIRECTIONS);

function randomOwner(): Record<string, unknown> {
  return { name: pick(['Ada', 'Bob', 'Cyd', 'Dan']), team: chance(0.1) ? null : pick(TEAMS), hidden: pick([true, false, false, null]), rank: chance(0.15) ? null : Math.floor(random() * 5) };
}

function randomItem(owners: readonly string[]): Record<string, unknown> {
  return {
    owner: owners.length && !chance(0.1) ? pick(owners) : null,
    region: chance(0.1) ? null : pick(REGIONS),
    amount: chance(0.1) ? null : quarter(100),
    qty: chance(0.1) ? null : Math.floor(random() * 10),
    done: pick([true, false, null]),
    at: timestamp(),
    label: pick(LABELS),
  };
}

/** A session of the role: which region and team it is (sometimes a team no owner has). */
const randomSession = () => ({ 'x-hasura-role': ROLE, 'x-hasura-region': pick(REGIONS), 'x-hasura-team': pick([...TEAMS, 'nobody']) });

function randomItemsWhere(): Record<string, unknown> | undefined {
  const leaves: (() => Record<string, unknown>)[] = [
    () => ({ amount: { [pick(['_gt', '_lte'])]: quarter(100) } }),
    () => ({ done: { _eq: pick([true, false]) } }),
    () => ({ region: { _in: [pick(REGIONS), pick(REGIONS)] } }),
    () => ({ label: { _is_null: pick([true, false]) } }),
    // Through the ref: the owner must be visible to the role too.
    () => ({ owner: { rank: { _gte: Math.floor(random() * 5) } } }),
    () => ({ owner: {} }),
    () => ({ _not: { owner: { name: { _eq: pick(['Ada', 'Bob']) } } } }),
    () => ({ owner: { items_aggregate: { count: { predicate: { _gt: Math.floor(random() * 3) } } } } }),
  ];
  const shape = random();
  if (shape < 0.25) return undefined;
  if (shape < 0.7) return pick(leaves)();
  if (shape < 0.85) return { _or: [pick(leaves)(), pick(leaves)()] };
  return { _and: [pick(leaves)(), pick(leaves)()] };
}

function randomOwnersWhere(): Record<string, unknown> | undefined {
  const leaves: (() => Record<string, unknown>)[] = [
    () => ({ rank: { [pick(['_gt', '_lte'])]: Math.floor(random() * 5) } }),
    // Reverse relations and their aggregates count only the items the role sees.
    () => ({ items: { done: { _eq: pick([true, false]) } } }),
    () => ({ _not: { items: {} } }),
    () => ({ items_aggregate: { count: { predicate: { [pick(['_gt', '_eq', '_lte'])]: Math.floor(random() * 4) } } } }),
    () => ({ items_aggregate: { sum: { arguments: 'qty', predicate: { _gte: Math.floor(random() * 15) } } } }),
  ];
  return chance(0.25) ? undefined : chance(0.8) ? pick(leaves)() : { _or: [pick(leaves)(), pick(leaves)()] };
}

function itemsTerm(): Record<string, unknown> {
  return pick<() => Record<string, unknown>>([
    () => ({ [pick(['amount', 'qty', 'label', 'done', 'at', 'region'])]: dir() }),
    () => ({ owner: { [pick(['name', 'team', 'rank', 'row_id'])]: dir() } }),
    () => ({ owner: { items_aggregate: pick([{ count: dir() }, { sum: { qty: dir() } }, { max: { amount: dir() } }]) } }),
  ])();
}

function ownersTerm(): Record<string, unknown> {
  return pick<() => Record<string, unknown>>([
    () => ({ [pick(['name', 'rank', 'team'])]: dir() }),
    () => ({ items_aggregate: { count: dir() } }),
    () => ({ items_aggregate: { [pick(['sum', 'max', 'min'])]: { [pick(['qty', 'amount'])]: dir() } } }),
  ])();
}

/** order_by (1-2 terms) and maybe distinct_on, whose columns then lead order_by (Hasura's rule). */
function sortArgs(term: () => Record<string, unknown>, distinctColumns: string[]): SortedPageArgs {
  const orderBy = Array.from({ length: 1 + Math.floor(random() * 2) }, term);
  const args: SortedPageArgs = { order_by: orderBy, limit: pick([3, 10, 100]), offset: pick([0, 0, 2]) };
  if (chance(0.3)) {
    const column = pick(distinctColumns);
    args.distinct_on = [column];
    // A ref leads by its referenced row_id (order_by names the relationship, not the column).
    args.order_by = [column === 'owner' ? { owner: { row_id: dir() } } : { [column]: dir() }, ...orderBy];
  }
  return args;
}

const KEYS = ['done', 'region', 'label', 'owner', 'owner__team', 'owner__name', 'at_day', 'at_month'];

function randomGroupArgs(): GroupArgs {
  const groupBy = [...new Set(Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(KEYS)))];
  const having = pick<Record<string, unknown> | undefined>([undefined, undefined, { count: { _gt: 1 } }, { sum: { amount: { _lt: quarter(200) } } }, { count_distinct: { owner: { _gte: 2 } } }]);
  const orderBy = chance(0.4) ? undefined : [pick<Record<string, unknown>>([{ count: dir() }, { sum: { amount: dir() } }, { key: { [pick(groupBy)]: dir() } }])];
  return { where: randomItemsWhere(), group_by: groupBy, having, order_by: orderBy, limit: chance(0.5) ? 1 + Math.floor(random() * 4) : null, offset: chance(0.3) ? 1 : 0 };
}

const ASK: AggregateAsk = { count: true, fields: { sum: ['amount', 'qty'], avg: ['amount'], min: ['at'], max: ['amount'], count_distinct: ['owner'] } };
const SELECTION = 'count sum { amount qty } avg { amount } min { at } max { amount } count_distinct { owner }';

const sortVars = (args: SortedPageArgs) => ({ w: args.where ?? null, o: args.order_by, d: args.distinct_on ?? null, l: args.limit, f: args.offset });
const ids = (rows: readonly { row_id: string }[]) => rows.map((r) => r.row_id);

let gw: TestGateway;
beforeAll(async () => {
  const dir = await scratchDir('schema-');
  await fs.writeFile(path.join(dir, 'roles.json'), JSON.stringify(DEFINITIONS));
  gw = await startTestGateway({ schemaDir: dir });
});
afterAll(async () => {
  await gw?.close();
});

describe(`answers as role "${ROLE}" equal the oracle over the rows its filters admit`, () => {
  it(`over ${STEPS} random steps (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const live = { owners: [] as string[], items: [] as string[] };
    const gone: string[] = []; // deleted row_ids: _by_pk finds none of them
    const log: string[] = [];
    let questions = 0;
    /** Rows the role was answered, and items its filter hid: the run shows the filter cut some rows and kept others. */
    const seen = { asRole: 0, hidden: 0, ownerUnseen: 0, ownerByUnseenItem: 0 };

    for (let step = 0; step < STEPS; step++) {
      const action = random();
      if (action < 0.3 || live.items.length < 8) {
        live.owners.push(...(await insertRows(gw, 'owners', Array.from({ length: 1 + Math.floor(random() * 3) }, randomOwner))));
        live.items.push(...(await insertRows(gw, 'items', Array.from({ length: 2 + Math.floor(random() * 8) }, () => randomItem(live.owners)))));
        log.push('insert');
      } else if (action < 0.55) {
        // Items move between owners and regions; owners change team and hide: rows move in and out of the role's sight.
        const set = Object.fromEntries(Object.entries(randomItem(live.owners)).filter(() => chance(0.5)));
        expect(await updateRow(gw, 'items', pick(live.items), Object.keys(set).length ? set : { region: pick(REGIONS) })).toBeUndefined();
        if (live.owners.length) expect(await updateRow(gw, 'owners', pick(live.owners), { team: pick([...TEAMS, null]), hidden: pick([true, false, null]) })).toBeUndefined();
        log.push('update');
      } else if (action < 0.68) {
        const entity = chance(0.7) ? 'items' : 'owners';
        const id = pick(live[entity]);
        expect(await deleteRow(gw, entity, id)).toBeUndefined();
        live[entity] = live[entity].filter((x) => x !== id);
        gone.push(id);
        log.push(`delete ${entity}`);
      } else if (action < 0.88) {
        const entity = chance(0.6) ? 'items' : 'owners';
        await flushEntity(gw, entity);
        log.push(`flush ${entity}`);
      } else {
        const entity = chance(0.6) ? 'items' : 'owners';
        await flushEntity(gw, entity);
        log.push(`compact ${entity}: ${await compactEntity(gw, entity, { dirtyRatio: pick([0, 0.3, 2]), baseTargetBytes: pick([6_000, 1e9]) })}`);
      }

      const truth: Truth = await readTruth(gw);
      const items = gw.catalog.entity('items');
      const owners = gw.catalog.entity('owners');
      for (let q = 0; q < QUESTIONS_PER_STEP; q++) {
        const session = randomSession();
        const visible = truthAs(gw.catalog, truth, ROLE, session);
        // Owners of another team visible through an item of theirs the role cannot see.
        seen.ownerByUnseenItem += [...visible.get('owners')!.values()].filter((o) => o.values.team !== session['x-hasura-team']).length;
        const asRole = async (query: string, variables: Record<string, unknown>, context: string) => {
          const res = await gw.gql(query, variables, { headers: session });
          expect(res.errors, context).toBeUndefined();
          return res.data;
        };
        const at = (what: string) => `${stepContext(step, log)}, session ${JSON.stringify(session)}, ${what}`;
        const kind = q % QUESTIONS_PER_STEP;
        if (kind === 0) {
          // Items: filter, related sort, distinct_on, page; each item's owner only when the role sees it.
          const args = { ...sortArgs(itemsTerm, ['owner', 'region', 'done']), where: randomItemsWhere() };
          const context = at(`items ${JSON.stringify(args)}`);
          const data = await asRole(
            `query($w: items_bool_exp, $o: [items_order_by!], $d: [items_select_column!], $l: Int, $f: Int) { items(where: $w, order_by: $o, distinct_on: $d, limit: $l, offset: $f) { row_id owner { row_id name } } }`,
            sortVars(args),
            context,
          );
          const expected = sortedPage(gw.catalog, visible, items, visible.get('items')!.values(), args).map((r) => {
            const owner = visible.get('owners')!.get(r.values.owner as string);
            return { row_id: r.row_id, owner: owner ? { row_id: owner.row_id, name: owner.values.name ?? null } : null };
          });
          expect(data.items, context).toEqual(expected);
          seen.asRole += expected.length;
          seen.hidden += truth.get('items')!.size - visible.get('items')!.size;
          // Items the role sees through their owner's team while that owner (hidden) is not visible to it.
          seen.ownerUnseen += expected.filter((r) => r.owner === null && truth.get('owners')!.has(visible.get('items')!.get(r.row_id)!.values.owner as string)).length;
        } else if (kind === 1) {
          // Owners through their items (reverse relations, aggregate predicates), sorted by aggregates of them.
          const args = { ...sortArgs(ownersTerm, ['team', 'name']), where: randomOwnersWhere() };
          const context = at(`owners ${JSON.stringify(args)}`);
          const data = await asRole(
            `query($w: owners_bool_exp, $o: [owners_order_by!], $d: [owners_select_column!], $l: Int, $f: Int) { owners(where: $w, order_by: $o, distinct_on: $d, limit: $l, offset: $f) { row_id } }`,
            sortVars(args),
            context,
          );
          expect(ids(data.owners), context).toEqual(ids(sortedPage(gw.catalog, visible, owners, visible.get('owners')!.values(), args)));
        } else if (kind === 2) {
          // Batched children: each visible owner's visible items, sorted and paged per owner.
          const args = sortArgs(itemsTerm, ['region', 'label']);
          const context = at(`owners { items ${JSON.stringify(args)} }`);
          const data = await asRole(
            `query($o: [items_order_by!], $d: [items_select_column!], $l: Int, $f: Int) { owners(order_by: {row_id: asc}, limit: 1000) { row_id items(order_by: $o, distinct_on: $d, limit: $l, offset: $f) { row_id } } }`,
            sortVars(args),
            context,
          );
          const expected = [...visible.get('owners')!.values()]
            .sort((a, b) => (a.row_id < b.row_id ? -1 : 1))
            .map((o) => ({
              row_id: o.row_id,
              items: sortedPage(gw.catalog, visible, items, [...visible.get('items')!.values()].filter((i) => i.values.owner === o.row_id), args).map((i) => ({ row_id: i.row_id })),
            }));
          expect(data.owners, context).toEqual(expected);
        } else if (kind === 3) {
          // Groups, keys through the ref (NULL where the owner is not visible), HAVING, group order, top-N.
          const args = randomGroupArgs();
          const context = at(JSON.stringify(args));
          const data = await asRole(
            `query($w: items_bool_exp, $h: items_group_having, $o: [items_group_order_by!], $l: Int, $f: Int) {
              items_aggregate(where: $w, group_by: [${args.group_by.join(', ')}]) {
                groups(having: $h, order_by: $o, limit: $l, offset: $f) { key { ${args.group_by.join(' ')} } aggregate { ${SELECTION} } }
              }
            }`,
            { w: args.where, h: args.having, o: args.order_by, l: args.limit, f: args.offset },
            context,
          );
          expect(roundFloats(data.items_aggregate.groups), context).toEqual(roundFloats(answerGroups(gw.catalog, visible, items, args, ASK)));
        } else if (kind === 4) {
          // Nested <rel>_aggregate per visible owner: only the items the role sees count.
          const where = randomItemsWhere();
          const context = at(`nested items_aggregate where ${JSON.stringify(where)}`);
          const data = await asRole(
            `query($w: items_bool_exp) { owners(order_by: [{row_id: asc}], limit: 1000) { row_id items_aggregate(where: $w) { aggregate { ${SELECTION} } } } }`,
            { w: where },
            context,
          );
          const parentIds = [...visible.get('owners')!.keys()].sort();
          const expected = answerPerParent(gw.catalog, visible, items, 'owner', parentIds, where, ASK);
          expect(roundFloats(data.owners.map((o: any) => [o.row_id, o.items_aggregate.aggregate])), context).toEqual(roundFloats(parentIds.map((id) => [id, expected.get(id)])));
        } else {
          // The whole-entity aggregate, and _by_pk of any row (visible or not) with its ref.
          const where = randomItemsWhere();
          const itemId = pick([...live.items, ...gone]);
          const ownerId = pick([...live.owners, ...gone]);
          const context = at(`items_aggregate where ${JSON.stringify(where)}, items_by_pk ${itemId}, owners_by_pk ${ownerId}`);
          const data = await asRole(
            `query($w: items_bool_exp, $i: UUID!, $o: UUID!) {
              items_aggregate(where: $w) { aggregate { ${SELECTION} } }
              items_by_pk(row_id: $i) { row_id owner { row_id } }
              owners_by_pk(row_id: $o) { row_id items(order_by: {row_id: asc}) { row_id } }
            }`,
            { w: where, i: itemId, o: ownerId },
            context,
          );
          const matching = sortedPage(gw.catalog, visible, items, visible.get('items')!.values(), { where, limit: 100_000 });
          expect(roundFloats(data.items_aggregate.aggregate), context).toEqual(roundFloats(answerFigures(matching, ASK)));
          const item = visible.get('items')!.get(itemId);
          const itemOwner = item && visible.get('owners')!.get(item.values.owner as string);
          expect(data.items_by_pk, context).toEqual(item ? { row_id: itemId, owner: itemOwner ? { row_id: itemOwner.row_id } : null } : null);
          const owner = visible.get('owners')!.get(ownerId);
          const ownerItems = [...visible.get('items')!.values()].filter((i) => i.values.owner === ownerId).map((i) => i.row_id).sort();
          expect(data.owners_by_pk, context).toEqual(owner ? { row_id: ownerId, items: ownerItems.map((row_id) => ({ row_id })) } : null);
        }
        questions++;
      }
    }
    // The run wrote files and compacted, and the filters cut rows out of the answers while others remained.
    expect(log.some((l) => l.startsWith('flush'))).toBe(true);
    expect(log.some((l) => l.startsWith('compact'))).toBe(true);
    expect(seen.hidden).toBeGreaterThan(0);
    expect(seen.asRole).toBeGreaterThan(0);
    expect(seen.ownerUnseen).toBeGreaterThan(0);
    expect(seen.ownerByUnseenItem).toBeGreaterThan(0);
    expect(questions).toBe(STEPS * QUESTIONS_PER_STEP);
  });
});
