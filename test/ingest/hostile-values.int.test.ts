// Every value a mutation accepts reads back the same from the buffer (hot mirror), after a flush
// and after a compaction; the values Postgres or the lake cannot hold are refused at write time
// with a message naming the attribute. Also: a database whose DateStyle is not ISO, an entity of
// 1,700 attributes, and change_log rows with deleted_at = 0 (live, SPEC 3.1).
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type GraphQLResponse, type TestGateway } from '../support/gateway.js';
import { OWNERS_ENTITY, attributesOfEveryType } from '../support/definitions.js';
import { scratchDir } from '../support/scratch.js';

/** Small enough to run at and past it in a test; the gateway's default is larger. */
const LIMIT = 4 * 1024 * 1024;

const THINGS = {
  project: 'hostile',
  entities: [
    OWNERS_ENTITY,
    {
      id: 2,
      name: 'things',
      attributes: [
        { name: 'k', type: 'string', required: true },
        ...attributesOfEveryType(),
        // last, so that a row ends with it (where DuckDB's CSV reader of the old transfer broke on a CR)
        { name: 'z', type: 'string' },
      ],
    },
  ],
};

type Attr = 's' | 'i' | 'f' | 'b' | 't' | 'd' | 'e' | 'r' | 'j' | 'z';
const VARIABLE_TYPE: Record<Attr, string | null> = { s: 'String', i: 'BigInt', f: 'Float', b: 'Boolean', t: 'DateTime', d: 'Date', e: null, r: 'UUID', j: null, z: 'String' };

interface Case {
  k: string;
  attr: Attr;
  value: unknown;
  /** What a search returns, when not the value itself. */
  out?: unknown;
}

const OWNER = '__owner__';
const cases: Case[] = [
  // sizes around DuckDB's CSV line limit (2,000,000 bytes) and the configured maximum
  { k: 'string 1.9 MB', attr: 's', value: 'a'.repeat(1_900_000) },
  { k: 'string 3 MiB', attr: 's', value: 'b'.repeat(3 * 1024 * 1024) },
  { k: 'string at the limit', attr: 's', value: 'c'.repeat(LIMIT) },
  { k: 'string at the limit in UTF-8 bytes', attr: 's', value: 'é'.repeat(LIMIT / 2) },
  // Unicode
  { k: 'astral and emoji', attr: 's', value: '😀 𝄞 👩‍👩‍👧 🇩🇪' },
  { k: 'combining marks', attr: 's', value: 'e\u0301 a\u0308\u0323 Z\u0335\u0321' },
  { k: 'right to left', attr: 's', value: 'مرحبا \u200f עברית \u202e' },
  { k: 'noncharacters and separators', attr: 's', value: '\uffff\ufffe\ufdd0 \u2028\u2029 \u0085' },
  { k: 'control characters', attr: 's', value: '\u0001\u001f\u007f\u0008\u000b\u000c' },
  // line ends
  { k: 'CR', attr: 's', value: 'a\rb' },
  { k: 'LF', attr: 's', value: 'a\nb' },
  { k: 'CRLF', attr: 's', value: 'a\r\nb' },
  { k: 'only CR LF', attr: 's', value: '\r\n\r' },
  // what CSV and COPY text treat specially
  { k: 'quotes and commas', attr: 's', value: 'say "hi", then \'bye\',,"' },
  { k: 'backslashes', attr: 's', value: 'C:\\dir\\ \\\\ \\' },
  { k: 'tabs', attr: 's', value: 'a\tb\t' },
  { k: 'backslash N', attr: 's', value: '\\N' },
  { k: 'the word NULL', attr: 's', value: 'NULL' },
  { k: 'empty string', attr: 's', value: '' },
  { k: 'null string', attr: 's', value: null },
  { k: 'spaces only', attr: 's', value: '   ' },
  // JSON
  { k: 'json nested', attr: 'j', value: { a: { b: [1, 2, { c: 'ü😀', d: null }] }, 'key "q"\r\n': 'v\\,' } },
  { k: 'json array', attr: 'j', value: [1, 'two', null, true, [], {}] },
  { k: 'json string', attr: 'j', value: 'just\r\na string' },
  { k: 'json large numbers', attr: 'j', value: { big: 12345678901234567000, tiny: 5e-324, huge: 1e308, neg: -1.5e-10 } },
  { k: 'json empty object', attr: 'j', value: {} },
  { k: 'json number', attr: 'j', value: 42 },
  // numbers
  { k: 'int64 min', attr: 'i', value: '-9223372036854775808' },
  { k: 'int64 max', attr: 'i', value: '9223372036854775807' },
  { k: 'int beyond 2^53', attr: 'i', value: '9007199254740993' },
  { k: 'int zero', attr: 'i', value: 0 },
  { k: 'float 1e308', attr: 'f', value: 1e308 },
  { k: 'float -1e308', attr: 'f', value: -1e308 },
  { k: 'float max', attr: 'f', value: 1.7976931348623157e308 },
  { k: 'float 5e-324', attr: 'f', value: 5e-324 },
  { k: 'float -0', attr: 'f', value: -0, out: 0 },
  { k: 'float 0.1', attr: 'f', value: 0.1 },
  // dates and times at the bounds
  { k: 'date 0001-01-01', attr: 'd', value: '0001-01-01' },
  { k: 'date 9999-12-31', attr: 'd', value: '9999-12-31' },
  { k: 'date leap day', attr: 'd', value: '2024-02-29' },
  { k: 'timestamp min', attr: 't', value: '0001-01-01T00:00:00Z', out: '0001-01-01T00:00:00.000Z' },
  { k: 'timestamp min with offset', attr: 't', value: '0001-01-01T05:30:00+05:30', out: '0001-01-01T00:00:00.000Z' },
  { k: 'timestamp max', attr: 't', value: '9999-12-31T23:59:59.999Z', out: '9999-12-31T23:59:59.999Z' },
  { k: 'timestamp max with offset', attr: 't', value: '9999-12-31T22:59:59.999-01:00', out: '9999-12-31T23:59:59.999Z' },
  { k: 'timestamp with offset', attr: 't', value: '2026-06-30T23:30:00.123+14:00', out: '2026-06-30T09:30:00.123Z' },
  // the rest
  { k: 'boolean true', attr: 'b', value: true },
  { k: 'boolean false', attr: 'b', value: false },
  { k: 'enum A', attr: 'e', value: 'A' },
  { k: 'enum B', attr: 'e', value: 'B' },
  { k: 'ref', attr: 'r', value: OWNER },
];

const refused: { k: string; attr: Attr; value: unknown }[] = [
  { k: 'NUL in a string', attr: 's', value: 'a\u0000b' },
  { k: 'NUL in a JSON value', attr: 'j', value: { a: ['x\u0000'] } },
  { k: 'NUL in a JSON key', attr: 'j', value: { 'a\u0000': 1 } },
  { k: 'a string over the limit', attr: 's', value: 'd'.repeat(LIMIT + 1) },
  { k: 'a string over the limit in UTF-8 bytes', attr: 's', value: 'é'.repeat(LIMIT / 2) + 'x' },
  { k: 'JSON over the limit', attr: 'j', value: { a: 'e'.repeat(LIMIT) } },
  { k: 'a timestamp before year 1 in UTC', attr: 't', value: '0001-01-01T00:00:00+01:00' },
  { k: 'a timestamp in year 0', attr: 't', value: '0000-06-01T00:00:00Z' },
  { k: 'a date in year 0', attr: 'd', value: '0000-01-01' },
];

async function schemaDir(definition: object): Promise<string> {
  const dir = await scratchDir('schema-');
  await fs.writeFile(path.join(dir, 'hostile.json'), JSON.stringify(definition));
  return dir;
}

async function flush(gw: TestGateway, entity: string): Promise<void> {
  const res = await gw.gql(`mutation($e: String!) { flush(entity: $e, force: true) { flushed rows } }`, { e: entity }, { admin: true });
  expectNoErrors(res, `flush ${entity}`);
  expect(res.data.flush.flushed).toBe(true);
}

async function compact(gw: TestGateway, entity: string): Promise<void> {
  const res = await gw.gql(`mutation($e: String!) { compact(entity: $e, force: true) { compacted } }`, { e: entity }, { admin: true });
  expectNoErrors(res, `compact ${entity}`);
  expect(res.data.compact.compacted).toBe(true);
}

function expectNoErrors(res: GraphQLResponse, context: string): void {
  expect(res.errors?.map((e) => e.message.slice(0, 300)), context).toBeUndefined();
}

describe('hostile values through buffer, mirror, flush and compaction', () => {
  let gw: TestGateway;
  let owner: string;
  const valueOf = (c: Case) => (c.value === OWNER ? owner : c.value);
  const expectedOf = (c: Case) => {
    const v = 'out' in c ? c.out : valueOf(c);
    if (c.attr === 'r') return { row_id: v };
    if (c.attr === 'i' && v !== null) return String(v);
    return v;
  };

  beforeAll(async () => {
    gw = await startTestGateway({ schemaDir: await schemaDir(THINGS), maxValueBytes: LIMIT });
    const res = await gw.gql(`mutation { insert_owners_one(object: {label: "o"}) { row_id } }`);
    owner = res.data.insert_owners_one.row_id;
  });
  afterAll(async () => {
    await gw?.close();
  });

  const insert = async (objects: Record<string, unknown>[]) => {
    const res = await gw.gql(`mutation($o: [things_insert_input!]!) { insert_things(objects: $o) { affected_rows } }`, { o: objects });
    expectNoErrors(res, `insert ${objects.map((o) => o.k).join(', ')}`);
  };

  /** Lists every case and finds each by an `_eq` filter on its value, where the type has one. */
  const expectReadBack = async (which: readonly Case[], stage: string) => {
    const res = await gw.gql(`{ things(order_by: [{k: asc}], limit: 1000) { k s i f b t d e r { row_id } j z } }`);
    expectNoErrors(res, `${stage}: list`);
    const byK = new Map<string, Record<string, unknown>>(res.data.things.map((r: { k: string }) => [r.k, r]));
    for (const c of which) {
      const row = byK.get(c.k);
      expect(row, `${stage}: ${c.k} is listed`).toBeDefined();
      const got = c.attr === 'i' && row![c.attr] !== null ? String(row![c.attr]) : row![c.attr];
      expect(got, `${stage}: ${c.k}`).toEqual(expectedOf(c));
      if (c.value === null || c.attr === 'j') continue;
      const query =
        c.attr === 'e'
          ? `{ things(where: {e: {_eq: ${String(c.value)}}}, limit: 1000) { k } }`
          : c.attr === 'r'
            ? `query($v: UUID) { things(where: {r: {row_id: {_eq: $v}}}, limit: 1000) { k } }`
            : `query($v: ${VARIABLE_TYPE[c.attr]}) { things(where: {${c.attr}: {_eq: $v}}, limit: 1000) { k } }`;
      const found = await gw.gql(query, { v: valueOf(c) });
      expectNoErrors(found, `${stage}: ${c.k} _eq`);
      expect(found.data.things.map((r: { k: string }) => r.k), `${stage}: ${c.k} found by _eq`).toContain(c.k);
    }
    if (!which.some((c) => c.k === 'null string')) return;
    const nulls = await gw.gql(`{ things(where: {s: {_is_null: true}, k: {_in: ["null string", "empty string"]}}) { k } }`);
    expect(nulls.data.things, `${stage}: null is not the empty string`).toEqual([{ k: 'null string' }]);
  };

  it('a value with a CR in the only buffered row is mirrored, flushed and searched', async () => {
    const lone: Case = { k: 'lone CR', attr: 'z', value: 'a\rb' };
    await insert([{ k: lone.k, z: lone.value }]);
    await expectReadBack([lone], 'buffer');
    await flush(gw, 'things');
    await expectReadBack([lone], 'flushed');
  });

  it('every accepted value kind reads back the same from the buffer, after a flush and after a compaction', async () => {
    // CRLF in the first buffered row, later rows after it
    await insert([{ k: 'first CRLF', z: 'a\r\nb' }]);
    const all: Case[] = [{ k: 'first CRLF', attr: 'z', value: 'a\r\nb' }, { k: 'last CR', attr: 'z', value: '\r' }, ...cases];
    await insert([{ k: 'last CR', z: '\r' }]);
    for (const c of cases) await insert([{ k: c.k, [c.attr]: valueOf(c) }]);
    await expectReadBack(all, 'buffer');
    await flush(gw, 'things');
    await expectReadBack(all, 'flushed');
    await compact(gw, 'things');
    await expectReadBack(all, 'compacted');
  }, 180_000);

  it('the same values in one large insert (every value column and change_log written in bulk) read back the same', async () => {
    // Every row sets every attribute, each cycling through its cases (the large strings left out).
    const byAttr = new Map<Attr, Case[]>();
    for (const c of cases) {
      if (typeof c.value === 'string' && c.value.length > 10_000) continue;
      byAttr.set(c.attr, [...(byAttr.get(c.attr) ?? []), c]);
    }
    const rows = Array.from({ length: 240 }, (_, i) => {
      const chosen = [...byAttr].map(([attr, list]) => list[i % list.length]!);
      return { k: `copy ${String(i).padStart(3, '0')}`, chosen };
    });
    await insert(rows.map(({ k, chosen }) => Object.fromEntries([['k', k], ...chosen.map((c) => [c.attr, valueOf(c)])])));
    const res = await gw.gql(`{ things(where: {k: {_like: "copy %"}}, order_by: [{k: asc}], limit: 1000) { k s i f b t d e r { row_id } j } }`);
    expectNoErrors(res, 'copy: list');
    expect(res.data.things).toHaveLength(rows.length);
    for (const [i, row] of (res.data.things as Record<string, unknown>[]).entries()) {
      for (const c of rows[i]!.chosen) {
        const got = c.attr === 'i' && row[c.attr] !== null ? String(row[c.attr]) : row[c.attr];
        expect(got, `copy ${i}: ${c.k}`).toEqual(expectedOf(c));
      }
    }
  });

  it.each(refused)('refuses $k at write time, naming the attribute, and writes nothing', async ({ k, attr, value }) => {
    const before = await gw.gql(`{ things_aggregate { aggregate { count } } }`);
    const res = await gw.gql(`mutation($o: things_insert_input!) { insert_things_one(object: $o) { row_id } }`, { o: { k, [attr]: value } });
    expect(res.errors, k).toBeDefined();
    expect(res.errors![0]!.extensions?.code, res.errors![0]!.message).not.toBe('INTERNAL_SERVER_ERROR');
    expect(res.errors![0]!.message).toMatch(new RegExp(`things\\.${attr}|\\$o`));
    const after = await gw.gql(`{ things_aggregate { aggregate { count } } }`);
    expect(after.data.things_aggregate.aggregate.count).toBe(before.data.things_aggregate.aggregate.count);
  });
});

describe('the default MAX_VALUE_BYTES (16 MiB)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ schemaDir: await schemaDir(THINGS) });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a string of exactly 16 MiB is mirrored, flushed and searched; one byte more is refused', async () => {
    const limit = 16 * 1024 * 1024;
    const big = 'q'.repeat(limit);
    const ok = await gw.gql(`mutation($o: things_insert_input!) { insert_things_one(object: $o) { row_id } }`, { o: { k: 'max', z: big } });
    expectNoErrors(ok, 'insert');
    const refused = await gw.gql(`mutation($o: things_insert_input!) { insert_things_one(object: $o) { row_id } }`, { o: { k: 'over', z: `${big}q` } });
    expect(refused.errors?.[0]?.message).toMatch(/things\.z: the value is 16777217 bytes, over the limit of 16777216 bytes/);
    const read = async (stage: string) => {
      const res = await gw.gql(`{ things { k z } }`);
      expectNoErrors(res, stage);
      expect(res.data.things.map((r: { k: string; z: string }) => [r.k, r.z.length, r.z === big]), stage).toEqual([['max', limit, true]]);
    };
    await read('buffer');
    await flush(gw, 'things');
    await read('flushed');
  }, 120_000);
});

describe('deleted_at = 0 means live (SPEC 3.1)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ schemaDir: await schemaDir(THINGS) });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a change_log row with deleted_at = 0 is live in the buffer, after a flush and after a compaction', async () => {
    const res = await gw.gql(`mutation { insert_things_one(object: {k: "deleted_at zero", s: "zero"}) { row_id } }`);
    const rowId = res.data.insert_things_one.row_id as string;
    // Another LTBase writer may mark live rows with 0 (SPEC 3.1).
    const client = new pg.Client({ connectionString: gw.databaseUrl });
    await client.connect();
    try {
      await client.query('UPDATE change_log SET deleted_at = 0 WHERE row_id = $1', [rowId]);
    } finally {
      await client.end();
    }
    const live = async (stage: string) => {
      const found = await gw.gql(`{ things(where: {s: {_eq: "zero"}}) { row_id } things_aggregate(where: {s: {_eq: "zero"}}) { aggregate { count } } }`);
      expectNoErrors(found, stage);
      expect(found.data.things, stage).toEqual([{ row_id: rowId }]);
      expect(found.data.things_aggregate.aggregate.count, stage).toBe(1);
    };
    await live('buffer');
    await flush(gw, 'things');
    await live('flushed');
    await compact(gw, 'things');
    await live('compacted');
  });
});

describe('a database whose DateStyle is not ISO', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      schemaDir: await schemaDir(THINGS),
      // New connections take the database's setting: every pool connection then prints 'SQL, DMY'.
      prepareDatabase: async (url, name) => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(`ALTER DATABASE ${name} SET DateStyle = 'SQL, DMY'`);
        } finally {
          await client.end();
        }
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('buffers, mirrors and flushes timestamps and dates right', async () => {
    const rows = [
      { k: 'a', t: '2026-03-04T05:06:07.089Z', d: '2026-03-04' },
      { k: 'b', t: '0001-01-01T00:00:00.000Z', d: '0001-01-01' },
      { k: 'c', t: '9999-12-31T23:59:59.999Z', d: '9999-12-31' },
      { k: 'd', t: '2026-12-01T00:00:00.000Z', d: '2026-01-12' },
    ];
    const ins = await gw.gql(`mutation($o: [things_insert_input!]!) { insert_things(objects: $o) { affected_rows } }`, { o: rows });
    expectNoErrors(ins, 'insert');
    const check = async (stage: string) => {
      const res = await gw.gql(`{ things(order_by: [{k: asc}]) { k t d } }`);
      expectNoErrors(res, stage);
      expect(res.data.things, stage).toEqual(rows);
      for (const row of rows) {
        const found = await gw.gql(`query($t: DateTime, $d: Date) { things(where: {t: {_eq: $t}, d: {_eq: $d}}) { k } }`, { t: row.t, d: row.d });
        expectNoErrors(found, stage);
        expect(found.data.things, `${stage}: ${row.k}`).toEqual([{ k: row.k }]);
      }
    };
    await check('buffer');
    const flushed = await gw.gql(`mutation { flush(entity: "things", force: true) { flushed } }`, {}, { admin: true });
    expectNoErrors(flushed, 'flush');
    await check('flushed');
  });
});

describe('an entity of 1,700 attributes', () => {
  const WIDTH = 1_700;
  const types = ['string', 'int', 'timestamp', 'float'] as const;
  const attributes = Array.from({ length: WIDTH }, (_, n) => ({ name: `a${n}`, type: types[n % types.length] }));
  const valueAt = (n: number, row: number): unknown =>
    [`v${row}_${n}`, row * 100_000 + n, new Date(Date.UTC(2026, 0, 1, 0, 0, n % 60, row)).toISOString(), row + n / 8][n % 4];
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ schemaDir: await schemaDir({ project: 'wide', entities: [{ id: 1, name: 'wide', attributes }] }) });
  }, 180_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('is written, searched, flushed and searched', async () => {
    const objects = [0, 1, 2].map((row) => Object.fromEntries(attributes.map((a, n) => [a.name, valueAt(n, row)])));
    const ins = await gw.gql(`mutation($o: [wide_insert_input!]!) { insert_wide(objects: $o) { affected_rows } }`, { o: objects });
    expectNoErrors(ins, 'insert');
    const picked = [0, 1, 2, 3, 1_000, 1_697, 1_698, 1_699];
    const check = async (stage: string) => {
      const res = await gw.gql(`query($v: String) { wide(where: {a1696: {_eq: $v}}) { ${picked.map((n) => `a${n}`).join(' ')} } }`, { v: valueAt(1_696, 1) });
      expectNoErrors(res, stage);
      expect(res.data.wide, stage).toEqual([Object.fromEntries(picked.map((n) => [`a${n}`, valueAt(n, 1)]))]);
      const count = await gw.gql(`{ wide_aggregate { aggregate { count } } }`);
      expect(count.data.wide_aggregate.aggregate.count, stage).toBe(3);
    };
    await check('buffer');
    const flushed = await gw.gql(`mutation { flush(entity: "wide", force: true) { flushed rows } }`, {}, { admin: true });
    expectNoErrors(flushed, 'flush');
    expect(flushed.data.flush.rows).toBe(3);
    await check('flushed');
  }, 120_000);
});
