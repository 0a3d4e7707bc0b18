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

  it.each([
    [attr('string'), 'a\u0000b', 'the NUL character (U+0000) is not allowed in strings'],
    [attr('json'), { a: [{ b: 'x\u0000' }] }, 'the NUL character (U+0000) is not allowed anywhere in JSON values'],
    [attr('json'), { 'k\u0000': 1 }, 'the NUL character (U+0000) is not allowed anywhere in JSON values'],
    [attr('timestamp'), '0001-01-01T00:00:00+01:00', 'is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z (in UTC)'],
    [attr('timestamp'), new Date(Date.parse('9999-12-31T23:59:59.999Z') + 1), 'is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z (in UTC)'],
    [attr('date'), '0000-01-01', 'is outside 0001-01-01..9999-12-31'],
    [attr('date'), new Date(Date.parse('0001-01-01T00:00:00Z') - 86_400_000), 'is outside 0001-01-01..9999-12-31'],
  ])('refuses %o given %o, which no store can hold', (attribute, value, message) => {
    expect(() => coerceAttributeValue('things', attribute, value)).toThrow(message);
  });

  it('accepts timestamps and dates at the bounds of years 1 to 9999 in UTC', () => {
    expect(coerceAttributeValue('t', attr('timestamp'), '0001-01-01T01:00:00+01:00')).toEqual(new Date(Date.parse('0001-01-01T00:00:00Z')));
    expect(coerceAttributeValue('t', attr('timestamp'), '9999-12-31T23:59:59.999Z')).toEqual(new Date(Date.parse('9999-12-31T23:59:59.999Z')));
    expect(coerceAttributeValue('t', attr('date'), '0001-01-01')).toBe('0001-01-01');
    expect(coerceAttributeValue('t', attr('date'), '9999-12-31')).toBe('9999-12-31');
  });

  it('refuses a value over maxValueBytes by its UTF-8 size and accepts one at it', () => {
    const policy = { maxValueBytes: 1_000 };
    expect(coerceAttributeValue('t', attr('string'), 'é'.repeat(500), policy)).toHaveLength(500);
    expect(() => coerceAttributeValue('t', attr('string'), `${'é'.repeat(500)}x`, policy)).toThrow(
      't.a: the value is 1001 bytes, over the limit of 1000 bytes (MAX_VALUE_BYTES)',
    );
    expect(() => coerceAttributeValue('t', attr('json'), { k: 'x'.repeat(1_000) }, policy)).toThrow(/bytes as JSON, over the limit of 1000 bytes/);
    expect(coerceAttributeValue('t', attr('string'), 'x'.repeat(16 * 1024 * 1024))).toHaveLength(16 * 1024 * 1024);
    expect(() => coerceAttributeValue('t', attr('string'), 'x'.repeat(16 * 1024 * 1024 + 1))).toThrow(/MAX_VALUE_BYTES/);
  });
});
