// Binding Hasura's order_by input to the query room's order terms: the six directions with
// Postgres' NULL defaults, object relationships any depth, and <relation>_aggregate terms.
import { describe, expect, it } from 'vitest';
import { Catalog, parseProjectDefinition } from '../../src/catalog/index.js';
import { parseDistinctOn, parseOrderBy } from '../../src/graphql/order-by.js';

const catalog = new Catalog([
  parseProjectDefinition(
    {
      project: 'shop',
      entities: [
        { id: 1, name: 'customers', attributes: [{ name: 'name', type: 'string' }, { name: 'parent', type: 'ref', entity: 'customers' }] },
        { id: 2, name: 'orders', attributes: [{ name: 'customer', type: 'ref', entity: 'customers' }, { name: 'total', type: 'float' }] },
      ],
    },
    'shop.json',
  ),
]);
const customers = catalog.entity('customers');
const orders = catalog.entity('orders');

describe('parseOrderBy', () => {
  it.each([
    ['asc', 'asc', 'last'],
    ['asc_nulls_first', 'asc', 'first'],
    ['asc_nulls_last', 'asc', 'last'],
    ['desc', 'desc', 'first'],
    ['desc_nulls_first', 'desc', 'first'],
    ['desc_nulls_last', 'desc', 'last'],
  ])('%s sorts %s with NULLs %s', (value, direction, nulls) => {
    expect(parseOrderBy(catalog, orders, { total: value })).toEqual([{ column: 'total', direction, nulls }]);
  });

  it('goes through refs, any depth, term by term', () => {
    const terms = parseOrderBy(catalog, orders, [{ customer: { parent: { name: 'desc' } } }, { total: 'asc' }]);
    expect(terms).toMatchObject([
      { kind: 'related', ref: { name: 'customer' }, target: { name: 'customers' }, term: { kind: 'related', ref: { name: 'parent' }, term: { column: 'name', direction: 'desc', nulls: 'first' } } },
      { column: 'total' },
    ]);
  });

  it('reads <relation>_aggregate as aggregates of the referencing rows', () => {
    expect(parseOrderBy(catalog, customers, { orders_aggregate: { count: 'desc', sum: { total: 'desc_nulls_last' } } })).toMatchObject([
      { kind: 'child_aggregate', child: { name: 'orders' }, via: { name: 'customer' }, aggregate: 'count', column: null, direction: 'desc', nulls: 'first' },
      { kind: 'child_aggregate', aggregate: 'sum', column: 'total', direction: 'desc', nulls: 'last' },
    ]);
    // A self reference: customers' children through parent.
    expect(parseOrderBy(catalog, customers, { customers_aggregate: { max: { name: 'asc' } } })).toMatchObject([{ kind: 'child_aggregate', child: { name: 'customers' }, via: { name: 'parent' } }]);
  });

  it('skips null terms; one value or a list for distinct_on', () => {
    expect(parseOrderBy(catalog, orders, [{ total: null }, { customer: null }])).toEqual([]);
    expect(parseDistinctOn('total')).toEqual(['total']);
    expect(parseDistinctOn(['total', 'customer'])).toEqual(['total', 'customer']);
    expect(parseDistinctOn(null)).toEqual([]);
  });
});
