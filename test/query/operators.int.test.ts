// Every operator on every attribute type, with NULLs, over rows spread across a delta file, the
// buffer and updates of flushed rows; and a schema that gains an attribute after files exist.
import fs from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLakehouse } from '../../src/cli/lakehouse.js';
import { loadCatalog } from '../../src/catalog/index.js';
import { liveFiles } from '../../src/lake/index.js';
import { openOltpStore } from '../../src/oltp/index.js';
import { parseWhere } from '../../src/graphql/bind-filter.js';
import { OWNERS_ENTITY, attributesOfEveryType } from '../support/definitions.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { scratchDir } from '../support/scratch.js';
import { answerList, readTruth } from '../support/oracle.js';

function shop(extra: object[] = []) {
  return {
    project: 'shop',
    entities: [
      OWNERS_ENTITY,
      { id: 2, name: 'items', attributes: [...attributesOfEveryType({ enumValues: ['A', 'B', 'C'] }), ...extra] },
    ],
  };
}

async function schemaDir(definition: object): Promise<string> {
  const dir = await scratchDir('schema-');
  await fs.writeFile(path.join(dir, 'shop.json'), JSON.stringify(definition));
  return dir;
}

describe('every operator on every type', () => {
  let gw: TestGateway;
  let owners: string[];
  beforeAll(async () => {
    gw = await startTestGateway({ schemaDir: await schemaDir(shop()) });
    const o = await gw.gql(`mutation { insert_owners(objects: [{label: "x"}, {label: "y"}]) { returning { row_id } } }`);
    owners = o.data.insert_owners.returning.map((r: { row_id: string }) => r.row_id);
    const item = (n: number) =>
      n % 5 === 4
        ? {}
        : {
            s: ['alpha', "o'neil", '50% off', 'snake_case', 'Alpha'][n % 5],
            i: n % 4 === 3 ? null : String(n * 1_000_000_007),
            f: n % 3 === 2 ? null : n * 1.25 - 3,
            b: n % 3 === 0 ? null : n % 2 === 0,
            t: n % 4 === 1 ? null : new Date(Date.UTC(2026, 0, 1 + n, n)).toISOString(),
            d: n % 4 === 2 ? null : `2026-02-${String(1 + n).padStart(2, '0')}`,
            e: [null, 'A', 'B', 'C'][n % 4],
            r: n % 3 === 1 ? null : owners[n % 2],
            j: n % 2 ? null : { n, tags: ['a', n] },
          };
    const insert = async (from: number, to: number) => {
      const res = await gw.gql(`mutation($o: [items_insert_input!]!) { insert_items(objects: $o) { returning { row_id } } }`, {
        o: Array.from({ length: to - from }, (_, k) => item(from + k)),
      });
      expect(res.errors).toBeUndefined();
      return res.data.insert_items.returning.map((r: { row_id: string }) => r.row_id) as string[];
    };
    const first = await insert(0, 10);
    await gw.lakehouse.admin.flush(gw.catalog.entity('items'), true);
    await gw.lakehouse.admin.flush(gw.catalog.entity('owners'), true);
    const second = await insert(10, 20);
    // Updates of flushed rows (into and out of filters), deletes in both tiers.
    await gw.gql(`mutation($id: UUID!) { update_items_by_pk(row_id: $id, _set: {s: "zeta", i: null, b: true, e: C}) { row_id } }`, { id: first[1] });
    await gw.gql(`mutation($id: UUID!) { update_items_by_pk(row_id: $id, _set: {f: 99.5, t: "2027-01-01T00:00:00Z", r: null}) { row_id } }`, { id: first[2] });
    await gw.gql(`mutation($id: UUID!) { delete_items_by_pk(row_id: $id) { row_id } }`, { id: first[3] });
    await gw.gql(`mutation($id: UUID!) { delete_items_by_pk(row_id: $id) { row_id } }`, { id: second[0] });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const matrix: [string, Record<string, unknown>][] = [
    ['s', { _eq: 'alpha' }], ['s', { _neq: 'alpha' }], ['s', { _gt: 'o' }], ['s', { _lte: 'alpha' }],
    ['s', { _in: ['alpha', 'zeta'] }], ['s', { _nin: ['alpha'] }], ['s', { _nin: [] }], ['s', { _in: [] }], ['s', { _is_null: true }],
    ['s', { _like: 'a%' }], ['s', { _ilike: 'A%' }], ['s', { _like: '%\\%%' }], ['s', { _contains: '%' }], ['s', { _contains: '_c' }],
    ['s', { _starts_with: "o'" }], ['s', { _like: 'snake_case' }],
    ['i', { _eq: '3000000021' }], ['i', { _gt: '5000000000' }], ['i', { _lt: 0 }], ['i', { _in: ['0', '7000000049'] }], ['i', { _is_null: false }], ['i', { _neq: '0' }],
    ['f', { _gte: 0.75 }], ['f', { _lt: -1.5 }], ['f', { _eq: 99.5 }], ['f', { _nin: [-3, 2] }], ['f', { _is_null: true }],
    ['b', { _eq: true }], ['b', { _neq: true }], ['b', { _is_null: true }],
    ['t', { _gt: '2026-01-08T00:00:00Z' }], ['t', { _lte: '2026-01-03T02:00:00.000Z' }], ['t', { _eq: '2027-01-01T00:00:00Z' }], ['t', { _in: ['2026-01-01T00:00:00Z'] }], ['t', { _is_null: true }],
    ['d', { _gte: '2026-02-10' }], ['d', { _eq: '2026-02-01' }], ['d', { _nin: ['2026-02-01', '2026-02-05'] }], ['d', { _is_null: false }],
    ['e', { _eq: 'A' }], ['e', { _neq: 'C' }], ['e', { _in: ['A', 'B'] }], ['e', { _nin: ['B'] }], ['e', { _is_null: true }],
    ['j', { _is_null: true }], ['j', { _is_null: false }],
    // Hasura's other text operators (Postgres NOT LIKE, SIMILAR TO, ~ and ~*; NULL values are unknown).
    ['s', { _nlike: 'a%' }], ['s', { _nilike: 'A%' }], ['s', { _nlike: '%\\%%' }], ['s', { _nilike: '%E%' }],
    ['s', { _similar: '(alpha|zeta)' }], ['s', { _similar: '%\\_%' }], ['s', { _similar: '_*ha' }], ['s', { _nsimilar: '[a-z]%' }], ['s', { _similar: 'a.pha' }],
    ['s', { _regex: '^a' }], ['s', { _regex: 'l.h' }], ['s', { _regex: "o'n" }], ['s', { _nregex: 'a' }], ['s', { _iregex: '^ALPHA$' }], ['s', { _niregex: 'ALPHA|ZETA' }],
    ['s', { _regex: '[[:digit:]]+%' }],
    // jsonb's operators; the values are {n, tags: ['a', n]} or NULL.
    ['j', { _eq: { tags: ['a', 0], n: 0 } }], ['j', { _neq: { n: 0, tags: ['a', 0] } }], ['j', { _eq: { n: 0 } }],
    ['j', { _contains: { tags: ['a'] } }], ['j', { _contains: { n: 2 } }], ['j', { _contains: { tags: [2] } }], ['j', { _contains: {} }], ['j', { _contains: [] }],
    ['j', { _contains: { tags: 'a' } }], ['j', { _contains: { tags: [['a']] } }],
    ['j', { _contained_in: { n: 0, tags: ['a', 0, 1], x: 1 } }], ['j', { _contained_in: { n: 2 } }], ['j', { _contained_in: [{ n: 0 }] }],
    ['j', { _has_key: 'n' }], ['j', { _has_key: 'x' }], ['j', { _has_keys_any: ['x', 'tags'] }], ['j', { _has_keys_any: [] }],
    ['j', { _has_keys_all: ['n', 'tags'] }], ['j', { _has_keys_all: ['n', 'x'] }], ['j', { _has_keys_all: [] }],
    // Empty objects (Hasura): a field with no condition is true.
    ['s', {}], ['j', {}],
  ];

  it.each(matrix)('%s %j', async (attribute, spec) => {
    const where = { [attribute]: spec };
    const res = await gw.gql(`query($w: items_bool_exp) { items(where: $w, limit: 1000) { row_id } }`, { w: where });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    const truth = await readTruth(gw);
    const expected = answerList(gw.catalog, truth, gw.catalog.entity('items'), { where, limit: 1000 }).map((r) => r.row_id);
    expect(res.data.items.map((r: { row_id: string }) => r.row_id)).toEqual(expected);
    // Three-valued logic: a row is in the result, in the result of _not, or (NULL) in neither.
    const negated = (await gw.gql(`query($w: items_bool_exp) { items(where: {_not: $w}, limit: 1000) { row_id } }`, { w: where })).data.items;
    expect(expected.length + negated.length).toBeLessThanOrEqual(truth.get('items')!.size);
  });

  it('filters through refs, including refs to deleted rows and conditions on the referenced row_id', async () => {
    await gw.gql(`mutation($id: UUID!) { delete_owners_by_pk(row_id: $id) { row_id } }`, { id: owners[1] });
    const truth = await readTruth(gw);
    for (const where of [{ r: { label: { _eq: 'y' } } }, { r: { label: { _eq: 'x' } } }, { r: { row_id: { _eq: owners[1] } } }, { _not: { r: { label: { _eq: 'x' } } } }]) {
      const res = await gw.gql(`query($w: items_bool_exp) { items(where: $w, limit: 1000) { row_id r { label } } }`, { w: where });
      const expected = answerList(gw.catalog, truth, gw.catalog.entity('items'), { where, limit: 1000 }).map((r) => r.row_id);
      expect(res.data.items.map((r: { row_id: string }) => r.row_id), JSON.stringify(where)).toEqual(expected);
    }
    // Through a deleted owner nothing matches, though the ref values still name it.
    const deleted = await gw.gql(`{ items(where: {r: {label: {_eq: "y"}}}) { row_id } }`);
    expect(deleted.data.items).toEqual([]);
    // So does a condition on the deleted owner's row_id alone (the referenced row must exist).
    const byRowId = await gw.gql(`query($id: UUID!) { items(where: {r: {row_id: {_eq: $id}}}) { row_id r { label } } }`, { id: owners[1] });
    expect(byRowId.data.items).toEqual([]);
  });

  it('filters owners through the reverse relation and its aggregates, as the oracle does', async () => {
    const truth = await readTruth(gw);
    const wheres: Record<string, unknown>[] = [
      { items: { s: { _eq: 'alpha' } } },
      { items: {} },
      { _not: { items: {} } },
      { _not: { items: { b: { _eq: true } } } },
      { items: { r: { label: { _eq: 'x' } } } },
      { items_aggregate: { count: { predicate: { _eq: 0 } } } },
      { items_aggregate: { count: { predicate: { _gt: 2 }, filter: { f: { _is_null: false } } } } },
      { items_aggregate: { count: { predicate: { _gte: 1 }, arguments: ['e'], distinct: true } } },
      { items_aggregate: { sum: { arguments: 'f', predicate: { _gt: 10 } } } },
      { items_aggregate: { max: { arguments: 'i', predicate: { _is_null: true } } } },
      { _not: { items_aggregate: { avg: { arguments: 'f', predicate: { _lt: 5 }, filter: { b: { _eq: true } } } } } },
      { items_aggregate: { bool_and: { arguments: 'b', predicate: { _eq: true } } } },
      { _not: { items_aggregate: { bool_or: { arguments: 'b', predicate: { _eq: false }, distinct: true } } } },
      { items_aggregate: { bool_or: { arguments: 'b', predicate: { _is_null: true } } } },
    ];
    for (const where of wheres) {
      const res = await gw.gql(`query($w: owners_bool_exp) { owners(where: $w) { row_id } }`, { w: where });
      expect(res.errors, JSON.stringify(where)).toBeUndefined();
      const expected = answerList(gw.catalog, truth, gw.catalog.entity('owners'), { where, limit: 100 }).map((r) => r.row_id);
      expect(res.data.owners.map((r: { row_id: string }) => r.row_id), JSON.stringify(where)).toEqual(expected);
    }
  });

  it('refuses an invalid regular expression, naming its path', async () => {
    for (const [pattern, message] of [
      ['(b', 'where.s._regex: invalid regular expression'],
      ['(a)\\1', 'where.s._regex: invalid regular expression: RE2 (DuckDB) has no backreferences'],
      ['(?=a)', 'has no lookaround'],
    ]) {
      const res = await gw.gql(`query($p: String) { items(where: {s: {_regex: $p}}) { row_id } }`, { p: pattern });
      expect(res.errors?.[0]?.message, pattern).toContain(message);
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('reads json values and dates back as written', async () => {
    const res = await gw.gql(`{ items(where: {j: {_is_null: false}}, order_by: [{d: asc}], limit: 2) { j d } }`);
    expect(res.data.items[0]).toEqual({ j: { n: 0, tags: ['a', 0] }, d: '2026-02-01' });
  });
});

describe('a schema that gains an attribute after files were written', () => {
  it('reads the new attribute as NULL from older files and filters on it', async () => {
    const gw = await startTestGateway({ schemaDir: await schemaDir(shop()) });
    const log = pino({ level: 'silent' });
    try {
      await gw.gql(`mutation { insert_items(objects: [{s: "old one"}, {s: "old two"}]) { affected_rows } }`);
      await gw.lakehouse.admin.flush(gw.catalog.entity('items'), true);

      const catalog = await loadCatalog(await schemaDir(shop([{ name: 'color', type: 'string' }])));
      const oltp = await openOltpStore({ databaseUrl: gw.databaseUrl, catalog, log });
      const lakehouse = await openLakehouse({ ...gw.lakeSettings, dataDir: path.join(gw.lakeSettings.dataDir, 'second') }, catalog, oltp, log);
      try {
        const items = catalog.entity('items');
        await oltp.writer.insert(items, [{ s: 'new', color: 'red' }]);
        const list = async (where: unknown) =>
          (await lakehouse.search.list(items, { where: parseWhere(catalog, items, where), orderBy: [{ column: 's', direction: 'asc', nulls: 'last' }], limit: 10, offset: 0 })).map(
            (r) => [r.values.s, r.values.color],
          );
        expect(await list({ color: { _is_null: true } })).toEqual([['old one', null], ['old two', null]]);
        expect(await list({ color: { _eq: 'red' } })).toEqual([['new', 'red']]);
        await lakehouse.admin.flush(items, true); // a file with the column next to files without it
        expect(await list({ color: { _is_null: true } })).toEqual([['old one', null], ['old two', null]]);
        expect(await list({ color: { _eq: 'red' } })).toEqual([['new', 'red']]);
        // Compaction merges files with and without the column into one with it.
        const compacted = await lakehouse.admin.compact(items, true);
        expect(compacted.added.map((a) => [a.role, a.rows])).toEqual([['present', 3]]);
        expect((await liveFiles(oltp.pool, items)).map((f) => f.columns.includes('color'))).toEqual([true]);
        expect(await list({ color: { _is_null: true } })).toEqual([['old one', null], ['old two', null]]);
        expect(await list({ color: { _eq: 'red' } })).toEqual([['new', 'red']]);
      } finally {
        await lakehouse.close();
        await oltp.close();
      }
    } finally {
      await gw.close();
    }
  });
});
