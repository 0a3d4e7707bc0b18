// jsonb's operators as the DuckDB compiler writes them, run in DuckDB over JSON text, against answers
// worked out by hand from Postgres' documented semantics (containment, the top-level array exception,
// numeric equality, key tests); a NULL value is unknown for every operator.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/catalog/index.js';
import { Params, compileFilter } from '../../src/query/duckdb-sql.js';
import type { Filter } from '../../src/query/index.js';

const column = { name: 'j', type: 'json' as const };
let connection: DuckDBConnection;

beforeAll(async () => {
  connection = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(() => connection?.closeSync());

async function holds(stored: string | null, filter: Filter): Promise<boolean | null> {
  const params = new Params();
  const sql = compileFilter(filter, { params, alias: 't', refRelation: () => 'unused' });
  const value = stored === null ? 'NULL' : `'${stored.replace(/'/g, "''")}'`;
  const reader = await connection.runAndReadAll(`SELECT ${sql} AS r FROM (SELECT CAST(${value} AS JSON) AS j) AS t`, params.values as never, params.types);
  return reader.getRowObjects()[0]!.r as boolean | null;
}

const contains = (value: JsonValue): Filter => ({ kind: 'json_contains', column, value, direction: 'contains' });
const containedIn = (value: JsonValue): Filter => ({ kind: 'json_contains', column, value, direction: 'contained_in' });
const equals = (value: JsonValue): Filter => ({ kind: 'json_equals', column, value });
const hasKeys = (keys: string[], mode: 'any' | 'all'): Filter => ({ kind: 'has_key', column, keys, mode });

describe('jsonb containment (@>)', () => {
  it.each([
    ['{"a":1,"b":2}', { a: 1 }, true],
    ['{"a":1}', { a: 1, b: 2 }, false],
    ['[1,2,3]', [1, 3], true],
    ['[1,2,3]', [3, 1, 1], true],
    ['[1,2,[1,3]]', [1, 3], false],
    ['[1,2,[1,3]]', [[1, 3]], true],
    ['{"foo":{"bar":"baz"}}', { bar: 'baz' }, false],
    ['{"foo":{"bar":"baz"}}', { foo: {} }, true],
    ['["foo","bar"]', 'foo', true],
    ['"foo"', 'foo', true],
    ['{"a":["x"]}', { a: 'x' }, false],
    ['1', 1.0, true],
    ['2.5', 2.5, true],
    ['{"a":null}', { a: null }, true],
    ['{}', { a: null }, false],
    ['[{"a":1,"b":2}]', [{ a: 1 }], true],
    ['{"a":1}', [], false],
    ['[]', [], true],
    ['{"x":1}', {}, true],
    ['true', true, true],
    ['"true"', true, false],
    ['{"a/b~c":1}', { 'a/b~c': 1 }, true],
    ['{"a":"it\'s"}', { a: "it's" }, true],
  ] as [string, JsonValue, boolean][])('%s @> %j is %s', async (stored, needle, expected) => {
    expect(await holds(stored, contains(needle))).toBe(expected);
  });
});

describe('jsonb contained in (<@)', () => {
  it.each([
    ['{"a":1}', { a: 1, b: 2 }, true],
    ['{"a":1,"b":2}', { a: 1 }, false],
    ['"foo"', ['foo', 'bar'], true],
    ['[1,1]', [1], true],
    ['[1,[2]]', [1, [2, 3]], true],
    ['[1,4]', [1, [2, 3]], false],
    ['{"a":{"b":1}}', { a: { b: 1, c: 2 } }, true],
    ['{"a":{"b":1,"d":1}}', { a: { b: 1, c: 2 } }, false],
    ['[]', [], true],
    ['{}', {}, true],
    ['{}', [], false],
    ['["latest"]', ['bestseller', 'latest'], true],
  ] as [string, JsonValue, boolean][])('%s <@ %j is %s', async (stored, haystack, expected) => {
    expect(await holds(stored, containedIn(haystack))).toBe(expected);
  });
});

describe('jsonb equality and keys', () => {
  it.each([
    ['{"a":1,"b":[1,2]}', { b: [1, 2], a: 1 }, true],
    ['[1,2]', [2, 1], false],
    ['1', 1.0, true],
    ['{"a":1}', { a: 1, b: 2 }, false],
    ['{"a":1,"b":2}', { a: 1 }, false],
    ['null', null, true],
  ] as [string, JsonValue, boolean][])('%s = %j is %s', async (stored, value, expected) => {
    expect(await holds(stored, equals(value))).toBe(expected);
  });

  it.each([
    ['{"a":1}', ['a'], 'any', true],
    ['["a","b"]', ['a'], 'any', true],
    ['"a"', ['a'], 'any', true],
    ['[["a"]]', ['a'], 'any', false],
    ['{"b":{"a":1}}', ['a'], 'any', false],
    ['{"a":1}', ['x', 'a'], 'any', true],
    ['{"a":1}', ['x', 'a'], 'all', false],
    ['{"a":1,"x":2}', ['x', 'a'], 'all', true],
    ['{"a":1}', [], 'any', false],
    ['{"a":1}', [], 'all', true],
  ] as [string, string[], 'any' | 'all', boolean][])('%s has %j (%s) is %s', async (stored, keys, mode, expected) => {
    expect(await holds(stored, hasKeys(keys, mode))).toBe(expected);
  });

  it('a NULL value is unknown for every operator', async () => {
    for (const filter of [contains({}), containedIn([]), equals(1), hasKeys(['a'], 'any'), hasKeys([], 'all')]) {
      expect(await holds(null, filter), JSON.stringify(filter)).toBeNull();
    }
  });
});
