// Zone maps: per lake file, the min/max (and non-NULL count) of each ordered attribute, so a
// search skips a file none of whose rows can match its filter (DESIGN 3: "min/max of filtered
// attributes"). DESIGN keeps statistics in the manifest; these are read once per process from the
// files themselves instead (immutable, already local for the query), which needs no change of the
// writers or the manifest. A skipped file only leaves the single-version part of the view
// (view.ts part 1): its rows' newer versions come from the changed sets and the buffer as before.
import type { DuckDBValue } from '@duckdb/node-api';
import { quoteIdent, type AttributeType, type EntitySchema } from '../catalog/index.js';
import { sqlString, type DuckDb } from '../lake/index.js';
import type { Filter, FilterValue } from './filter.js';

type Bound = bigint | number | string;

interface ColumnZone {
  min: Bound;
  max: Bound;
  /** Rows with a value (not NULL). */
  nonNull: number;
}

/** What one file's rows hold: per zoned column its range; a column absent from the file reads NULL. */
export interface FileZones {
  rows: number;
  /** The lake columns the file was written with. */
  present: ReadonlySet<string>;
  columns: ReadonlyMap<string, ColumnZone>;
}

/** Types whose order in DuckDB is the order of their JS form here (strings and enums are not: collation). */
const ZONED: Partial<Record<AttributeType, (column: string) => [string, string]>> = {
  int: (c) => [`min(${c})`, `max(${c})`],
  float: (c) => [`min(${c})`, `max(${c})`],
  boolean: (c) => [`min(${c}::INTEGER)`, `max(${c}::INTEGER)`],
  timestamp: (c) => [`epoch_us(min(${c}))`, `epoch_us(max(${c}))`],
  date: (c) => [`min(${c})::VARCHAR`, `max(${c})::VARCHAR`],
};

/** typeof() of each zoned type's lake column. */
const DUCKDB_TYPE_NAMES: Partial<Record<AttributeType, string>> = {
  int: 'BIGINT',
  float: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP WITH TIME ZONE',
  date: 'DATE',
};

/** The zoned columns of an entity: its ordered attributes and time_slot. */
function zonedColumns(entity: EntitySchema): { name: string; type: AttributeType }[] {
  return [{ name: 'time_slot', type: 'int' as AttributeType }, ...entity.attributes.filter((a) => ZONED[a.type]).map((a) => ({ name: a.name, type: a.type }))];
}

interface ZonedFile {
  fileId: bigint;
  localPath: string;
  columns: readonly string[];
}

/** Per process: each file's zones, computed on first use (files never change). */
export class ZoneMaps {
  private readonly byFile = new Map<bigint, { zones: FileZones | null; computing: Promise<void> }>();
  /** One computation at a time: they take DuckDB connections outside the searches' admission. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly duck: DuckDb) {}

  /**
   * The zones of these files known now, in order (null: not yet, the file is not skipped); the
   * missing ones are computed in the background. A scan of a 1M-row file took ~100-150 ms here:
   * the first search after a compaction does not wait for it.
   */
  known(entity: EntitySchema, files: readonly ZonedFile[]): (FileZones | null)[] {
    return files.map((file) => {
      const entry = this.byFile.get(file.fileId);
      if (entry) return entry.zones;
      const created: { zones: FileZones | null; computing: Promise<void> } = { zones: null, computing: Promise.resolve() };
      // A failure only costs the pruning of this file (null, never retried: the file never changes).
      const run = this.tail.then(() => this.compute(entity, file));
      this.tail = run.catch(() => undefined);
      created.computing = run.then(
        (zones) => void (created.zones = zones),
        () => undefined,
      );
      this.byFile.set(file.fileId, created);
      return null;
    });
  }

  /** Waits for the computations started so far (tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.byFile.values()].map((entry) => entry.computing));
  }

  /** Forgets files the manifest no longer lists as live (their ids never come back). */
  retainOnly(live: ReadonlySet<bigint>): void {
    for (const id of this.byFile.keys()) if (!live.has(id)) this.byFile.delete(id);
  }

  private async compute(entity: EntitySchema, file: ZonedFile): Promise<FileZones> {
    const present = new Set(file.columns);
    const columns = zonedColumns(entity).filter((c) => present.has(c.name));
    const select = ['count(*)::BIGINT AS n'];
    columns.forEach((c, i) => {
      const [min, max] = ZONED[c.type]!(quoteIdent(c.name));
      const column = quoteIdent(c.name);
      select.push(`${min} AS min${i}`, `${max} AS max${i}`, `count(${column})::BIGINT AS nn${i}`, `typeof(any_value(${column})) AS t${i}`);
    });
    const row = await this.duck.use(async (connection) => {
      const reader = await connection.runAndReadAll(`SELECT ${select.join(', ')} FROM read_parquet(${sqlString(file.localPath)})`);
      return reader.getRowObjects()[0]!;
    });
    const zones = new Map<string, ColumnZone>();
    columns.forEach((c, i) => {
      // Written under another definition with another type: its order may not be this one's.
      if (row[`t${i}`] !== DUCKDB_TYPE_NAMES[c.type]) return;
      const min = bound(row[`min${i}`]);
      const max = bound(row[`max${i}`]);
      const nonNull = Number(row[`nn${i}`] as bigint);
      // NaN sorts above every number in DuckDB and compares false in JS: no zone for such a column.
      if (nonNull > 0 && (min === null || max === null)) return;
      zones.set(c.name, { min: min ?? 0, max: max ?? 0, nonNull });
    });
    return { rows: Number(row.n as bigint), present, columns: zones };
  }
}

function bound(value: DuckDBValue | undefined): Bound | null {
  if (typeof value === 'bigint' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isNaN(value) ? null : value;
  return null;
}

/** A filter value in the form of its column's zone bounds. */
function asBound(type: AttributeType, value: FilterValue): Bound | null {
  switch (type) {
    case 'int':
      return typeof value === 'bigint' ? value : null;
    case 'float':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? (value ? 1 : 0) : null;
    case 'timestamp':
      return value instanceof Date ? BigInt(value.getTime()) * 1000n : null;
    case 'date':
      return typeof value === 'string' ? value : null;
    default:
      return null;
  }
}

/**
 * False only when no row of the file can make `filter` true (SQL's three-valued logic: a
 * comparison with NULL is never true). Anything it cannot judge may match.
 */
export function mayMatch(filter: Filter, zones: FileZones): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.items.every((item) => mayMatch(item, zones));
    case 'or':
      return filter.items.some((item) => mayMatch(item, zones));
    case 'compare':
    case 'in': {
      if (filter.kind === 'in' && filter.negated) return true;
      const { name, type } = filter.column;
      // A column the file was written without reads as NULL in every row: no comparison holds.
      if (!zones.present.has(name)) return false;
      const zone = zones.columns.get(name);
      if (!zone) return true;
      if (zone.nonNull === 0) return false;
      const values = filter.kind === 'in' ? filter.values : [filter.value];
      const op = filter.kind === 'in' ? 'eq' : filter.op;
      return values.some((value) => {
        const v = asBound(type, value);
        if (v === null || typeof v !== typeof zone.min) return true;
        switch (op) {
          case 'eq':
            return zone.min <= v && v <= zone.max;
          case 'neq':
            return !(zone.min === v && zone.max === v);
          case 'gt':
            return zone.max > v;
          case 'gte':
            return zone.max >= v;
          case 'lt':
            return zone.min < v;
          case 'lte':
            return zone.min <= v;
        }
      });
    }
    case 'is_null': {
      if (!zones.present.has(filter.column.name)) return filter.isNull;
      const zone = zones.columns.get(filter.column.name);
      if (!zone) return true;
      return filter.isNull ? zone.nonNull < zones.rows : zone.nonNull > 0;
    }
    default:
      return true;
  }
}
