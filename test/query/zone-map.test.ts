// Zone maps judge a filter against a file's column ranges: false only when no row can make it true.
import { describe, expect, it } from 'vitest';
import type { ColumnRef, CompareOp, Filter, FilterValue } from '../../src/query/filter.js';
import { mayMatch, type FileZones } from '../../src/query/zone-map.js';

const quantity = { name: 'quantity', type: 'int' as const };
const total = { name: 'total', type: 'float' as const };
const placedAt = { name: 'placed_at', type: 'timestamp' as const };
const note = { name: 'note', type: 'string' as const };
const paid = { name: 'paid', type: 'boolean' as const };

/** 10 rows: quantity 10..20 (2 NULL), total all NULL, placed_at in January 2026, paid all false; no column `added`. */
const zones: FileZones = {
  rows: 10,
  present: new Set(['time_slot', 'row_id', 'quantity', 'total', 'placed_at', 'paid', 'note']),
  columns: new Map([
    ['quantity', { min: 10n, max: 20n, nonNull: 8 }],
    ['total', { min: 0, max: 0, nonNull: 0 }],
    ['placed_at', { min: BigInt(Date.UTC(2026, 0, 1)) * 1000n, max: BigInt(Date.UTC(2026, 0, 31)) * 1000n, nonNull: 10 }],
    ['paid', { min: 0, max: 0, nonNull: 10 }],
  ]),
};
const cmp = (column: ColumnRef, op: CompareOp, value: FilterValue): Filter => ({ kind: 'compare', column, op, value });

describe('zone maps', () => {
  it.each([
    ['gt the max', cmp(quantity, 'gt', 20n), false],
    ['gte the max', cmp(quantity, 'gte', 20n), true],
    ['lt the min', cmp(quantity, 'lt', 10n), false],
    ['lte the min', cmp(quantity, 'lte', 10n), true],
    ['eq inside', cmp(quantity, 'eq', 15n), true],
    ['eq outside', cmp(quantity, 'eq', 21n), false],
    ['neq of a range', cmp(quantity, 'neq', 15n), true],
    ['in, none inside', { kind: 'in', column: quantity, values: [1n, 30n], negated: false }, false],
    ['in, one inside', { kind: 'in', column: quantity, values: [1n, 12n], negated: false }, true],
    ['nin', { kind: 'in', column: quantity, values: [1n, 30n], negated: true }, true],
    ['a compare on an all-NULL column', cmp(total, 'lt', 1e9), false],
    ['is_null on a column with NULLs', { kind: 'is_null', column: quantity, isNull: true }, true],
    ['is_null on a column without NULLs', { kind: 'is_null', column: placedAt, isNull: true }, false],
    ['is not null on an all-NULL column', { kind: 'is_null', column: total, isNull: false }, false],
    ['a timestamp after the range', cmp(placedAt, 'gt', new Date(Date.UTC(2026, 0, 31))), false],
    ['a timestamp in the range', cmp(placedAt, 'gte', new Date(Date.UTC(2026, 0, 31))), true],
    ['a boolean none has', cmp(paid, 'eq', true), false],
    ['a string (collation: never judged)', cmp(note, 'gt', 'zzz'), true],
    ['a column the file lacks (reads NULL)', cmp({ name: 'added', type: 'int' }, 'eq', 1n), false],
    ['is_null of a column the file lacks', { kind: 'is_null', column: { name: 'added', type: 'int' }, isNull: true }, true],
    ['and with one impossible item', { kind: 'and', items: [cmp(quantity, 'eq', 15n), cmp(quantity, 'gt', 20n)] }, false],
    ['or with one possible item', { kind: 'or', items: [cmp(quantity, 'gt', 20n), cmp(quantity, 'eq', 15n)] }, true],
    ['or of impossible items', { kind: 'or', items: [cmp(quantity, 'gt', 20n), cmp(paid, 'eq', true)] }, false],
    ['not (never judged)', { kind: 'not', item: cmp(quantity, 'lte', 20n) }, true],
  ] as [string, Filter, boolean][])('%s', (_label, filter, expected) => {
    expect(mayMatch(filter, zones)).toBe(expected);
  });
});
