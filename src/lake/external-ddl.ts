// DDL that opens an entity's lake to a distributed engine (Trino, Athena, Spark) or to DuckDB:
// external tables over the base/ and delta/ directories and a view that keeps only the files the
// manifest lists as live, the newest version of each row_id by time_slot, and live rows.
//
// Why the view names the live files instead of reading whole directories: a directory also holds
// uploads never committed and files a compaction replaced, which the garbage collector deletes one
// by one after ORPHAN_GRACE_MS. Compaction drops deleted rows with their tombstones, so once GC has
// taken a replaced delta file (the tombstone) but not yet the replaced base file (the old version),
// a directory-wide read brings the deleted row back. The manifest says what is committed (DESIGN 3).
import { NAME_PATTERN, type EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import { lakeColumns } from './columns.js';
import { schemaPrefix, type FileKind } from './layout.js';

// Names the DDL adds itself: no attribute can take them (attribute names start with a letter).
const RANK = '_lww_rank';
const FILE = '_lake_file';
const INTERNAL_NAMES: readonly string[] = [RANK, FILE, '_live_files', '_versions'];

export const DDL_ENGINES = ['trino', 'athena', 'spark', 'duckdb'] as const;
export type DdlEngine = (typeof DDL_ENGINES)[number];

export interface ExternalDdlFile {
  /** The object key under the lake root, as the manifest names it. */
  path: string;
  kind: FileKind;
  /** The lake columns the file was written with (from the manifest). */
  columns: readonly string[];
}

export interface ExternalDdlInput {
  engine: DdlEngine;
  entity: EntitySchema;
  /** The entity's live files, from one manifest listing. */
  files: readonly ExternalDdlFile[];
  /** The lake root as the engine names it: `s3://bucket/prefix`, `s3a://…` for Spark, a local path for DuckDB. */
  location: string;
  /** Where the tables and the view go: `catalog.schema` for Trino, a database for Athena and Spark; none: the engine's current one. */
  namespace?: string;
  /** What the listing saw, for the header: when, and the changes still buffered in Postgres then. */
  listedAt: Date;
  buffered: { rows: number; newestSlot: bigint | null };
}

/** A kind of SQL text: Athena's table DDL is Hive's (backticks), its views are Trino's. */
type Syntax = 'double-quote' | 'backtick';

interface Dialect {
  /** How a lake column type is declared in the external table. */
  columnType(duckdbType: string): string;
  /** The view's expression for a UUID column as canonical lowercase text. */
  uuidText(column: string): string;
  /** The view's expression for the name of the file a row came from (the last path segment). */
  fileName: string;
  viewSyntax: Syntax;
  tableSyntax: Syntax;
}

// Parquet holds UUIDs as 16 bytes (DuckDB writes the UUID logical type); Hive-style engines have
// no UUID column type, so they read the bytes and the view prints them as 8-4-4-4-12 hex.
const HEX_TO_UUID = `'^(.{8})(.{4})(.{4})(.{4})(.{12})$', '$1-$2-$3-$4-$5'`;

const HIVE_TYPES: Record<string, { trino: string; hive: string }> = {
  BIGINT: { trino: 'bigint', hive: 'bigint' },
  SMALLINT: { trino: 'smallint', hive: 'smallint' },
  UUID: { trino: 'varbinary', hive: 'binary' },
  VARCHAR: { trino: 'varchar', hive: 'string' },
  JSON: { trino: 'varchar', hive: 'string' },
  DOUBLE: { trino: 'double', hive: 'double' },
  BOOLEAN: { trino: 'boolean', hive: 'boolean' },
  TIMESTAMPTZ: { trino: 'timestamp', hive: 'timestamp' },
  DATE: { trino: 'date', hive: 'date' },
};

function hiveType(duckdbType: string, flavour: 'trino' | 'hive'): string {
  const mapped = HIVE_TYPES[duckdbType];
  if (!mapped) throw new Error(`no external table type for the lake type ${duckdbType}`);
  return mapped[flavour];
}

const DIALECTS: Record<DdlEngine, Dialect> = {
  trino: {
    columnType: (t) => hiveType(t, 'trino'),
    uuidText: (c) => `regexp_replace(lower(to_hex(${c})), ${HEX_TO_UUID})`,
    fileName: `element_at(split("$path", '/'), -1)`,
    viewSyntax: 'double-quote',
    tableSyntax: 'double-quote',
  },
  athena: {
    columnType: (t) => hiveType(t, 'hive'),
    uuidText: (c) => `regexp_replace(lower(to_hex(${c})), ${HEX_TO_UUID})`,
    fileName: `element_at(split("$path", '/'), -1)`,
    viewSyntax: 'double-quote',
    tableSyntax: 'backtick',
  },
  spark: {
    columnType: (t) => hiveType(t, 'hive'),
    uuidText: (c) => `regexp_replace(lower(hex(${c})), ${HEX_TO_UUID})`,
    // The file-source metadata column (Spark 3.3+).
    fileName: '_metadata.file_name',
    viewSyntax: 'backtick',
    tableSyntax: 'backtick',
  },
  duckdb: {
    columnType: (t) => t,
    uuidText: (c) => `CAST(${c} AS VARCHAR)`,
    fileName: `parse_filename("${FILE}")`,
    viewSyntax: 'double-quote',
    tableSyntax: 'double-quote',
  },
};

/** A name for the target engine: catalog-validated names (or the DDL's own) only, so quoting never needs escapes. */
function quote(name: string, syntax: Syntax): string {
  if (!NAME_PATTERN.test(name) && !INTERNAL_NAMES.includes(name)) throw new Error(`refusing to quote unvalidated identifier ${JSON.stringify(name)}`);
  return syntax === 'backtick' ? `\`${name}\`` : `"${name}"`;
}

const NAMESPACE_PART = /^[A-Za-z_][A-Za-z0-9_]*$/;

function qualified(namespace: string | undefined, name: string, syntax: Syntax): string {
  const parts = namespace === undefined || namespace === '' ? [] : namespace.split('.');
  for (const part of parts) {
    if (!NAMESPACE_PART.test(part)) {
      throw new ValidationError(`namespace ${JSON.stringify(namespace)}: each dot-separated part must match ${NAMESPACE_PART.source}`);
    }
  }
  const quotedParts = parts.map((p) => (syntax === 'backtick' ? `\`${p}\`` : `"${p}"`));
  return [...quotedParts, quote(name, syntax)].join('.');
}

/**
 * A SQL string literal; the location is operator input, so quotes are doubled, and control
 * characters and backslashes refused (Spark and Hive read a backslash in a literal as an escape).
 */
function literal(text: string): string {
  if (/[\u0000-\u001f\\]/.test(text)) {
    throw new ValidationError(`${JSON.stringify(text)}: control characters and backslashes are not allowed in a lake location`);
  }
  return `'${text.replaceAll("'", "''")}'`;
}

/** Names of the objects the DDL creates for an entity (tables per kind, and the view). */
export function externalNames(entity: Pick<EntitySchema, 'project' | 'name'>): { view: string; table: Record<FileKind, string> } {
  const view = `${entity.project}__${entity.name}`;
  return { view, table: { base: `${view}__base_files`, delta: `${view}__delta_files` } };
}

const KINDS: readonly FileKind[] = ['base', 'delta'];

/** The entity's DDL for one engine: a header of what it cannot see, two external tables, the view. */
export function externalDdl(input: ExternalDdlInput): string {
  const { engine, entity, files } = input;
  const dialect = DIALECTS[engine];
  const names = externalNames(entity);
  const root = input.location.replace(/\/+$/, '');
  const columns = lakeColumns(entity);
  const prefix = schemaPrefix(entity);
  const byKind = new Map<FileKind, string[]>(KINDS.map((k) => [k, []]));
  for (const file of files) {
    const directory = `${prefix}${file.kind}/`;
    const name = file.path.slice(directory.length);
    // A file outside its kind's directory would be invisible to the external table: refuse, never drop it.
    if (!file.path.startsWith(directory) || name.includes('/')) {
      throw new Error(`lake file ${file.path} is not directly under ${directory}; the external tables would miss it`);
    }
    byKind.get(file.kind)!.push(name);
  }

  const statements: string[] = [];
  for (const kind of KINDS) {
    const location = `${root}/${prefix}${kind}/`;
    const table = qualified(input.namespace, names.table[kind], dialect.tableSyntax);
    statements.push(tableDdl(engine, table, location, columns, files.filter((f) => f.kind === kind), dialect));
  }
  statements.push(viewDdl(input, names, byKind, dialect));
  return `${header(input, byKind)}\n${statements.join('\n\n')}\n`;
}

function header(input: ExternalDdlInput, byKind: Map<FileKind, string[]>): string {
  const { entity, buffered } = input;
  const pending = buffered.rows === 0 ? 'none were buffered' : `${buffered.rows} were buffered, up to time_slot ${buffered.newestSlot}`;
  return [
    `-- ${entity.project}.${entity.name} (schema_id ${entity.id}) for ${input.engine}: ${byKind.get('base')!.length} base and ${byKind.get('delta')!.length} delta files, the manifest's live set at ${input.listedAt.toISOString()}.`,
    `-- Not visible here: changes still buffered in Postgres (change_log rows not yet flushed; at listing ${pending}),`,
    `-- and files flushed or compacted after the listing. Re-emit the view after each flush or compaction, and well`,
    `-- within ORPHAN_GRACE_MS: files a compaction replaced are deleted from the store after it, and this view names them.`,
  ].join('\n');
}

function tableDdl(
  engine: DdlEngine,
  table: string,
  location: string,
  columns: readonly { name: string; duckdb: string }[],
  files: readonly ExternalDdlFile[],
  dialect: Dialect,
): string {
  if (engine === 'duckdb') return duckdbFilesView(table, location, columns, files);
  const declared = columns.map((c) => `  ${quote(c.name, dialect.tableSyntax)} ${dialect.columnType(c.duckdb)}`).join(',\n');
  // External: dropping the table leaves the files (the gateway owns them).
  const drop = `DROP TABLE IF EXISTS ${table};`;
  switch (engine) {
    case 'trino':
      return `${drop}\nCREATE TABLE ${table} (\n${declared}\n) WITH (external_location = ${literal(location)}, format = 'PARQUET');`;
    case 'athena':
      return `${drop}\nCREATE EXTERNAL TABLE ${table} (\n${declared}\n) STORED AS PARQUET LOCATION ${literal(location)};`;
    case 'spark':
      return `${drop}\nCREATE TABLE ${table} (\n${declared}\n) USING parquet LOCATION ${literal(location)};`;
    default: {
      const never: never = engine;
      throw new Error(`unknown engine ${String(never)}`);
    }
  }
}

/**
 * DuckDB has no external tables: a view over the directory's Parquet files stands in for one. A
 * column no live file holds yet (an attribute added since) reads as NULL, as it does in the
 * Hive-style engines; a directory without live files is an empty relation (DuckDB refuses a glob
 * that matches nothing).
 */
function duckdbFilesView(table: string, location: string, columns: readonly { name: string; duckdb: string }[], files: readonly ExternalDdlFile[]): string {
  const present = new Set(files.flatMap((f) => f.columns));
  const select = columns.map((c) => (present.has(c.name) ? quote(c.name, 'double-quote') : `CAST(NULL AS ${c.duckdb}) AS ${quote(c.name, 'double-quote')}`));
  const body =
    files.length === 0
      ? `SELECT ${select.join(', ')}, CAST(NULL AS VARCHAR) AS ${quote(FILE, 'double-quote')} WHERE false`
      : `SELECT ${select.join(', ')}, ${quote(FILE, 'double-quote')} FROM read_parquet(${literal(`${location}*.parquet`)}, union_by_name = true, filename = ${literal(FILE)})`;
  return `CREATE OR REPLACE VIEW ${table} AS\n${body};`;
}

function viewDdl(input: ExternalDdlInput, names: ReturnType<typeof externalNames>, byKind: Map<FileKind, string[]>, dialect: Dialect): string {
  const { entity, namespace } = input;
  const q = (name: string) => quote(name, dialect.viewSyntax);
  const stored = lakeColumns(entity).map((c) => c.name);
  const parts = KINDS.map((kind) => {
    const live = byKind.get(kind)!;
    const filter = live.length === 0 ? 'false' : `${dialect.fileName} IN (${live.map(literal).join(', ')})`;
    return `          SELECT ${stored.map(q).join(', ')}\n            FROM ${qualified(namespace, names.table[kind], dialect.viewSyntax)}\n           WHERE ${filter}`;
  });
  const exposed = [
    `${dialect.uuidText(q('row_id'))} AS ${q('row_id')}`,
    q('time_slot'),
    ...entity.attributes.map((a) => (a.type === 'ref' ? `${dialect.uuidText(q(a.name))} AS ${q(a.name)}` : q(a.name))),
  ];
  return [
    `CREATE OR REPLACE VIEW ${qualified(namespace, names.view, dialect.viewSyntax)} AS`,
    `SELECT ${exposed.join(', ')}`,
    `  FROM (`,
    `    SELECT *, row_number() OVER (PARTITION BY ${q('row_id')} ORDER BY ${q('time_slot')} DESC) AS ${q(RANK)}`,
    `      FROM (`,
    parts.join('\n          UNION ALL\n'),
    `      ) AS ${q('_live_files')}`,
    `  ) AS ${q('_versions')}`,
    // Last write wins by time_slot per row_id (DESIGN 4.3); deleted_at 0 or NULL means live (SPEC 3.1).
    ` WHERE ${q(RANK)} = 1 AND (${q('deleted_at')} IS NULL OR ${q('deleted_at')} = 0);`,
  ].join('\n');
}
