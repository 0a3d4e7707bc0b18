// An aggregate question as a pure plan: which rows (entity, filter, optional batch of parents),
// which figures, which groups (own or referenced fields, time buckets in a zone), which groups to
// keep (HAVING), in what order and how many. compile-aggregate.ts turns it into one statement.
import { TYPE_MAPPING, type Attribute, type AttributeType, type EntitySchema, type TimeBucket } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import { coerceFilterValue, type Filter, type FilterValue } from './filter.js';
import type { RowFilters } from './plan.js';

/** Aggregates of one attribute, by Hasura's names (`count` of rows is apart: it takes no attribute). */
export const AGGREGATE_FUNCTIONS = ['sum', 'avg', 'min', 'max', 'count_distinct', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** Spread of numeric values, a Float whatever the attribute; `stddev`/`variance` are the sample ones (Postgres). */
export const SPREAD_FUNCTIONS = ['stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp'] as const satisfies readonly AggregateFunction[];

/** What a selection asks for: the row count, and per function the attributes. */
export interface AggregateRequest {
  count: boolean;
  fields: Partial<Record<AggregateFunction, readonly string[]>>;
}

/** One figure of a group: the row count, or a function of an attribute. */
export type Measure = { fn: 'count' } | { fn: AggregateFunction; attribute: Attribute };

export interface GroupKey {
  /** Name of the key in results: `<attribute>`, `<attribute>_<bucket>`, `<ref>__<key>`. */
  name: string;
  /** The attribute grouped by (of `through.target` when given). */
  attribute: Attribute;
  bucket?: TimeBucket;
  /** A referenced row's field: the ref of the entity and its target; a row not live gives NULL. */
  through?: { ref: Attribute; target: EntitySchema };
}

export type HavingOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte';

/** A condition on a group's figures (SQL's three-valued logic: a NULL figure compared is unknown). */
export type Having =
  | { kind: 'and'; items: Having[] }
  | { kind: 'or'; items: Having[] }
  | { kind: 'not'; item: Having }
  | { kind: 'compare'; measure: Measure; op: HavingOp; value: FilterValue }
  | { kind: 'is_null'; measure: Measure; isNull: boolean };

export interface GroupOrder {
  by: { key: GroupKey } | { measure: Measure };
  direction: 'asc' | 'desc';
  nulls: 'first' | 'last';
}

export interface AggregatePlan {
  entity: EntitySchema;
  filter: Filter | null;
  /**
   * A role's row filter per entity name (request-search.ts sets them), applied to every read of
   * that entity in the statement (the aggregated rows, referenced rows of group keys and of ref
   * filters), through duckdb-sql.ts `rowFilteredView`.
   */
  rowFilters?: RowFilters;
  /** Every figure the statement computes: those asked for, and those HAVING and the order read. */
  measures: Measure[];
  groupBy: GroupKey[];
  having: Having | null;
  /** Order of groups before the keys (which always follow, ascending, NULLs last: a total order). */
  orderBy: GroupOrder[];
  /** At most this many groups (the user's limit or the request's row budget); null: all. */
  limit: number | null;
  offset: number;
  /** IANA zone of time buckets of timestamps; null is UTC (the fast path). Dates have no zone. */
  timeZone: string | null;
  /** A batch of parents: the figures per parent row_id of ref `via` (nested `<rel>_aggregate`). */
  parents: { via: Attribute; ids: readonly string[] } | null;
}

export function measureName(measure: Measure): string {
  return measure.fn === 'count' ? 'count' : `${measure.fn}__${measure.attribute.name}`;
}

/** The value type of a figure: how HAVING binds a value to compare with it. */
export function measureType(measure: Measure): AttributeType {
  switch (measure.fn) {
    case 'count':
    case 'count_distinct':
      return 'int';
    case 'sum':
    case 'min':
    case 'max':
      return measure.attribute.type;
    default:
      return 'float';
  }
}

/** The attributes of `entity` a function applies to (what its `<entity>_<fn>_fields` lists). */
export function attributesFor(entity: EntitySchema, fn: AggregateFunction): Attribute[] {
  if (fn === 'min' || fn === 'max') return entity.attributes.filter((a) => TYPE_MAPPING[a.type].ordered && a.type !== 'enum');
  if (fn === 'count_distinct') return entity.attributes.filter((a) => a.type !== 'json');
  return entity.attributes.filter((a) => TYPE_MAPPING[a.type].numeric);
}

function havingMeasures(having: Having | null): Measure[] {
  if (!having) return [];
  switch (having.kind) {
    case 'and':
    case 'or':
      return having.items.flatMap(havingMeasures);
    case 'not':
      return havingMeasures(having.item);
    default:
      return [having.measure];
  }
}

/** The measures of a request, then those HAVING and the order need, each once. */
export function planMeasures(entity: EntitySchema, request: AggregateRequest, having: Having | null = null, orderBy: readonly GroupOrder[] = []): Measure[] {
  const asked: Measure[] = request.count ? [{ fn: 'count' }] : [];
  for (const fn of AGGREGATE_FUNCTIONS) {
    for (const name of request.fields[fn] ?? []) {
      const attribute = attributesFor(entity, fn).find((a) => a.name === name);
      if (!attribute) throw new ValidationError(`${fn}.${name}: ${entity.name} has no field "${name}" to take the ${fn} of`);
      asked.push({ fn, attribute });
    }
  }
  const all = [...asked, ...havingMeasures(having), ...orderBy.flatMap((o) => ('measure' in o.by ? [o.by.measure] : []))];
  const seen = new Set<string>();
  return all.filter((m) => !seen.has(measureName(m)) && seen.add(measureName(m)));
}

export interface AggregateQuestion {
  entity: EntitySchema;
  filter: Filter | null;
  request: AggregateRequest;
  groupBy?: GroupKey[];
  having?: Having | null;
  orderBy?: GroupOrder[];
  limit?: number | null;
  offset?: number;
  timeZone?: string | null;
  parents?: AggregatePlan['parents'];
}

/** The plan of a question (the measures it computes collected from request, HAVING and order). */
export function planAggregate(q: AggregateQuestion): AggregatePlan {
  const having = q.having ?? null;
  const orderBy = q.orderBy ?? [];
  return {
    entity: q.entity,
    filter: q.filter,
    measures: planMeasures(q.entity, q.request, having, orderBy),
    groupBy: q.groupBy ?? [],
    having,
    orderBy,
    limit: q.limit ?? null,
    offset: q.offset ?? 0,
    timeZone: q.timeZone ?? null,
    parents: q.parents ?? null,
  };
}

const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'Etc/Universal', 'Etc/Zulu', 'Universal', 'Zulu', 'Etc/UCT', 'UCT']);

/**
 * A `time_zone` argument -> the zone's canonical IANA name, or null for UTC (whose buckets keep the
 * fast path). Checked with ICU through Intl (DuckDB's ICU knows the same zones; an unknown one
 * would fail there as an internal error, not name the argument).
 */
export function parseTimeZone(value: string | null | undefined, at = 'time_zone'): string | null {
  if (value === null || value === undefined) return null;
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    throw new ValidationError(`${at}: ${JSON.stringify(value)} is not an IANA time zone; expected a name such as "Europe/Berlin", "America/New_York" or "UTC"`);
  }
  return UTC_NAMES.has(canonical) ? null : canonical;
}

/** Figures a HAVING compares: counts and sums (int, float), min/max of dates, timestamps and strings. */
const HAVING_TYPES: readonly AttributeType[] = ['int', 'float', 'timestamp', 'date', 'string'];

/** A HAVING value (as GraphQL parsed it) as the filter value a figure of `type` compares with. */
export function havingValue(type: AttributeType, value: unknown, at: string): FilterValue {
  if (!HAVING_TYPES.includes(type)) throw new ValidationError(`${at}: no value (no figure of a ${type} is compared)`);
  return coerceFilterValue(type, value, at);
}
