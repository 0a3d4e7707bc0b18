// The DDL texts per engine: each parses in its engine's grammar (dt-sql-parser's ANTLR grammars of
// Trino, Spark SQL and Hive), names only live files, and quotes identifiers the engine's way.
import { HiveSQL, SparkSQL, TrinoSQL } from 'dt-sql-parser';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseProjectDefinition } from '../../src/catalog/index.js';
import { ValidationError } from '../../src/errors/index.js';
import { externalDdl, type DdlEngine, type ExternalDdlFile, type ExternalDdlInput } from '../../src/lake/index.js';
import { attributesOfEveryType, OWNERS_ENTITY } from '../support/definitions.js';

const [, things] = parseProjectDefinition(
  { project: 'shop', entities: [OWNERS_ENTITY, { id: 7, name: 'things', attributes: attributesOfEveryType() }] },
  'test',
).entities;
const entity = things!;

const FILES: ExternalDdlFile[] = [
  { path: 'shop/7/base/present_7_01a22d22-0074-726d-9792-1de7b39777f6.parquet', kind: 'base', columns: ['time_slot', 'schema_id', 'row_id', 'deleted_at', 's'] },
  { path: 'shop/7/delta/01a22d23-0000-7000-8000-000000000001.parquet', kind: 'delta', columns: ['time_slot', 'schema_id', 'row_id', 'deleted_at', 's', 'i'] },
  { path: 'shop/7/delta/01a22d23-0000-7000-8000-000000000002.parquet', kind: 'delta', columns: ['time_slot', 'schema_id', 'row_id', 'deleted_at', 's', 'i'] },
];

function ddl(engine: DdlEngine, overrides: Partial<ExternalDdlInput> = {}): string {
  return externalDdl({
    engine,
    entity,
    files: FILES,
    location: 's3://lake-bucket/prefix/',
    namespace: engine === 'trino' ? 'hive.ltbase' : 'ltbase',
    listedAt: new Date('2026-11-30T12:00:00Z'),
    buffered: { rows: 12, newestSlot: 1_790_000_000_123n },
    ...overrides,
  });
}

/** Syntax errors of `sql` in a grammar (ANTLR also prints them; the test keeps the console quiet). */
function syntaxErrors(parser: TrinoSQL | SparkSQL | HiveSQL, sql: string): string[] {
  return parser.validate(sql).map((e) => `${e.startLine}:${e.startColumn} ${e.message}`);
}

const trino = new TrinoSQL();
const spark = new SparkSQL();
const hive = new HiveSQL();

beforeEach(() => {
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => vi.restoreAllMocks());

describe('external DDL texts', () => {
  it('parse in their engines’ grammars, and not in another engine’s (the check can fail)', () => {
    expect(syntaxErrors(trino, ddl('trino'))).toEqual([]);
    expect(syntaxErrors(spark, ddl('spark'))).toEqual([]);
    // Athena: tables in Hive DDL, views in Trino SQL.
    const athena = ddl('athena');
    const view = athena.indexOf('CREATE OR REPLACE VIEW');
    expect(syntaxErrors(hive, athena.slice(0, view))).toEqual([]);
    expect(syntaxErrors(trino, athena.slice(view))).toEqual([]);

    expect(syntaxErrors(spark, ddl('trino')).length).toBeGreaterThan(0); // WITH (external_location = …)
    expect(syntaxErrors(trino, ddl('spark')).length).toBeGreaterThan(0); // USING parquet, backticks
    expect(syntaxErrors(trino, ddl('trino').replace('AS "_lww_rank"', 'AS AS "_lww_rank"')).length).toBeGreaterThan(0);
  });

  it('split into two tables and one view per entity, in every engine', () => {
    expect(trino.splitSQLByStatement(ddl('trino'))?.map((s) => s.text.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'DROP TABLE IF',
      'CREATE TABLE "hive"."ltbase"."shop__things__base_files"',
      'DROP TABLE IF',
      'CREATE TABLE "hive"."ltbase"."shop__things__delta_files"',
      'CREATE OR REPLACE',
    ]);
    expect(spark.splitSQLByStatement(ddl('spark'))).toHaveLength(5);
  });

  it('keep the newest version per row_id by time_slot and drop deleted rows, in every engine', () => {
    for (const engine of ['trino', 'athena', 'duckdb'] as const) {
      const text = ddl(engine);
      expect(text).toContain('row_number() OVER (PARTITION BY "row_id" ORDER BY "time_slot" DESC) AS "_lww_rank"');
      expect(text).toContain('WHERE "_lww_rank" = 1 AND ("deleted_at" IS NULL OR "deleted_at" = 0);');
    }
    const text = ddl('spark');
    expect(text).toContain('row_number() OVER (PARTITION BY `row_id` ORDER BY `time_slot` DESC) AS `_lww_rank`');
    expect(text).toContain('WHERE `_lww_rank` = 1 AND (`deleted_at` IS NULL OR `deleted_at` = 0);');
  });

  it('name exactly the live files of each directory, and read nothing of a directory without live files', () => {
    expect(ddl('trino')).toContain(`element_at(split("$path", '/'), -1) IN ('present_7_01a22d22-0074-726d-9792-1de7b39777f6.parquet')`);
    expect(ddl('trino')).toContain(
      `element_at(split("$path", '/'), -1) IN ('01a22d23-0000-7000-8000-000000000001.parquet', '01a22d23-0000-7000-8000-000000000002.parquet')`,
    );
    expect(ddl('spark')).toContain("_metadata.file_name IN ('present_7_01a22d22-0074-726d-9792-1de7b39777f6.parquet')");
    expect(ddl('trino')).toContain(`external_location = 's3://lake-bucket/prefix/shop/7/base/'`);
    expect(ddl('athena')).toContain(`STORED AS PARQUET LOCATION 's3://lake-bucket/prefix/shop/7/delta/'`);

    const onlyDeltas = ddl('trino', { files: FILES.filter((f) => f.kind === 'delta') });
    expect(onlyDeltas).toMatch(/FROM "hive"\."ltbase"\."shop__things__base_files"\n\s+WHERE false/);
    const duck = ddl('duckdb', { files: FILES.filter((f) => f.kind === 'delta'), namespace: undefined, location: '/lake' });
    expect(duck).toContain(`CREATE OR REPLACE VIEW "shop__things__base_files" AS\nSELECT CAST(NULL AS BIGINT) AS "time_slot"`);
    expect(duck).toContain(`read_parquet('/lake/shop/7/delta/*.parquet', union_by_name = true, filename = '_lake_file')`);
    // Columns no live file holds yet (attributes added since) read as NULL in DuckDB, as in a Hive table.
    expect(duck).toContain('CAST(NULL AS DOUBLE) AS "f"');
    expect(duck).toMatch(/SELECT "time_slot", "schema_id", "row_id", "deleted_at", "s", "i", CAST\(NULL AS DOUBLE\) AS "f"/);
  });

  it('declare each attribute with the engine’s type and show UUIDs as text', () => {
    expect(ddl('trino')).toMatch(/"row_id" varbinary,\n {2}"deleted_at" bigint,\n {2}"s" varchar,\n {2}"i" bigint,\n {2}"f" double,\n {2}"b" boolean,\n {2}"t" timestamp,\n {2}"d" date,\n {2}"e" varchar,\n {2}"r" varbinary,\n {2}"j" varchar\n/);
    expect(ddl('spark')).toMatch(/`row_id` binary,\n {2}`deleted_at` bigint,\n {2}`s` string,\n {2}`i` bigint,\n {2}`f` double,\n {2}`b` boolean,\n {2}`t` timestamp,\n {2}`d` date,\n {2}`e` string,\n {2}`r` binary,\n {2}`j` string\n/);
    expect(ddl('trino')).toContain(`regexp_replace(lower(to_hex("r")), '^(.{8})(.{4})(.{4})(.{4})(.{12})$', '$1-$2-$3-$4-$5') AS "r"`);
    expect(ddl('spark')).toContain('regexp_replace(lower(hex(`row_id`)),');
    expect(ddl('duckdb')).toContain('CAST("row_id" AS VARCHAR) AS "row_id"');
  });

  it('say in a header what the view cannot see: buffered changes and later flushes', () => {
    const header = ddl('spark').split('\n').filter((l) => l.startsWith('--')).join('\n');
    expect(header).toContain('shop.things (schema_id 7) for spark: 1 base and 2 delta files');
    expect(header).toContain('changes still buffered in Postgres');
    expect(header).toContain('12 were buffered, up to time_slot 1790000000123');
    expect(ddl('trino', { buffered: { rows: 0, newestSlot: null } })).toContain('none were buffered');
  });

  it('refuse a bad namespace or location, and a file outside its kind’s directory, with a message naming it', () => {
    expect(() => ddl('trino', { namespace: 'hive.lt"; DROP' })).toThrow(ValidationError);
    expect(() => ddl('trino', { namespace: 'hive..x' })).toThrow(/namespace "hive\.\.x"/);
    expect(() => ddl('trino', { location: 's3://b/p\n' })).toThrow(/control characters/);
    expect(() => ddl('spark', { location: 's3a://b/p\\x' })).toThrow(/backslashes/);
    expect(ddl('trino', { location: "s3://b/it's" })).toContain(`'s3://b/it''s/shop/7/base/'`);
    expect(() => ddl('trino', { files: [{ ...FILES[0]!, kind: 'delta' }] })).toThrow(/is not directly under shop\/7\/delta\//);
  });
});
