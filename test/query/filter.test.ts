// The filter binder and the DuckDB compiler as pure functions: each parameter carries its column's
// DuckDB type, out-of-range values are ValidationErrors naming their path, and a ref filter on the
// referenced row_id compiles to a pinned ref column and a semi-join on the live referenced rows.
import { BIGINT, DATE, DOUBLE, LIST, TIMESTAMPTZ, UUID, VARCHAR, DuckDBDateValue, DuckDBListValue, DuckDBTimestampTZValue } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { Catalog, parseProjectDefinition } from '../../src/catalog/index.js';
import { ValidationError } from '../../src/errors/index.js';
import { Params, compileFilter } from '../../src/query/duckdb-sql.js';
import { checkRegex, parseWhere, similarToRegex } from '../../src/graphql/bind-filter.js';

const catalog = new Catalog([
  parseProjectDefinition(
    {
      project: 'shop',
      entities: [
        { id: 1, name: 'owners', attributes: [{ name: 'label', type: 'string' }] },
        {
          id: 2,
          name: 'items',
          attributes: [
            { name: 'i', type: 'int' },
            { name: 'f', type: 'float' },
            { name: 't', type: 'timestamp' },
            { name: 'd', type: 'date' },
            { name: 'e', type: 'enum', values: ['A'] },
            { name: 'r', type: 'ref', entity: 'owners' },
          ],
        },
      ],
    },
    'schema/shop.json',
  ),
]);
const items = catalog.entity('items');
const OWNER = '01900000-0000-7000-8000-00000000000a';

function compile(where: unknown): { sql: string; params: Params; views: string[] } {
  const params = new Params();
  const views: string[] = [];
  const sql = compileFilter(parseWhere(catalog, items, where)!, {
    params,
    alias: 'o',
    refRelation: (target, rowIds) => {
      views.push(`${target.name}:${rowIds ? rowIds.join(',') : 'all'}`);
      return `view_${target.name}`;
    },
  });
  return { sql, params, views };
}

function refusal(where: unknown, entity = items, options = {}): string {
  try {
    parseWhere(catalog, entity, where, 'where', options);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(where)} to be refused`);
}

describe('parameters carry their column type', () => {
  it('a float list whose first value looks like an integer binds as DOUBLE[]', () => {
    const { params } = compile({ f: { _in: [1, 1.5, 3_000_000_000] } });
    expect(params.types.map(String)).toEqual([String(LIST(DOUBLE))]);
    expect((params.values[0] as DuckDBListValue).items).toEqual([1, 1.5, 3_000_000_000]);
  });

  it('every column type binds as its DuckDB type', () => {
    const { params } = compile({
      f: { _gte: 1e19 },
      i: { _eq: '9223372036854775807' },
      t: { _lt: '2026-01-01T00:00:00.001Z' },
      d: { _eq: '0001-01-01' },
      e: { _eq: 'A' },
      row_id: { _in: [OWNER] },
      time_slot: { _gt: 5 },
    });
    expect(params.types.map(String)).toEqual([DOUBLE, BIGINT, TIMESTAMPTZ, DATE, VARCHAR, LIST(UUID), BIGINT].map(String));
    expect(params.values[1]).toBe(2n ** 63n - 1n);
    expect((params.values[2] as DuckDBTimestampTZValue).micros).toBe(BigInt(Date.UTC(2026, 0, 1)) * 1000n + 1000n);
    // Years 0-99 are not 1900-1999 (Date.UTC's reading): day -719162 is 0001-01-01.
    expect((params.values[3] as DuckDBDateValue).days).toBe(-719_162);
  });
});

describe('values outside the lake range', () => {
  it.each([
    [{ d: { _eq: '0000-01-01' } }, 'where.d._eq: 0000-01-01 is outside the range of dates'],
    [{ d: { _in: ['2026-01-01', '+010000-01-01'] } }, 'where.d._in[1]: +010000-01-01 is outside the range of dates'],
    [{ d: { _eq: '2026-02-30' } }, 'where.d._eq: expected a day of the calendar'],
    [{ t: { _gt: '0000-12-31T23:00:00Z' } }, 'where.t._gt: 0000-12-31T23:00:00.000Z is outside the range of timestamps'],
    [{ _and: [{ t: { _lte: '+010000-01-01T00:00:00Z' } }] }, 'where._and[0].t._lte: +010000-01-01T00:00:00.000Z is outside the range of timestamps'],
    [{ i: { _eq: '9223372036854775808' } }, 'where.i._eq: expected a 64-bit integer'],
    [{ f: { _eq: Infinity } }, 'where.f._eq: expected a number'],
  ])('%j is refused', (where, message) => {
    expect(refusal(where)).toContain(message);
  });
});

describe('a ref filter on the referenced row_id', () => {
  it('pins the ref column and reads only that referenced row, which must be live', () => {
    const { sql, views } = compile({ r: { row_id: { _eq: OWNER } } });
    expect(sql).toBe('(o."r" IS NOT NULL AND o."r" = ANY($2::UUID[]) AND o."r" IN (SELECT r1.row_id FROM view_owners AS r1 WHERE (r1."row_id" = $1::UUID)))');
    expect(views).toEqual([`owners:${OWNER}`]);
  });

  it('means the same written under _and', () => {
    const { sql } = compile({ r: { _and: [{ row_id: { _eq: OWNER } }] } });
    expect(sql).toBe('(o."r" IS NOT NULL AND o."r" = ANY($2::UUID[]) AND o."r" IN (SELECT r1.row_id FROM view_owners AS r1 WHERE (r1."row_id" = $1::UUID)))');
  });

  it('_is_null goes through the join (a live row_id is never NULL)', () => {
    const { sql, views } = compile({ r: { row_id: { _is_null: true } } });
    expect(sql).toBe('(o."r" IS NOT NULL AND o."r" IN (SELECT r1.row_id FROM view_owners AS r1 WHERE (r1."row_id" IS NULL)))');
    expect(views).toEqual(['owners:all']);
  });
});

describe('empty objects (Hasura)', () => {
  it.each([
    [{}, null],
    [{ i: {} }, null],
    [{ _and: [] }, null],
    [{ _or: [] }, 'false'],
    [{ _not: {} }, '(NOT true)'],
    [{ _not: { _or: [] } }, '(NOT false)'],
    [{ _or: [{}, { i: { _eq: 1 } }] }, '(true OR (o."i" = $1::BIGINT))'],
    [{ r: {} }, '(o."r" IS NOT NULL AND o."r" IN (SELECT r1.row_id FROM view_owners AS r1 WHERE true))'],
  ])('%j compiles to %s', (where, sql) => {
    const filter = parseWhere(catalog, items, where);
    if (sql === null) expect(filter).toBeNull();
    else expect(compile(where).sql).toBe(sql);
  });
});

describe('filters through reverse relations', () => {
  const owners = catalog.entity('owners');
  const compileOwners = (where: unknown) => {
    const params = new Params();
    const sql = compileFilter(parseWhere(catalog, owners, where)!, { params, alias: 'o', refRelation: (target) => `view_${target.name}` });
    return { sql, params };
  };

  it('some referencing row matches: an uncorrelated semi-join on the ref column, never unknown', () => {
    expect(compileOwners({ items: { i: { _gt: 1 } } }).sql).toBe('(o.row_id IN (SELECT r1."r" FROM view_items AS r1 WHERE r1."r" IS NOT NULL AND (r1."i" > $1::BIGINT)))');
  });

  it('a count predicate that holds for 0 includes parents without children: those with a count that fails are left out', () => {
    expect(compileOwners({ items_aggregate: { count: { predicate: { _eq: 0 } } } }).sql).toBe(
      '(NOT o.row_id IN (SELECT r1."r" FROM view_items AS r1 WHERE r1."r" IS NOT NULL AND true GROUP BY r1."r" HAVING NOT (count(*) = $1::BIGINT)))',
    );
    expect(compileOwners({ items_aggregate: { count: { predicate: { _gt: 2 }, filter: { i: { _eq: 1 } } } } }).sql).toBe(
      '(o.row_id IN (SELECT r1."r" FROM view_items AS r1 WHERE r1."r" IS NOT NULL AND (r1."i" = $1::BIGINT) GROUP BY r1."r" HAVING (count(*) > $2::BIGINT)))',
    );
  });

  it('sum/avg/min/max take one numeric column and are unknown over only NULLs', () => {
    const { sql } = compileOwners({ items_aggregate: { sum: { arguments: 'f', predicate: { _gt: 1 }, distinct: true } } });
    expect(sql).toBe(
      '(CASE WHEN o.row_id IN (SELECT r1."r" FROM view_items AS r1 WHERE r1."r" IS NOT NULL AND true GROUP BY r1."r" HAVING (sum(DISTINCT r1."f") > $1::DOUBLE)) THEN true' +
        ' WHEN o.row_id IN (SELECT r2."r" FROM view_items AS r2 WHERE r2."r" IS NOT NULL AND true GROUP BY r2."r" HAVING NOT (sum(DISTINCT r2."f") > $2::DOUBLE)) THEN false ELSE CAST(NULL AS BOOLEAN) END)',
    );
    expect(refusal({ items_aggregate: { sum: { arguments: 'e', predicate: { _gt: 1 } } } }, owners)).toContain('where.items_aggregate.sum.arguments: items.e is not numeric');
    expect(refusal({ items_aggregate: { count: { filter: {} } } }, owners)).toContain('where.items_aggregate.count.predicate: required');
    expect(refusal({ itemz: {} }, owners)).toContain('where.itemz: owners has no field "itemz"');
  });
});

describe('session variables (the access-control hook)', () => {
  const session = (values: Record<string, string>) => ({ session: (name: string) => values[name] });

  it('a string operand naming one is replaced by its value, any case, and stays a bound parameter', () => {
    const filter = parseWhere(catalog, items, { i: { _eq: 'X-Hasura-User-Id' }, e: { _in: ['x-hasura-tier'] } }, 'where', session({ 'x-hasura-user-id': '42', 'x-hasura-tier': 'A' }));
    expect(filter).toMatchObject({ kind: 'and', items: [{ kind: 'compare', value: 42n }, { kind: 'in', values: ['A'] }] });
  });

  it('a missing variable is an error naming it and the path; without sessions the text is a value', () => {
    expect(refusal({ i: { _eq: 'X-Hasura-User-Id' } }, items, session({}))).toBe('where.i._eq: session variable "X-Hasura-User-Id" is not set');
    expect(refusal({ i: { _eq: 'X-Hasura-User-Id' } })).toContain('where.i._eq: expected a 64-bit integer');
  });
});

describe('patterns', () => {
  it.each([
    ['_*gham', '.*gham'],
    ['%\\_%', '.*\\_.*'],
    ['a.b', 'a\\.b'],
    ['(a|b)%', '(?:a|b).*'],
    ['[%_]x', '[%_]x'],
    ['[]a]', '[\\]a]'],
    ['^$', '\\^\\$'],
  ])('SIMILAR TO %s is the RE2 pattern %s', (similar, regex) => {
    expect(similarToRegex(similar)).toBe(regex);
  });

  it.each([
    ['(b', 'where.s._regex: invalid regular expression'],
    ['(a)\\1', 'RE2 (DuckDB) has no backreferences'],
    ['a(?!b)', 'RE2 (DuckDB) has no lookaround'],
    ['(?<=a)b', 'RE2 (DuckDB) has no lookaround'],
    ['a{1001}', 'RE2 (DuckDB) repeats at most 1000 times'],
    ['\\Z', 'where.s._regex: invalid regular expression'],
    ['[b-a]', 'where.s._regex: invalid regular expression'],
  ])('refuses %s', (pattern, message) => {
    expect(() => checkRegex(pattern, 'where.s._regex')).toThrow(message);
  });

  it.each(['(?i)abc', '(?P<x>a)', '[[:alpha:]]+', '\\d{2,3}', 'a\\\\1', 'a{', '\\Qa.b\\E', '\\pL+', '\\AHello\\z', 'a\\-b', '(?s:a.b)', 'x{2}y{1000}'])('accepts the RE2 pattern %s', (pattern) => {
    expect(() => checkRegex(pattern, 'p')).not.toThrow();
  });
});
