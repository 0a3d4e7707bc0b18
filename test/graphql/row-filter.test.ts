// Bound filters judged on rows in memory (update_many's re-judging) agree with SQL's three-valued
// logic and with the DuckDB compiler's meaning of each form.
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.js';
import { judge, type RowLookup } from '../../src/graphql/row-filter.js';
import type { EntityRow } from '../../src/oltp/index.js';
import { parseWhere } from '../../src/graphql/bind-filter.js';

const catalog = await loadCatalog('schema');
const orders = catalog.entity('orders');
const customerId = '01900000-0000-7000-8000-000000000001';
const customers = new Map<string, EntityRow>([
  [customerId, { row_id: customerId, time_slot: 1n, deleted_at: null, values: { name: 'Ada', country: 'DE', tier: 'PRO', signup_at: null, lifetime_value: null } }],
]);
const lookup: RowLookup = async (_entity, rowId) => customers.get(rowId) ?? null;
const order = (values: Record<string, unknown>): EntityRow => ({
  row_id: '01900000-0000-7000-8000-0000000000aa',
  time_slot: 5n,
  deleted_at: null,
  values: { customer: null, total: null, quantity: null, paid: null, placed_at: null, note: null, ...values } as EntityRow['values'],
});
const verdict = (where: unknown, row: EntityRow) => judge(parseWhere(catalog, orders, where)!, row, lookup, 'updates[1].where');

describe('judging a filter on a row in memory', () => {
  it.each([
    ['_eq on int', { quantity: { _eq: 3 } }, { quantity: 3n }, true],
    ['_gt on NULL is unknown', { quantity: { _gt: 1 } }, {}, null],
    ['_not of unknown stays unknown', { _not: { quantity: { _gt: 1 } } }, {}, null],
    ['_or with one true is true despite unknown', { _or: [{ quantity: { _gt: 1 } }, { note: { _eq: 'x' } }] }, { note: 'x' }, true],
    ['_nin of NULL is unknown', { quantity: { _nin: [1, 2] } }, {}, null],
    ['_nin [] holds, NULL too', { quantity: { _nin: [] } }, {}, true],
    ['_in [] is false', { quantity: { _in: [] } }, { quantity: 1n }, false],
    ['_like with an escaped %', { note: { _like: 'a\\%b-%' } }, { note: 'a%b-c' }, true],
    ['_like where _ is one character', { note: { _like: 'a_c' } }, { note: 'abbc' }, false],
    ['_ilike ignores case', { note: { _ilike: 'HEL%' } }, { note: 'hello' }, true],
    ['_contains takes no wildcards', { note: { _contains: '%' } }, { note: 'abc' }, false],
    ['strings order by code point (as UTF-8)', { note: { _gt: '\uffff' } }, { note: '\u{1F600}' }, true],
    ['timestamps compare as instants', { placed_at: { _lt: '2025-01-01T00:00:00Z' } }, { placed_at: new Date('2024-12-31T23:59:59Z') }, true],
    ['row_id and time_slot are columns', { row_id: { _eq: '01900000-0000-7000-8000-0000000000AA' }, time_slot: { _gte: 5 } }, {}, true],
    ['a ref holds when the referenced row matches', { customer: { country: { _eq: 'DE' } } }, { customer: customerId }, true],
    ['a ref to a missing row is false, never unknown', { _not: { customer: { country: { _eq: 'DE' } } } }, { customer: '01900000-0000-7000-8000-0000000000ff' }, true],
    ['a NULL ref is false', { customer: { name: { _is_null: false } } }, {}, false],
  ])('%s', async (_what, where, values, expected) => {
    expect(await verdict(where, order(values))).toBe(expected);
  });
});
