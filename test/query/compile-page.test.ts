// The page compiler as a pure function: the SQL shape of each plan (joins for related sorts,
// grouped subqueries for child aggregates, QUALIFY windows for distinct_on and batches), the row
// filter applied at every read of its entity, and Hasura's distinct_on rule.
import { describe, expect, it } from 'vitest';
import { Catalog, parseProjectDefinition, type EntitySchema } from '../../src/catalog/index.js';
import { ValidationError } from '../../src/errors/index.js';
import { DISTINCT_ON_MISMATCH, checkDistinctOn, compilePage, planEntities, type OrderTerm, type PagePlan } from '../../src/query/index.js';
import { parseWhere } from '../../src/graphql/bind-filter.js';

const catalog = new Catalog([
  parseProjectDefinition(
    {
      project: 'shop',
      entities: [
        { id: 1, name: 'regions', attributes: [{ name: 'label', type: 'string' }] },
        { id: 2, name: 'customers', attributes: [{ name: 'name', type: 'string' }, { name: 'country', type: 'string' }, { name: 'region', type: 'ref', entity: 'regions' }] },
        { id: 3, name: 'orders', attributes: [{ name: 'customer', type: 'ref', entity: 'customers' }, { name: 'total', type: 'float' }, { name: 'note', type: 'string' }] },
      ],
    },
    'shop.json',
  ),
]);
const regions = catalog.entity('regions');
const customers = catalog.entity('customers');
const orders = catalog.entity('orders');
const ref = (entity: EntitySchema, name: string) => entity.attributes.find((a) => a.name === name)!;

const view = (entity: EntitySchema, ids?: readonly string[] | null) => (ids ? `V_${entity.name}_PINNED` : `V_${entity.name}`);
const plan = (over: Partial<PagePlan> & Pick<PagePlan, 'entity'>): PagePlan => ({ filter: null, rowFilters: new Map(), orderBy: [], distinctOn: [], limit: 10, offset: 0, ...over });
const col = (column: string, direction: 'asc' | 'desc' = 'asc', nulls: 'first' | 'last' = direction === 'asc' ? 'last' : 'first'): OrderTerm => ({ column, direction, nulls });
const byCustomer = (term: OrderTerm): OrderTerm => ({ kind: 'related', ref: ref(orders, 'customer'), target: customers, term });
const ordersAggregate = (aggregate: 'count' | 'sum' | 'max', column: string | null, direction: 'asc' | 'desc' = 'desc'): OrderTerm => ({
  kind: 'child_aggregate',
  child: orders,
  via: ref(orders, 'customer'),
  aggregate,
  column,
  direction,
  nulls: direction === 'asc' ? 'last' : 'first',
});
const ID = '01900000-0000-7000-8000-000000000001';
const count = (text: string, part: string) => text.split(part).length - 1;

describe('compilePage', () => {
  it.each<[string, PagePlan, string[], string[]]>([
    ['an own column, row_id last', plan({ entity: orders, orderBy: [col('total', 'desc')] }), ['ORDER BY o."total" DESC NULLS FIRST, o.row_id ASC', 'FROM V_orders AS o'], ['JOIN', 'QUALIFY']],
    [
      'a related column: one LEFT JOIN to the referenced current rows',
      plan({ entity: orders, orderBy: [byCustomer(col('name'))] }),
      ['LEFT JOIN V_customers AS j1 ON j1.row_id = o."customer"', 'ORDER BY j1."name" ASC NULLS LAST, o.row_id ASC'],
      ['j2'],
    ],
    [
      'two terms through the same ref share the join',
      plan({ entity: orders, orderBy: [byCustomer(col('name')), byCustomer(col('country', 'desc'))] }),
      ['ORDER BY j1."name" ASC NULLS LAST, j1."country" DESC NULLS FIRST, o.row_id ASC'],
      ['j2'],
    ],
    [
      'two hops join in a chain',
      plan({ entity: orders, orderBy: [byCustomer({ kind: 'related', ref: ref(customers, 'region'), target: regions, term: col('label', 'desc') })] }),
      ['LEFT JOIN V_customers AS j1 ON j1.row_id = o."customer"', 'LEFT JOIN V_regions AS j2 ON j2.row_id = j1."region"', 'ORDER BY j2."label" DESC NULLS FIRST'],
      [],
    ],
    [
      'a child count: a grouped subquery, 0 without children',
      plan({ entity: customers, orderBy: [ordersAggregate('count', null)] }),
      ['LEFT JOIN (SELECT c."customer" AS parent, count(*) AS a1 FROM V_orders AS c WHERE c."customer" IS NOT NULL GROUP BY c."customer") AS g1 ON g1.parent = o.row_id', 'ORDER BY coalesce(g1.a1, 0) DESC NULLS FIRST, o.row_id ASC'],
      ['ANY('],
    ],
    [
      'count and sum of the same children share one grouped subquery',
      plan({ entity: customers, orderBy: [ordersAggregate('sum', 'total'), ordersAggregate('count', null, 'asc')] }),
      ['sum(c."total") AS a1, count(*) AS a2', 'ORDER BY g1.a1 DESC NULLS FIRST, coalesce(g1.a2, 0) ASC NULLS LAST'],
      ['g2'],
    ],
    [
      'a filter that pins row_ids restricts the grouped children to them',
      plan({ entity: customers, filter: parseWhere(catalog, customers, { row_id: { _in: [ID] } }), orderBy: [ordersAggregate('count', null)] }),
      ['c."customer" = ANY($', 'FROM V_customers_PINNED AS o'],
      [],
    ],
    [
      'a batch of children restricts grouped grandchildren to the batch',
      plan({ entity: customers, parents: { via: ref(customers, 'region'), ids: [ID] }, orderBy: [ordersAggregate('max', 'total')] }),
      ['c."customer" IN (SELECT r1.row_id FROM V_customers AS r1 WHERE r1."region" = ANY($', 'PARTITION BY o."region" ORDER BY g1.a1 DESC NULLS FIRST, o.row_id ASC', 'ORDER BY o."region", g1.a1'],
      ['EXCLUDE'],
    ],
    [
      'children sorted through their ref to the parent join only the batch’s parents',
      plan({ entity: orders, parents: { via: ref(orders, 'customer'), ids: [ID] }, orderBy: [byCustomer(col('name'))] }),
      ['LEFT JOIN V_customers_PINNED AS j1 ON j1.row_id = o."customer"'],
      [],
    ],
    [
      'distinct_on keeps the first row per value in the page order',
      plan({ entity: customers, distinctOn: ['country'], orderBy: [col('country'), col('name', 'desc')] }),
      ['QUALIFY row_number() OVER (PARTITION BY o."country" ORDER BY o."country" ASC NULLS LAST, o."name" DESC NULLS FIRST, o.row_id ASC) = 1', 'LIMIT'],
      [],
    ],
    [
      'distinct_on without order_by sorts by its columns',
      plan({ entity: customers, distinctOn: ['country'] }),
      ['ORDER BY o."country" ASC NULLS LAST, o.row_id ASC'],
      [],
    ],
    [
      'distinct_on among children: per parent first, then the page per parent',
      plan({ entity: orders, parents: { via: ref(orders, 'customer'), ids: [ID] }, distinctOn: ['note'], orderBy: [col('note'), col('total', 'desc')] }),
      ['PARTITION BY o."customer", o."note"', 'o."note" AS __sort_1, o."total" AS __sort_2', 'SELECT d.* EXCLUDE (__sort_1, __sort_2)', 'PARTITION BY d."customer" ORDER BY d.__sort_1 ASC NULLS LAST, d.__sort_2 DESC NULLS FIRST, d.row_id ASC'],
      [],
    ],
  ])('%s', (_what, page, present, absent) => {
    const { sql } = compilePage(page, view);
    for (const part of present) expect(sql).toContain(part);
    for (const part of absent) expect(sql).not.toContain(part);
  });

  it('binds every value as a parameter (the ids); row counts are checked integers, written as literals', () => {
    const { sql, params } = compilePage(plan({ entity: orders, parents: { via: ref(orders, 'customer'), ids: [ID], maxRows: 7 }, limit: 3, offset: 2 }), view);
    expect(sql).not.toContain(ID);
    expect(params.map(String)).toEqual([`[${ID}]`]);
    expect(count(sql, '$')).toBe(params.length);
    expect(sql).toContain("> 2 AND row_number() OVER (PARTITION BY o.\"customer\" ORDER BY o.row_id ASC) <= 5");
    expect(sql).toMatch(/LIMIT 7$/);
    for (const bad of [1.5, -1, Number.NaN, 2 ** 53]) {
      expect(() => compilePage(plan({ entity: orders, limit: bad }), view)).toThrow('a row count must be a non-negative integer');
    }
  });

  it('ANDs a row filter wherever its entity is read: the page, a related join, grouped children, a filter through a ref', () => {
    const rowFilters = new Map([
      ['customers', parseWhere(catalog, customers, { country: { _eq: 'DE' } })!],
      ['orders', parseWhere(catalog, orders, { total: { _gt: 0 } })!],
    ]);
    const related = compilePage(plan({ entity: orders, rowFilters, filter: parseWhere(catalog, orders, { customer: { name: { _eq: 'Ada' } } }), orderBy: [byCustomer(col('name'))] }), view);
    // The page's orders, the joined customers and the customers the filter reaches: each read once, each filtered.
    expect(count(related.sql, 'V_orders')).toBe(1);
    expect(count(related.sql, 'V_customers')).toBe(2);
    expect(count(related.sql, '(SELECT * FROM V_')).toBe(3);
    const grouped = compilePage(plan({ entity: customers, rowFilters, orderBy: [ordersAggregate('count', null)] }), view);
    expect(count(grouped.sql, '(SELECT * FROM V_orders AS')).toBe(1);
    expect(count(grouped.sql, '(SELECT * FROM V_customers AS')).toBe(1);
  });

  it('lists every entity the statement reads, for the snapshot', () => {
    const names = (p: PagePlan) => planEntities(p).map((e) => e.name);
    expect(names(plan({ entity: orders, orderBy: [byCustomer({ kind: 'related', ref: ref(customers, 'region'), target: regions, term: col('label') })] }))).toEqual(['orders', 'customers', 'regions']);
    expect(names(plan({ entity: customers, orderBy: [ordersAggregate('count', null)] }))).toEqual(['customers', 'orders']);
  });
});

describe("Hasura's distinct_on rule", () => {
  it.each<[string, string[], OrderTerm[], boolean]>([
    ['no order_by', ['country'], [], true],
    ['leading column', ['country'], [col('country'), col('name')], true],
    ['leading columns in another order', ['country', 'name'], [col('name', 'desc'), col('country')], true],
    ['a later column', ['country'], [col('name'), col('country')], false],
    ['fewer order terms than columns', ['country', 'name'], [col('country')], false],
    ['a related term first', ['name'], [{ kind: 'related', ref: ref(customers, 'region'), target: regions, term: col('label') }], false],
    ['a ref column matched by its row_id term', ['region'], [{ kind: 'related', ref: ref(customers, 'region'), target: regions, term: col('row_id') }], true],
  ])('%s', (_what, distinctOn, orderBy, ok) => {
    const check = () => checkDistinctOn(distinctOn, orderBy, 'customers');
    if (ok) expect(check).not.toThrow();
    else {
      expect(check).toThrow(ValidationError);
      expect(check).toThrow(`customers: ${DISTINCT_ON_MISMATCH}`);
    }
  });
});
