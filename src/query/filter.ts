// The filter IR: a small typed tree of meanings (compare, regex, json containment, related rows…)
// that the SQL compiler and the test oracle walk; the GraphQL layer binds Hasura's input into it
// (graphql/bind-filter.ts), so no operator names live here. Semantics are SQL's three-valued logic:
// a comparison with a NULL value is unknown, `not` of unknown is unknown, and a row is returned only
// when true. Relationship forms (ref, exists_related) are true or false, never unknown (Hasura).
import type { AttributeType, EntitySchema, JsonValue } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';

/** A column of the lake layout the filter reads: an attribute or a system column. */
export interface ColumnRef {
  name: string;
  type: AttributeType;
}

export type CompareOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte';

export type AggregateFunction = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'bool_and' | 'bool_or';

/** An aggregate over the rows related to the filtered row. */
export interface RelatedAggregate {
  fn: AggregateFunction;
  /** count: the counted columns (none: rows); sum/avg/min/max: one numeric column; bool_and/bool_or: one boolean column. */
  columns: ColumnRef[];
  distinct: boolean;
}

/** The column a related-aggregate predicate reads: the aggregate's value. */
export const AGGREGATE_VALUE = 'value';

export type Filter =
  | { kind: 'and'; items: Filter[] }
  | { kind: 'or'; items: Filter[] }
  | { kind: 'not'; item: Filter }
  | { kind: 'compare'; column: ColumnRef; op: CompareOp; value: FilterValue }
  | { kind: 'in'; column: ColumnRef; values: FilterValue[]; negated: boolean }
  | { kind: 'is_null'; column: ColumnRef; isNull: boolean }
  /** LIKE / ILIKE with `\` as the escape character. */
  | { kind: 'like'; column: ColumnRef; pattern: string; caseInsensitive: boolean }
  /**
   * An RE2 regular expression: found anywhere in the value (`whole` false, Postgres `~`) or matching
   * all of it (`whole` true, what SIMILAR TO patterns are translated into). `.` matches newlines.
   */
  | { kind: 'regex'; column: ColumnRef; pattern: string; caseInsensitive: boolean; whole: boolean }
  /** jsonb containment: the column contains `value` (`@>`), or is contained in it (`<@`). */
  | { kind: 'json_contains'; column: ColumnRef; value: JsonValue; direction: 'contains' | 'contained_in' }
  /** jsonb equality: same structure and values (object keys in any order). */
  | { kind: 'json_equals'; column: ColumnRef; value: JsonValue }
  /** jsonb `?|` / `?&`: top-level object keys (or string elements of a top-level array). */
  | { kind: 'has_key'; column: ColumnRef; keys: string[]; mode: 'any' | 'all' }
  /** The row's ref names a current row of `target` that matches `filter` (`and []`: that exists). */
  | { kind: 'ref'; column: ColumnRef; target: EntitySchema; filter: Filter }
  /** At least one current row of `target` whose ref `via` names this row matches `filter`. */
  | { kind: 'exists_related'; target: EntitySchema; via: ColumnRef; filter: Filter }
  /**
   * `predicate` (over the column AGGREGATE_VALUE) holds for the aggregate of the current rows of
   * `target` whose ref `via` names this row and that match `filter`; over no rows count is 0 and the
   * others NULL, as a correlated subquery in Postgres gives.
   */
  | { kind: 'related_aggregate'; target: EntitySchema; via: ColumnRef; filter: Filter; aggregate: RelatedAggregate; predicate: Filter };

/** Values as the compilers bind them: bigint for int, Date for timestamp, strings for date/uuid. */
export type FilterValue = string | number | bigint | boolean | Date;

export const MAX_IN_VALUES = 10_000;

export const TRUE: Filter = { kind: 'and', items: [] };
export const FALSE: Filter = { kind: 'or', items: [] };

/** An AND of `items`, flattened to the item when there is one. */
export function allOf(items: Filter[]): Filter {
  return items.length === 1 ? items[0]! : { kind: 'and', items };
}

export function isTrue(filter: Filter): boolean {
  return filter.kind === 'and' && filter.items.length === 0;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
// The lake's range, as the write side limits values (years 0001-9999, UTC): a filter value beyond
// it could match nothing stored, and DuckDB or JS would read year 0 / 5-digit years differently.
const TIMESTAMP_MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const TIMESTAMP_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');
const TIMESTAMP_RANGE = '0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z';
const DATE_MIN = '0001-01-01';
const DATE_RANGE = '0001-01-01..9999-12-31';

/** System columns every entity's rows have. */
export const SYSTEM_COLUMNS: Record<string, ColumnRef> = {
  row_id: { name: 'row_id', type: 'ref' },
  time_slot: { name: 'time_slot', type: 'int' },
};

/** Escapes LIKE's wildcards and the escape character itself in user text. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function isCalendarDay(text: string): boolean {
  const ms = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === text;
}

/**
 * A filter value of a column of `type` as the compilers bind it; a ValidationError naming `at` when
 * it is not one (wrong type, out of the lake's range, not a listed enum value).
 */
export function coerceFilterValue(type: AttributeType, value: unknown, at: string, enumValues?: readonly string[]): FilterValue {
  const fail = (expected: string) => new ValidationError(`${at}: expected ${expected}, got ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  switch (type) {
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
      if (typeof value === 'bigint') return Number(value);
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
      throw fail('no plain value (json values are compared as JSON)');
    default: {
      const unknown: never = type;
      throw new Error(`no filter values for type ${String(unknown)}`);
    }
  }
}

/** The entities a filter reads through relations (besides the one it filters). */
export function referencedEntities(filter: Filter | null): EntitySchema[] {
  if (!filter) return [];
  switch (filter.kind) {
    case 'and':
    case 'or':
      return filter.items.flatMap(referencedEntities);
    case 'not':
      return referencedEntities(filter.item);
    case 'ref':
    case 'exists_related':
    case 'related_aggregate':
      return [filter.target, ...referencedEntities(filter.filter)];
    default:
      return [];
  }
}

/**
 * The row_ids a filter can match at most, when it pins row_id with eq or in at its top level
 * (alone or in an and); null when it does not. Lets the planner skip files by their row_id range.
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
