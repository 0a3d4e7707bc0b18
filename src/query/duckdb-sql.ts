// Filter IR -> a DuckDB boolean expression over a relation with the lake's columns. Values are
// bound parameters typed with their column's DuckDB type; identifiers come from the catalog, quoted.
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  DuckDBDateValue,
  DuckDBTimestampTZValue,
  DuckDBUUIDValue,
  LIST,
  TIMESTAMPTZ,
  UUID,
  VARCHAR,
  listValue,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { TYPE_MAPPING, quoteIdent, uuidToBigInt, type AttributeType, type EntitySchema } from '../catalog/index.js';
import type { ViewOf } from './engine.js';
import { AGGREGATE_VALUE, allOf, rowIdCandidates, type ColumnRef, type CompareOp, type Filter, type FilterValue, type RelatedAggregate } from './filter.js';
import { hasKeySql, jsonContainsSql, jsonEqualsSql } from './json-sql.js';
import type { RowFilters } from './plan.js';

/** DuckDB's function of each figure (Hasura's stddev and variance are the sample ones, as in Postgres). */
export const SQL_AGGREGATE_FUNCTIONS = {
  sum: 'sum',
  avg: 'avg',
  min: 'min',
  max: 'max',
  stddev: 'stddev_samp',
  stddev_pop: 'stddev_pop',
  stddev_samp: 'stddev_samp',
  variance: 'var_samp',
  var_pop: 'var_pop',
  var_samp: 'var_samp',
} as const;

/**
 * `view` with each entity's row filter (a role's select filter) ANDed wherever a statement reads
 * that entity: the one place both compilers put it. With the caller's `filter` too, the view may
 * skip files. Refs inside a row filter read rows as they are, not as the role sees them (Hasura's
 * rule for a permission's relationships); this also keeps a self-referencing filter from recursing.
 */
export function rowFilteredView(view: ViewOf, rowFilters: RowFilters | undefined, params: Params): ViewOf {
  return (entity, rowIds, filter) => {
    const rowFilter = rowFilters?.get(entity.name);
    if (!rowFilter) return view(entity, rowIds, filter);
    const alias = params.nextAlias();
    const kept = filter ? allOf([filter, rowFilter]) : rowFilter;
    return `(SELECT * FROM ${view(entity, rowIds, kept)} AS ${alias} WHERE ${compileFilter(rowFilter, { params, alias, refRelation: view })})`;
  };
}

const SQL_OPS: Record<CompareOp, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };

const MS_PER_DAY = 86_400_000;

/**
 * The DuckDB type a value of an attribute type binds as. Without it, @duckdb/node-api infers the
 * type from the JS value (a list from its first element): `[1, 1.5]` bound as integers and failed,
 * `1e19` as a BIGINT out of range.
 */
export function duckDbTypeOf(type: AttributeType): DuckDBType {
  switch (type) {
    case 'string':
    case 'enum':
    case 'json':
      return VARCHAR;
    case 'int':
      return BIGINT;
    case 'float':
      return DOUBLE;
    case 'boolean':
      return BOOLEAN;
    case 'timestamp':
      return TIMESTAMPTZ;
    case 'date':
      return DATE;
    case 'ref':
      return UUID;
    default: {
      const unknown: never = type;
      throw new Error(`no DuckDB type for ${String(unknown)}`);
    }
  }
}

/** A bound filter value (see FilterValue) as the DuckDB value of its column's type. */
function duckDbValueOf(type: AttributeType, value: FilterValue): DuckDBValue {
  const wrong = () => new Error(`a ${type} column cannot bind ${typeof value} ${String(value)}`);
  switch (type) {
    case 'string':
    case 'enum':
    case 'json':
      if (typeof value === 'string') return value;
      throw wrong();
    case 'int':
      if (typeof value === 'bigint') return value;
      throw wrong();
    case 'float':
      if (typeof value === 'number') return value;
      throw wrong();
    case 'boolean':
      if (typeof value === 'boolean') return value;
      throw wrong();
    case 'timestamp':
      // Exact to the millisecond, as JS Dates are; micros since the epoch, UTC.
      if (value instanceof Date) return new DuckDBTimestampTZValue(BigInt(value.getTime()) * 1000n);
      throw wrong();
    case 'date':
      // `YYYY-MM-DD` parsed as ISO (Date.UTC would read years 0-99 as 1900-1999).
      if (typeof value === 'string') return new DuckDBDateValue(Date.parse(`${value}T00:00:00Z`) / MS_PER_DAY);
      throw wrong();
    case 'ref':
      if (typeof value === 'string') return DuckDBUUIDValue.fromUint128(uuidToBigInt(value));
      throw wrong();
    default: {
      const unknown: never = type;
      throw new Error(`no DuckDB value for ${String(unknown)}`);
    }
  }
}

/** Collects bound parameters and their types; `$n` placeholders are numbered in the order values are added. */
export class Params {
  readonly values: DuckDBValue[] = [];
  readonly types: DuckDBType[] = [];
  private aliases = 0;

  /** A table alias unique within the statement (for nested subqueries). */
  nextAlias(): string {
    return `r${++this.aliases}`;
  }

  private push(value: DuckDBValue, type: DuckDBType): string {
    this.values.push(value);
    this.types.push(type);
    return `$${this.values.length}`;
  }

  /** A value of a column of `type`. */
  add(type: AttributeType, value: FilterValue): string {
    return this.push(duckDbValueOf(type, value), duckDbTypeOf(type));
  }

  /** A list of values of a column of `type`. */
  addList(type: AttributeType, values: readonly FilterValue[]): string {
    return this.push(listValue(values.map((v) => duckDbValueOf(type, v))), LIST(duckDbTypeOf(type)));
  }

  /**
   * A row count (LIMIT, OFFSET, row numbers), written as a literal: it is an integer the plan
   * computed and checked, never text, and a statement left without parameters is run without
   * DuckDB's second planning of a prepared one (engine.ts): 2 ms of a 35 ms group-by of 1M rows
   * whose only parameter was its LIMIT.
   */
  addCount(n: number): string {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`a row count must be a non-negative integer, not ${n}`);
    return String(n);
  }
}

export interface CompileContext {
  params: Params;
  /** Table alias of the filtered relation. */
  alias: string;
  /** The current-rows relation of a referenced entity (for filters through refs), of `rowIds` only when given. */
  refRelation(target: EntitySchema, rowIds?: readonly string[] | null): string;
  /** The SQL of the AGGREGATE_VALUE column, while compiling a related-aggregate predicate. */
  aggregateValue?: string;
  /**
   * Relations of the parents some of the filter's reverse relations name (`exists_related` nodes,
   * and `related_aggregate` nodes of a count of rows, by identity) for the statement's snapshot:
   * `parent`, and `value` the count of its matching related rows (never 0). Kept by aggregate-cache.ts.
   */
  keptParents?: ReadonlyMap<Filter, string>;
}

function columnSql(ctx: CompileContext, column: ColumnRef): string {
  if (column.name === AGGREGATE_VALUE && ctx.aggregateValue !== undefined) return ctx.aggregateValue;
  return `${ctx.alias}.${quoteIdent(column.name)}`;
}

function castOf(column: ColumnRef): string {
  return TYPE_MAPPING[column.type].duckdb;
}

function aggregateSql(alias: string, aggregate: RelatedAggregate): string {
  const distinct = aggregate.distinct ? 'DISTINCT ' : '';
  const columns = aggregate.columns.map((c) => `${alias}.${quoteIdent(c.name)}`);
  if (aggregate.fn !== 'count') return `${aggregate.fn}(${distinct}${columns[0]})`;
  if (columns.length === 0) return aggregate.distinct ? `count(DISTINCT ${alias}.row_id)` : 'count(*)';
  // Several columns count rows (distinct: distinct tuples), as Postgres counts ROW(…) values.
  return `count(${distinct}${columns.length === 1 ? columns[0] : `row(${columns.join(', ')})`})`;
}

/**
 * Filters through reverse relations and their aggregates, as uncorrelated semi-joins on the
 * parent's row_id (see the ref case for why IN beats EXISTS in DuckDB): the referencing rows of
 * `target` that match `filter`, their `via` values (never NULL), grouped when `having` is given.
 */
function relatedParents(ctx: CompileContext, target: EntitySchema, via: ColumnRef, filter: Filter, having?: (alias: string) => string): string {
  const inner = ctx.params.nextAlias();
  const nested = compileFilter(filter, { ...ctx, alias: inner, aggregateValue: undefined });
  const parent = `${inner}.${quoteIdent(via.name)}`;
  const group = having ? ` GROUP BY ${parent} HAVING ${having(inner)}` : '';
  return `${ctx.alias}.row_id IN (SELECT ${parent} FROM ${ctx.refRelation(target)} AS ${inner} WHERE ${parent} IS NOT NULL AND ${nested}${group})`;
}

/** A related-aggregate predicate (comparisons of AGGREGATE_VALUE) of a constant, in three-valued logic. */
export function predicateOfConstant(filter: Filter, value: number | null): boolean | null {
  const and = (items: (boolean | null)[]) => (items.includes(false) ? false : items.includes(null) ? null : true);
  const or = (items: (boolean | null)[]) => (items.includes(true) ? true : items.includes(null) ? null : false);
  switch (filter.kind) {
    case 'and':
      return and(filter.items.map((f) => predicateOfConstant(f, value)));
    case 'or':
      return or(filter.items.map((f) => predicateOfConstant(f, value)));
    case 'not': {
      const inner = predicateOfConstant(filter.item, value);
      return inner === null ? null : !inner;
    }
    case 'is_null':
      return (value === null) === filter.isNull;
    case 'in': {
      if (filter.values.length === 0) return filter.negated;
      if (value === null) return null;
      const found = filter.values.some((v) => Number(v) === value);
      return filter.negated ? !found : found;
    }
    case 'compare': {
      if (value === null) return null;
      const other = Number(filter.value);
      const ops: Record<CompareOp, boolean> = { eq: value === other, neq: value !== other, gt: value > other, gte: value >= other, lt: value < other, lte: value <= other };
      return ops[filter.op];
    }
    default:
      throw new Error(`no constant answer for a ${filter.kind} predicate`);
  }
}

export function compileFilter(filter: Filter, ctx: CompileContext): string {
  switch (filter.kind) {
    case 'and':
      return filter.items.length === 0 ? 'true' : `(${filter.items.map((f) => compileFilter(f, ctx)).join(' AND ')})`;
    case 'or':
      return filter.items.length === 0 ? 'false' : `(${filter.items.map((f) => compileFilter(f, ctx)).join(' OR ')})`;
    case 'not':
      return `(NOT ${compileFilter(filter.item, ctx)})`;
    case 'compare':
      return `(${columnSql(ctx, filter.column)} ${SQL_OPS[filter.op]} ${ctx.params.add(filter.column.type, filter.value)}::${castOf(filter.column)})`;
    case 'in': {
      // As in Postgres: nothing is in an empty list, so `_nin: []` holds for every row, NULLs too.
      if (filter.values.length === 0) return filter.negated ? 'true' : 'false';
      const test = `${columnSql(ctx, filter.column)} = ANY(${ctx.params.addList(filter.column.type, filter.values)}::${castOf(filter.column)}[])`;
      return filter.negated ? `(NOT (${test}))` : `(${test})`;
    }
    case 'is_null':
      return `(${columnSql(ctx, filter.column)} IS ${filter.isNull ? '' : 'NOT '}NULL)`;
    case 'like':
      return `(${columnSql(ctx, filter.column)} ${filter.caseInsensitive ? 'ILIKE' : 'LIKE'} ${ctx.params.add('string', filter.pattern)} ESCAPE '\\')`;
    case 'regex': {
      // RE2 options: s = `.` matches newlines (as in Postgres' default ARE), i = ignore case.
      const options = filter.caseInsensitive ? 'si' : 's';
      const fn = filter.whole ? 'regexp_full_match' : 'regexp_matches';
      return `${fn}(${columnSql(ctx, filter.column)}, ${ctx.params.add('string', filter.pattern)}, '${options}')`;
    }
    case 'json_contains':
      return jsonContainsSql(ctx.params, columnSql(ctx, filter.column), filter.value, filter.direction);
    case 'json_equals':
      return jsonEqualsSql(ctx.params, columnSql(ctx, filter.column), filter.value);
    case 'has_key':
      return hasKeySql(ctx.params, columnSql(ctx, filter.column), filter.keys, filter.mode);
    case 'ref': {
      const inner = ctx.params.nextAlias();
      const nested = compileFilter(filter.filter, { ...ctx, alias: inner, aggregateValue: undefined });
      const ref = columnSql(ctx, filter.column);
      // When the nested filter pins the referenced row_ids, the ref must be one of them: said on
      // the ref column too, it is pushed into this entity's scan, and the referenced view reads
      // only those rows' files. The IN still requires that row to be live and to match.
      const ids = rowIdCandidates(filter.filter);
      const pinned = ids ? ` AND ${ref} = ANY(${ctx.params.addList('ref', ids)}::UUID[])` : '';
      // A relationship filter is true or false, never unknown (Hasura), also for a NULL ref under
      // _not: the IS NOT NULL makes it so, since the row_ids of the subquery are never NULL.
      // Uncorrelated IN, not EXISTS: DuckDB decorrelates EXISTS with a delim join that buffered the
      // whole outer view (1M orders: 131 ms against 69 ms as a hash semi-join).
      return `(${ref} IS NOT NULL${pinned} AND ${ref} IN (SELECT ${inner}.row_id FROM ${ctx.refRelation(filter.target, ids)} AS ${inner} WHERE ${nested}))`;
    }
    case 'exists_related': {
      // The filtered row_id is never NULL and the subquery's values never are: true or false.
      const kept = ctx.keptParents?.get(filter);
      return kept ? `(${ctx.alias}.row_id IN (SELECT parent FROM ${kept}))` : `(${relatedParents(ctx, filter.target, filter.via, filter.filter)})`;
    }
    case 'related_aggregate': {
      const { target, via, aggregate } = filter;
      const predicate = (value: string) => compileFilter(filter.predicate, { ...ctx, aggregateValue: value });
      // A parent whose aggregate the predicate neither holds nor fails for has no related rows, or
      // (sum/avg/min/max) only NULLs: its aggregate is count's 0 or NULL, so the answer is the
      // predicate of that constant, known here. Then one semi-join answers the common cases.
      const otherwise = predicateOfConstant(filter.predicate, aggregate.fn === 'count' ? 0 : null);
      // A count kept per parent (kept-parents.ts) has a row for each parent with related rows.
      const kept = ctx.keptParents?.get(filter);
      const parentsWhere = (condition: (value: string) => string) => {
        if (!kept) return relatedParents(ctx, target, via, filter.filter, (a) => condition(aggregateSql(a, aggregate)));
        const k = ctx.params.nextAlias();
        return `${ctx.alias}.row_id IN (SELECT ${k}.parent FROM ${kept} AS ${k} WHERE ${condition(`${k}.value`)})`;
      };
      const holds = () => parentsWhere(predicate);
      const fails = () => parentsWhere((value) => `NOT ${predicate(value)}`);
      if (otherwise === false) return `(${holds()})`;
      if (otherwise === true) return `(NOT ${fails()})`;
      return `(CASE WHEN ${holds()} THEN true WHEN ${fails()} THEN false ELSE CAST(NULL AS BOOLEAN) END)`;
    }
    default: {
      const unknown: never = filter;
      throw new Error(`unknown filter ${JSON.stringify(unknown)}`);
    }
  }
}
