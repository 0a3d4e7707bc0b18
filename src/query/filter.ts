// The filter IR: a Hasura-style `where` (as GraphQL hands it over) -> a small typed tree that the
// SQL compilers and the test oracle walk. Semantics are SQL's three-valued logic: a comparison with
// a NULL value is unknown, `_not` of unknown is unknown, and a row is returned only when true.
import { TYPE_MAPPING, type Attribute, type AttributeType, type Catalog, type EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';

/** A column of the lake layout the filter reads: an attribute or a system column. */
export interface ColumnRef {
  name: string;
  type: AttributeType;
}

export type CompareOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte';

export type Filter =
  | { kind: 'and'; items: Filter[] }
  | { kind: 'or'; items: Filter[] }
  | { kind: 'not'; item: Filter }
  | { kind: 'compare'; column: ColumnRef; op: CompareOp; value: FilterValue }
  | { kind: 'in'; column: ColumnRef; values: FilterValue[]; negated: boolean }
  | { kind: 'is_null'; column: ColumnRef; isNull: boolean }
  /** LIKE / ILIKE with `\` as the escape character (`_contains` and `_starts_with` are escaped into this). */
  | { kind: 'like'; column: ColumnRef; pattern: string; caseInsensitive: boolean }
  /** The row's ref names a current row of `target` that matches `filter`. */
  | { kind: 'ref'; column: ColumnRef; target: EntitySchema; filter: Filter };

/** Values as the compilers bind them: bigint for int, Date for timestamp, strings for date/uuid. */
export type FilterValue = string | number | bigint | boolean | Date;

export const MAX_IN_VALUES = 10_000;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
// The lake's range, as the write side limits values (years 0001-9999, UTC): a filter value beyond
// it could match nothing stored, and DuckDB or JS would read year 0 / 5-digit years differently.
const TIMESTAMP_MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const TIMESTAMP_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');
const TIMESTAMP_RANGE = '0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z';
const DATE_MIN = '0001-01-01';
const DATE_RANGE = '0001-01-01..9999-12-31';

const COMPARE_OPS: Record<string, CompareOp> = { _eq: 'eq', _neq: 'neq', _gt: 'gt', _gte: 'gte', _lt: 'lt', _lte: 'lte' };
const TEXT_OPS = ['_like', '_ilike', '_contains', '_starts_with'] as const;

/** Which operators a column type takes: every type equality and null tests, ordered types ranges. */
export function operatorsOf(type: AttributeType): string[] {
  if (type === 'json') return ['_is_null'];
  const base = ['_eq', '_neq', '_in', '_nin', '_is_null'];
  if (type === 'boolean') return ['_eq', '_neq', '_is_null'];
  const ordered = TYPE_MAPPING[type].ordered && type !== 'enum' ? ['_gt', '_gte', '_lt', '_lte'] : [];
  const text = type === 'string' ? [...TEXT_OPS] : [];
  return [...base, ...ordered, ...text];
}

/** System columns every entity's rows have. */
export const SYSTEM_COLUMNS: Record<string, ColumnRef> = {
  row_id: { name: 'row_id', type: 'ref' },
  time_slot: { name: 'time_slot', type: 'int' },
};

/** Escapes LIKE's wildcards and the escape character itself in user text. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function isCalendarDay(text: string): boolean {
  const ms = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === text;
}

function coerceValue(column: ColumnRef, value: unknown, at: string, enumValues?: readonly string[]): FilterValue {
  const fail = (expected: string) => new ValidationError(`${at}: expected ${expected}, got ${JSON.stringify(value)}`);
  switch (column.type) {
    case 'int': {
      const n =
        typeof value === 'bigint' ? value
        : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value)
        : typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value)
        : null;
      if (n !== null && n >= INT64_MIN && n <= INT64_MAX) return n;
      throw fail('a 64-bit integer');
    }
    case 'float':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      throw fail('a number');
    case 'boolean':
      if (typeof value === 'boolean') return value;
      throw fail('true or false');
    case 'timestamp': {
      const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : null;
      if (!date || Number.isNaN(date.getTime())) throw fail('an ISO-8601 date-time');
      if (date.getTime() < TIMESTAMP_MIN_MS || date.getTime() > TIMESTAMP_MAX_MS) {
        throw new ValidationError(`${at}: ${date.toISOString()} is outside the range of timestamps, ${TIMESTAMP_RANGE}`);
      }
      return date;
    }
    case 'date': {
      // graphql-scalars' Date arrives as a Date at UTC midnight.
      const text = value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString().slice(0, 10) : value;
      if (typeof text !== 'string' || !/^[-+]?\d{4,6}-\d{2}-\d{2}$/.test(text)) throw fail('a date YYYY-MM-DD');
      if (!/^\d{4}-/.test(text) || text < DATE_MIN) throw new ValidationError(`${at}: ${text} is outside the range of dates, ${DATE_RANGE}`);
      if (!isCalendarDay(text)) throw fail('a day of the calendar, YYYY-MM-DD');
      return text;
    }
    case 'ref':
      if (typeof value === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return value.toLowerCase();
      throw fail('a UUID');
    case 'enum':
      if (typeof value === 'string' && enumValues?.includes(value)) return value;
      throw fail(`one of ${enumValues?.join(', ')}`);
    case 'string':
      if (typeof value === 'string') return value;
      throw fail('a string');
    case 'json':
      throw fail('no value (json attributes take only _is_null)');
    default: {
      const unknown: never = column.type;
      throw new Error(`no filter values for type ${String(unknown)}`);
    }
  }
}

function parseComparison(column: ColumnRef, spec: unknown, at: string, attribute?: Attribute): Filter {
  if (!isPlainObject(spec)) throw new ValidationError(`${at}: expected an object of operators such as {_eq: …}`);
  const allowed = operatorsOf(column.type);
  const items: Filter[] = [];
  for (const [op, value] of Object.entries(spec)) {
    const path = `${at}.${op}`;
    if (!allowed.includes(op)) throw new ValidationError(`${path}: unknown operator for ${column.type}; expected one of ${allowed.join(', ')}`);
    if (value === undefined) continue;
    if (op === '_is_null') {
      if (typeof value !== 'boolean') throw new ValidationError(`${path}: expected true or false`);
      items.push({ kind: 'is_null', column, isNull: value });
    } else if (op === '_in' || op === '_nin') {
      if (!Array.isArray(value)) throw new ValidationError(`${path}: expected a list`);
      if (value.length > MAX_IN_VALUES) throw new ValidationError(`${path}: ${value.length} values; at most ${MAX_IN_VALUES} are allowed`);
      const values = value.map((v, i) => coerceValue(column, v, `${path}[${i}]`, attribute?.values));
      items.push({ kind: 'in', column, values, negated: op === '_nin' });
    } else if ((TEXT_OPS as readonly string[]).includes(op)) {
      if (typeof value !== 'string') throw new ValidationError(`${path}: expected a string`);
      const pattern = op === '_contains' ? `%${escapeLike(value)}%` : op === '_starts_with' ? `${escapeLike(value)}%` : value;
      items.push({ kind: 'like', column, pattern, caseInsensitive: op === '_ilike' });
    } else {
      if (value === null) throw new ValidationError(`${path}: null is not a value to compare with; use _is_null`);
      items.push({ kind: 'compare', column, op: COMPARE_OPS[op]!, value: coerceValue(column, value, path, attribute?.values) });
    }
  }
  return items.length === 1 ? items[0]! : { kind: 'and', items };
}

/**
 * Parses a `where` of `entity`. Unknown fields and operators, wrong value types and oversized
 * lists are ValidationErrors naming the path. `{}` and null mean no filter (null).
 */
export function parseWhere(catalog: Catalog, entity: EntitySchema, where: unknown, at = 'where'): Filter | null {
  if (where === null || where === undefined) return null;
  if (!isPlainObject(where)) throw new ValidationError(`${at}: expected an object`);
  const items: Filter[] = [];
  for (const [key, value] of Object.entries(where)) {
    const path = `${at}.${key}`;
    if (value === undefined) continue;
    if (key === '_and' || key === '_or') {
      if (!Array.isArray(value)) throw new ValidationError(`${path}: expected a list of conditions`);
      const parts = value.map((v, i) => parseWhere(catalog, entity, v, `${path}[${i}]`) ?? ({ kind: 'and', items: [] } as Filter));
      items.push({ kind: key === '_and' ? 'and' : 'or', items: parts });
    } else if (key === '_not') {
      const inner = parseWhere(catalog, entity, value, path);
      if (inner) items.push({ kind: 'not', item: inner });
    } else if (key in SYSTEM_COLUMNS) {
      items.push(parseComparison(SYSTEM_COLUMNS[key]!, value, path));
    } else {
      const attribute = entity.attributes.find((a) => a.name === key);
      if (!attribute) throw new ValidationError(`${path}: ${entity.name} has no field "${key}"`);
      const column: ColumnRef = { name: attribute.name, type: attribute.type };
      if (attribute.type !== 'ref') {
        items.push(parseComparison(column, value, path, attribute));
        continue;
      }
      const target = catalog.entity(attribute.refEntity!);
      if (!isPlainObject(value)) throw new ValidationError(`${path}: expected a ${target.name} condition`);
      // Hasura's meaning, also when only the referenced row_id is filtered: the referenced row
      // exists (is live) and matches. `{row_id: {_is_null: true}}` so matches nothing; the compiler
      // turns pinned row_ids into a comparison on the ref column, so the form stays fast.
      const nested = parseWhere(catalog, target, value, path);
      if (nested) items.push({ kind: 'ref', column, target, filter: nested });
    }
  }
  if (items.length === 0) return null;
  return items.length === 1 ? items[0]! : { kind: 'and', items };
}

/** The entities a filter reads through refs (besides the one it filters). */
export function referencedEntities(filter: Filter | null): EntitySchema[] {
  if (!filter) return [];
  switch (filter.kind) {
    case 'and':
    case 'or':
      return filter.items.flatMap(referencedEntities);
    case 'not':
      return referencedEntities(filter.item);
    case 'ref':
      return [filter.target, ...referencedEntities(filter.filter)];
    default:
      return [];
  }
}

/**
 * The row_ids a filter can match at most, when it pins row_id with _eq or _in at its top level
 * (alone or in an _and); null when it does not. Lets the planner skip files by their row_id range.
 */
export function rowIdCandidates(filter: Filter | null): string[] | null {
  if (!filter) return null;
  if (filter.kind === 'compare' && filter.column.name === 'row_id' && filter.op === 'eq') return [filter.value as string];
  if (filter.kind === 'in' && filter.column.name === 'row_id' && !filter.negated) return filter.values as string[];
  if (filter.kind === 'and') {
    for (const item of filter.items) {
      const ids = rowIdCandidates(item);
      if (ids) return ids;
    }
  }
  return null;
}
