import { describe, expect, it } from 'vitest';
import { coerceAttributeValue, fromSnapshotJson, toSnapshotJson, type Attribute } from '../../src/catalog/index.js';

const attr = (type: Attribute['type'], extra: Partial<Attribute> = {}): Attribute => ({ name: 'a', type, required: false, ...extra });

describe('attribute values', () => {
  it.each([
    [attr('int'), 'abc', 'expected a 64-bit integer'],
    [attr('int'), 1.5, 'expected a 64-bit integer'],
    [attr('int'), (2n ** 63n).toString(), 'expected a 64-bit integer'],
    [attr('float'), Number.NaN, 'expected a finite number'],
    [attr('boolean'), 'yes', 'expected true or false'],
    [attr('timestamp'), 'not a time', 'expected an ISO-8601 timestamp'],
    [attr('date'), '2024-02-30', 'expected a valid calendar date'],
    [attr('date'), '24-1-1', 'expected a date YYYY-MM-DD'],
    [attr('enum', { values: ['A', 'B'] }), 'C', 'expected one of A, B'],
    [attr('ref'), 'not-a-uuid', 'expected a UUID'],
    [attr('string', { required: true }), null, 'a value is required'],
  ])('rejects %o given %o', (attribute, value, message) => {
    expect(() => coerceAttributeValue('things', attribute, value)).toThrow(`things.a: ${message}`);
  });

  it('keeps int64 exact through the change_log JSON form', () => {
    const big = 2n ** 62n + 1n;
    const json = toSnapshotJson(attr('int'), big);
    expect(json).toBe(big.toString());
    expect(fromSnapshotJson(attr('int'), json)).toBe(big);
    expect(toSnapshotJson(attr('int'), 42n)).toBe(42);
  });

  it('normalises refs to lowercase and dates to YYYY-MM-DD', () => {
    expect(coerceAttributeValue('t', attr('ref'), '0190A000-0000-7000-8000-00000000000A')).toBe('0190a000-0000-7000-8000-00000000000a');
    expect(coerceAttributeValue('t', attr('date'), new Date('2024-03-05T00:00:00Z'))).toBe('2024-03-05');
  });
});
