// AggregatePlan -> one DuckDB statement {sql, params, types} over the merge-on-read views: keys
// (own fields, referenced rows' fields through LEFT JOINs, time buckets), figures with the
// float-overflow guard, HAVING, group order and top-N. Pure: `view` stands for each entity's rows.
import { quoteIdent, type Attribute, type EntitySchema } from '../catalog/index.js';
import { Params, SQL_AGGREGATE_FUNCTIONS, compileFilter, rowFilteredView } from './duckdb-sql.js';
import type { Statement, ViewOf } from './engine.js';
import { referencedEntities, rowIdCandidates, type CompareOp, type Filter } from './filter.js';
import { rowFilterEntities } from './plan.js';
import { SPREAD_FUNCTIONS, measureName, measureType, type AggregatePlan, type GroupKey, type Having, type Measure } from './aggregate-plan.js';

/** The entities a plan reads (its own, ref filters', group keys' targets, row filters'), for the snapshot. */
export function aggregateEntities(plan: AggregatePlan): EntitySchema[] {
  const entities = [plan.entity, ...referencedEntities(plan.filter), ...plan.groupBy.flatMap((k) => (k.through ? [k.through.target] : []))];
  return [...new Set([...entities, ...rowFilterEntities(plan.rowFilters, entities)])];
}

// 2^-64 and 2^64: scaling by a power of two is exact, and a sum of up to 2^63 scaled doubles
// cannot overflow. Values that the scaling makes subnormal are far below the result's precision.
const SCALE_DOWN = '5.421010862427522e-20::DOUBLE';
const SCALE_UP = '18446744073709551616::DOUBLE';
// 2^-540 and 2^540 for spreads: their running sum of squares overflows from values near 1.3e154
// (DuckDB then fails the statement: "VARPOP is out of range"). Scaled, squares stay below 1e292.
// Only the guarded rerun scales, and it scales every group: there, values below ~1e-145 lose digits.
const SPREAD_DOWN = '2.778448436856347e-163::DOUBLE';
const SPREAD_UP = '3.599131035634557e+162::DOUBLE';


/**
 * A figure's expression. sum/avg of a float: DuckDB's running total becomes Infinity past ±1.8e308
 * even where the result fits; `guarded` then takes it again over values scaled down by 2^64. It is
 * only asked for after such an Infinity (computing both cost +60% on a 1M-row sum/avg). A sum of
 * ints is a HUGEINT, exact. Spreads of floats, guarded, are taken over values scaled by 2^-540.
 */
export function measureSql(measure: Measure, column: (attribute: Attribute) => string, guarded: boolean): string {
  if (measure.fn === 'count') return 'count(*)';
  const col = column(measure.attribute);
  if (measure.fn === 'count_distinct') return `count(DISTINCT ${col})`;
  const fn = SQL_AGGREGATE_FUNCTIONS[measure.fn];
  if (!guarded || measure.attribute.type !== 'float') return `${fn}(${col})`;
  if (measure.fn === 'sum' || measure.fn === 'avg') {
    return `CASE WHEN isfinite(${fn}(${col})) THEN ${fn}(${col}) ELSE ${fn}(${col} * ${SCALE_DOWN}) * ${SCALE_UP} END`;
  }
  if ((SPREAD_FUNCTIONS as readonly string[]).includes(measure.fn)) {
    const scaled = `${fn}(${col} * ${SPREAD_DOWN}) * ${SPREAD_UP}`;
    return fn.startsWith('var') ? `${scaled} * ${SPREAD_UP}` : scaled;
  }
  return `${fn}(${col})`;
}

/**
 * A key's expression. Time buckets in UTC on a plain TIMESTAMP: date_trunc on TIMESTAMPTZ goes
 * through ICU's calendar and cost ~115 ms per 1M rows here, this ~30 ms (bench:search, question b).
 * In another zone: truncate the wall-clock time there, and turn the bucket's start back into an
 * instant (a day across a DST change is 23 or 25 hours). Dates have no zone: truncated as they are.
 */
export function keySql(key: GroupKey, column: string, zone: () => string | null): string {
  if (!key.bucket) return column;
  if (key.attribute.type === 'timestamp') {
    const timeZone = zone();
    if (timeZone === null) return `date_trunc('${key.bucket}', make_timestamp(epoch_us(${column})))`;
    return `timezone(${timeZone}, date_trunc('${key.bucket}', timezone(${timeZone}, ${column})))`;
  }
  return `date_trunc('${key.bucket}', ${column})`;
}

const SQL_OPS: Record<CompareOp, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };

function havingSql(having: Having, params: Params, alias: string): string {
  switch (having.kind) {
    case 'and':
      return having.items.length === 0 ? 'true' : `(${having.items.map((h) => havingSql(h, params, alias)).join(' AND ')})`;
    case 'or':
      return having.items.length === 0 ? 'false' : `(${having.items.map((h) => havingSql(h, params, alias)).join(' OR ')})`;
    case 'not':
      return `(NOT ${havingSql(having.item, params, alias)})`;
    case 'compare':
      return `(${alias}.${quoteIdent(measureName(having.measure))} ${SQL_OPS[having.op]} ${params.add(measureType(having.measure), having.value)})`;
    case 'is_null':
      return `(${alias}.${quoteIdent(measureName(having.measure))} IS ${having.isNull ? '' : 'NOT '}NULL)`;
    default: {
      const unknown: never = having;
      throw new Error(`unknown having ${JSON.stringify(unknown)}`);
    }
  }
}

export const keyColumn = (key: GroupKey) => `key__${key.name}`;
export const PARENT_COLUMN = 'parent__';

/** Where a plan's rows come from: its key expressions (aliased), FROM with joins, and WHERE. */
export interface GroupedSource {
  keys: string[];
  from: string;
  where: string;
}

/**
 * The plan's keys, aliased by keyColumn, and one LEFT JOIN per ref that keys read through (a
 * referenced row not live leaves its keys NULL): `own` gives an own key's expression, `refValue`
 * the grouped row's value of a ref; `relation` reads the referenced rows.
 */
export function keysWithJoins(
  plan: AggregatePlan,
  relation: ViewOf,
  params: Params,
  own: (key: GroupKey, zone: () => string | null) => string,
  refValue: (ref: Attribute) => string,
): { keys: string[]; joins: string } {
  const joins = new Map<string, { alias: string; sql: string }>();
  // Bound once, and only when a bucket reads it: DuckDB refuses a parameter the statement lacks.
  let zoneParam: string | null = null;
  const zone = () => (plan.timeZone === null ? null : (zoneParam ??= params.add('string', plan.timeZone)));
  const keys = plan.groupBy.map((key) => {
    if (!key.through) return `${own(key, zone)} AS ${quoteIdent(keyColumn(key))}`;
    const { ref, target } = key.through;
    let join = joins.get(ref.name);
    if (!join) {
      const alias = `j${joins.size + 1}`;
      join = { alias, sql: ` LEFT JOIN ${relation(target)} AS ${alias} ON ${alias}.row_id = ${refValue(ref)}` };
      joins.set(ref.name, join);
    }
    return `${keySql(key, `${join.alias}.${quoteIdent(key.attribute.name)}`, zone)} AS ${quoteIdent(keyColumn(key))}`;
  });
  return { keys, joins: [...joins.values()].map((j) => j.sql).join('') };
}

/** The rows a plan aggregates and its keys; `params` collects the values both bind. */
export function groupedSource(plan: AggregatePlan, view: ViewOf, params: Params, keptParents?: ReadonlyMap<Filter, string>): GroupedSource {
  // The one spot every entity read of the statement passes: a role's row filter goes in here.
  const relation = rowFilteredView(view, plan.rowFilters, params);
  const { keys, joins } = keysWithJoins(
    plan,
    relation,
    params,
    (key, zone) => keySql(key, `o.${quoteIdent(key.attribute.name)}`, zone),
    (ref) => `o.${quoteIdent(ref.name)}`,
  );
  if (plan.parents) keys.unshift(`o.${quoteIdent(plan.parents.via.name)} AS ${quoteIdent(PARENT_COLUMN)}`);
  const conditions = [plan.filter ? compileFilter(plan.filter, { params, alias: 'o', refRelation: relation, keptParents }) : 'true'];
  if (plan.parents) conditions.push(`o.${quoteIdent(plan.parents.via.name)} = ANY(${params.addList('ref', plan.parents.ids)}::UUID[])`);
  const from = `${relation(plan.entity, rowIdCandidates(plan.filter), plan.filter)} AS o${joins}`;
  return { keys, from, where: conditions.join(' AND ') };
}

/** GROUP BY the first `count` columns (none: no clause). */
export const groupByFirst = (count: number) => (count ? ` GROUP BY ${Array.from({ length: count }, (_, i) => i + 1).join(', ')}` : '');

/**
 * The statement of a plan; `guarded` computes float figures so that they do not overflow on the
 * way; `keptParents` answer some of its filter's reverse relations (CompileContext).
 */
export function compileAggregate(plan: AggregatePlan, view: ViewOf, guarded = false, keptParents?: ReadonlyMap<Filter, string>): Statement {
  const params = new Params();
  const { keys, from, where } = groupedSource(plan, view, params, keptParents);
  const figures = plan.measures.map((m) => `${measureSql(m, (a) => `o.${quoteIdent(a.name)}`, guarded)} AS ${quoteIdent(measureName(m))}`);
  const select = [...keys, ...figures];
  if (select.length === 0) select.push('count(*) AS "count"');
  return keptGroups(plan, params, `SELECT ${select.join(', ')} FROM ${from} WHERE ${where}${groupByFirst(keys.length)}`);
}

/**
 * `groups` (one row per group, key and figure columns by keyColumn and measureName) cut to the
 * plan's HAVING, in its order, then by the keys (a total order: top-N is repeatable), and its page.
 */
export function keptGroups(plan: AggregatePlan, params: Params, groups: string): Statement {
  let sql = groups;
  if (plan.groupBy.length === 0 && !plan.parents) return { sql, params: params.values, types: params.types };
  const alias = plan.having ? 'g' : null;
  const ref = (name: string) => (alias ? `${alias}.${quoteIdent(name)}` : quoteIdent(name));
  if (plan.having) sql = `SELECT * FROM (${sql}) AS g WHERE ${havingSql(plan.having, params, 'g')}`;
  const terms = plan.orderBy.map((o) => {
    const name = 'key' in o.by ? keyColumn(o.by.key) : measureName(o.by.measure);
    return `${ref(name)} ${o.direction.toUpperCase()} NULLS ${o.nulls.toUpperCase()}`;
  });
  const keyNames = [...(plan.parents ? [PARENT_COLUMN] : []), ...plan.groupBy.map(keyColumn)];
  terms.push(...keyNames.map((name) => `${ref(name)} ASC NULLS LAST`));
  sql += ` ORDER BY ${terms.join(', ')}`;
  if (plan.limit !== null) sql += ` LIMIT ${params.addCount(plan.limit)}`;
  if (plan.offset > 0) sql += ` OFFSET ${params.addCount(plan.offset)}`;
  return { sql, params: params.values, types: params.types };
}
