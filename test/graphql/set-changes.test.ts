// _set and _inc applied to a row in memory: the values a set-based update writes.
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.js';
import { applyChange, checkChange, incrementable, parseInc } from '../../src/graphql/set-changes.js';

const catalog = await loadCatalog('schema');
const orders = catalog.entity('orders');
const row = { customer: null, total: 1.5, quantity: 10n, paid: false, placed_at: null, note: 'n' };

describe('set changes', () => {
  it('offers _inc for int and float attributes only', () => {
    expect(incrementable(orders)).toEqual(['total', 'quantity']);
  });

  it.each([
    ['adds to int and float', row, { set: {}, inc: { quantity: 5n, total: 0.25 } }, { quantity: 15n, total: 1.75 }],
    ['keeps NULL + n as NULL', { ...row, quantity: null }, { set: {}, inc: { quantity: 5n } }, { quantity: null }],
    ['sets and adds in one change', row, { set: { note: null, paid: true }, inc: { total: -1.5 } }, { note: null, paid: true, total: 0 }],
  ])('%s', (_what, values, change, expected) => {
    const copy = { ...values };
    expect(applyChange(orders, 'r1', values, change, '_inc')).toMatchObject(expected);
    expect(values).toEqual(copy);
  });

  it('refuses a sum outside int64 or a non-finite float, naming the row', () => {
    expect(() => applyChange(orders, 'r1', { ...row, quantity: 2n ** 63n - 1n }, { set: {}, inc: { quantity: 1n } }, 'updates[2]._inc')).toThrow(
      'updates[2]._inc.quantity: 9223372036854775807 + 1 on orders row r1 is outside the 64-bit integer range',
    );
    expect(() => applyChange(orders, 'r1', { ...row, total: Number.MAX_VALUE }, { set: {}, inc: { total: Number.MAX_VALUE } }, '_inc')).toThrow(/is not a finite number/);
  });

  it.each([
    [{ note: 1 }, '_inc.note: orders has no int or float attribute "note" to increment'],
    [{ quantity: null }, '_inc.quantity: null is not an amount to add'],
    [{ quantity: 1.5 }, '_inc.quantity: expected a 64-bit integer'],
    [{ total: Number.NaN }, '_inc.total: expected a finite number'],
  ])('refuses the _inc %j', (input, message) => {
    expect(() => parseInc(orders, input, '_inc')).toThrow(message);
  });

  it('refuses a change that changes nothing, or names an attribute in both _set and _inc', () => {
    expect(() => checkChange({ set: {}, inc: {} }, 'update')).toThrow('update: at least any one of _set, _inc is expected');
    expect(() => checkChange({ set: { quantity: 1n }, inc: { quantity: 1n } }, 'updates[0]')).toThrow('updates[0]: "quantity" is in both _set and _inc');
  });
});
