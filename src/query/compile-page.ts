// PagePlan -> one DuckDB statement: related sorts as LEFT JOINs to the referenced current rows,
// child aggregates as LEFT JOINs of grouped subqueries, distinct_on and paging as QUALIFY windows.
import { quoteIdent, type EntitySchema } from '../catalog/index.js';
import { Params, SQL_AGGREGATE_FUNCTIONS, compileFilter, rowFilteredView } from './duckdb-sql.js';
import type { Statement, ViewOf } from './engine.js';
import { rowIdCandidates, type Filter } from './filter.js';
import type { ChildAggregateOrder, OrderTerm, PagePlan } from './plan.js';

/** Alias of the page's own rows in every statement. */
const MAIN = 'o';

interface AggregateJoin {
  alias: string;
  child: EntitySchema;
  via: string;
  /** Alias of the rows whose children these are. */
  parentAlias: string;
  /** Restricts the grouped children to these parents (SQL condition on the child's ref column), or none. */
  restrict: ((childRef: string) => string) | null;
  /** aggregate SQL (over alias `c`) -> output column */
  outputs: Map<string, string>;
}

class Compilation {
  readonly params = new Params();
  private readonly related = new Map<string, string>();
  private readonly aggregates = new Map<string, AggregateJoin>();
  private readonly joinSql: string[] = [];
  private joins = 0;

  constructor(
    private readonly plan: PagePlan,
    view: ViewOf,
    private readonly keptParents?: ReadonlyMap<Filter, string>,
  ) {
    this.source = rowFilteredView(view, plan.rowFilters, this.params);
  }

  /**
   * An entity's rows as the statement may read them: its current rows, with the plan's row
   * filter for that entity ANDed. Every read of every entity goes through here (the page, joins,
   * grouped children, filters through refs), so a role's row filter needs nothing else.
   */
  readonly source: ViewOf;

  filterSql(filter: NonNullable<PagePlan['filter']>, alias: string): string {
    return compileFilter(filter, { params: this.params, alias, refRelation: this.source, keptParents: this.keptParents });
  }

  /** The SQL value a term sorts by, over the rows of `alias` (`path` names the join chain). */
  termSql(term: OrderTerm, alias: string, path: string): string {
    switch (term.kind) {
      case undefined:
      case 'column':
        return `${alias}.${quoteIdent(term.column)}`;
      case 'related': {
        const key = `${path}.${term.ref.name}`;
        let joined = this.related.get(key);
        if (!joined) {
          joined = `j${++this.joins}`;
          this.related.set(key, joined);
          // LEFT: a NULL ref, or one naming no current row, sorts as NULL instead of dropping the row.
          // Children sorted through their ref to the parent read only the batch's parents' files.
          const pinned = alias === MAIN && this.plan.parents?.via.name === term.ref.name ? this.plan.parents.ids : null;
          this.joinSql.push(`LEFT JOIN ${this.source(term.target, pinned)} AS ${joined} ON ${joined}.row_id = ${alias}.${quoteIdent(term.ref.name)}`);
        }
        return this.termSql(term.term, joined, key);
      }
      case 'child_aggregate':
        return this.aggregateSql(term, alias, path);
      default: {
        const unknown: never = term;
        throw new Error(`unknown order term ${JSON.stringify(unknown)}`);
      }
    }
  }

  private aggregateSql(term: ChildAggregateOrder, alias: string, path: string): string {
    const key = `${path}<${term.child.name}.${term.via.name}`;
    let join = this.aggregates.get(key);
    if (!join) {
      join = { alias: `g${++this.joins}`, child: term.child, via: term.via.name, parentAlias: alias, restrict: alias === MAIN ? this.candidates() : null, outputs: new Map() };
      this.aggregates.set(key, join);
    }
    const aggregate = term.aggregate === 'count' ? 'count(*)' : `${SQL_AGGREGATE_FUNCTIONS[term.aggregate]}(c.${quoteIdent(term.column!)})`;
    let output = join.outputs.get(aggregate);
    if (!output) {
      output = `a${join.outputs.size + 1}`;
      join.outputs.set(aggregate, output);
    }
    const value = `${join.alias}.${output}`;
    if (term.aggregate !== 'count') return value;
    // No children: no group, so count is NULL after the LEFT JOIN and means 0 (Hasura's count);
    // but of a related row that is missing, the count is NULL like its other values.
    return alias === MAIN ? `coalesce(${value}, 0)` : `CASE WHEN ${alias}.row_id IS NULL THEN NULL ELSE coalesce(${value}, 0) END`;
  }

  /**
   * Which parents' children a sort must aggregate: of a batch, the children of its parents; of a
   * page whose filter pins row_ids, those; else all. A semi-join on an arbitrary filter was slower:
   * PRO customers by order count, raw DuckDB, 100k orders: 51 ms grouping all, 106 ms restricted
   * (bench/sorts.ts).
   */
  private candidates(): ((childRef: string) => string) | null {
    const { parents, entity, filter } = this.plan;
    if (parents) {
      return (ref) => {
        const x = this.params.nextAlias();
        return `${ref} IN (SELECT ${x}.row_id FROM ${this.source(entity)} AS ${x} WHERE ${x}.${quoteIdent(parents.via.name)} = ANY(${this.params.addList('ref', parents.ids)}::UUID[]))`;
      };
    }
    const ids = rowIdCandidates(filter);
    return ids ? (ref) => `${ref} = ANY(${this.params.addList('ref', ids)}::UUID[])` : null;
  }

  /** The joins, grouped subqueries rendered once all their outputs are known. */
  joinsSql(): string {
    const grouped = [...this.aggregates.values()].map((join) => {
      const ref = `c.${quoteIdent(join.via)}`;
      const outputs = [...join.outputs].map(([value, output]) => `${value} AS ${output}`).join(', ');
      const restrict = join.restrict ? ` AND ${join.restrict(ref)}` : '';
      return `LEFT JOIN (SELECT ${ref} AS parent, ${outputs} FROM ${this.source(join.child)} AS c WHERE ${ref} IS NOT NULL${restrict} GROUP BY ${ref}) AS ${join.alias} ON ${join.alias}.parent = ${join.parentAlias}.row_id`;
    });
    return [...this.joinSql, ...grouped].map((j) => `\n  ${j}`).join('');
  }
}

/** The select list: row_id, then the requested columns the entity has (all without a request). */
function selectList(plan: PagePlan): string {
  const { entity, columns, parents } = plan;
  if (!columns) return `${MAIN}.*`;
  const also = parents ? [parents.via.name] : [];
  const names = ['time_slot', 'deleted_at', ...entity.attributes.map((a) => a.name)].filter((name) => columns.has(name) || also.includes(name));
  return [`${MAIN}.row_id`, ...names.map((name) => `${MAIN}.${quoteIdent(name)}`)].join(', ');
}

/** The terms a plan sorts by: its own, or without any, distinct_on's columns ascending (as Postgres' DISTINCT ON reads). */
function effectiveOrder(plan: PagePlan): readonly OrderTerm[] {
  if (plan.orderBy.length || !plan.distinctOn.length) return plan.orderBy;
  return plan.distinctOn.map((column) => ({ column, direction: 'asc', nulls: 'last' }));
}

const directionSql = (term: OrderTerm): string => {
  const { direction, nulls } = term.kind === 'related' ? innermost(term) : term;
  return `${direction.toUpperCase()} NULLS ${nulls.toUpperCase()}`;
};

function innermost(term: OrderTerm): Exclude<OrderTerm, { kind: 'related' }> {
  return term.kind === 'related' ? innermost(term.term) : term;
}

/**
 * Compiles a page plan into one statement over `view` (the engine's snapshot); `keptParents`
 * answer some of its filter's reverse relations (CompileContext).
 */
export function compilePage(plan: PagePlan, view: ViewOf, keptParents?: ReadonlyMap<Filter, string>): Statement {
  const c = new Compilation(plan, view, keptParents);
  const { params } = c;
  const terms = effectiveOrder(plan);
  const sortValues = terms.map((term) => c.termSql(term, MAIN, ''));
  const conditions: string[] = [];
  if (plan.parents) conditions.push(`${MAIN}.${quoteIdent(plan.parents.via.name)} = ANY(${params.addList('ref', plan.parents.ids)}::UUID[])`);
  if (plan.filter) conditions.push(c.filterSql(plan.filter, MAIN));
  const from = `${c.source(plan.entity, rowIdCandidates(plan.filter), plan.filter)} AS ${MAIN}${c.joinsSql()}`;
  const where = conditions.length ? conditions.join(' AND ') : 'true';
  const distinct = plan.distinctOn.map((column) => `${MAIN}.${quoteIdent(column)}`);

  if (!plan.parents) {
    // row_id last: a total order, so pages do not overlap or skip rows.
    const order = [...sortValues.map((value, i) => `${value} ${directionSql(terms[i]!)}`), `${MAIN}.row_id ASC`].join(', ');
    const first = distinct.length ? `\nQUALIFY row_number() OVER (PARTITION BY ${distinct.join(', ')} ORDER BY ${order}) = 1` : '';
    return {
      sql: `SELECT ${selectList(plan)}\nFROM ${from}\nWHERE ${where}${first}\nORDER BY ${order}\nLIMIT ${params.addCount(plan.limit)} OFFSET ${params.addCount(plan.offset)}`,
      params: params.values,
      types: params.types,
    };
  }

  const parent = quoteIdent(plan.parents.via.name);
  const window = (alias: string, values: readonly string[]) =>
    [...values.map((value, i) => `${value} ${directionSql(terms[i]!)}`), `${alias}.row_id ASC`].join(', ');
  const page = (alias: string, values: readonly string[]) => {
    const over = `OVER (PARTITION BY ${alias}.${parent} ORDER BY ${window(alias, values)})`;
    return `QUALIFY row_number() ${over} > ${params.addCount(plan.offset)} AND row_number() ${over} <= ${params.addCount(plan.offset + plan.limit)}`;
  };
  const cap = plan.parents.maxRows === undefined ? '' : `\nLIMIT ${params.addCount(plan.parents.maxRows)}`;
  if (!distinct.length) {
    return {
      sql: `SELECT ${selectList(plan)}\nFROM ${from}\nWHERE ${where}\n${page(MAIN, sortValues)}\nORDER BY ${MAIN}.${parent}, ${window(MAIN, sortValues)}${cap}`,
      params: params.values,
      types: params.types,
    };
  }
  // distinct_on among each parent's children first, then each parent's page of what is left: two
  // windows, one after the other, so the sort values travel out of the inner query by name.
  const named = sortValues.map((_, i) => `__sort_${i + 1}`);
  const inner =
    `SELECT ${selectList(plan)}, ${sortValues.map((value, i) => `${value} AS ${named[i]}`).join(', ')}\nFROM ${from}\nWHERE ${where}\n` +
    `QUALIFY row_number() OVER (PARTITION BY ${MAIN}.${parent}, ${distinct.join(', ')} ORDER BY ${window(MAIN, sortValues)}) = 1`;
  const outer = named.map((n) => `d.${n}`);
  return {
    sql: `SELECT d.* EXCLUDE (${named.join(', ')})\nFROM (${inner}) AS d\n${page('d', outer)}\nORDER BY d.${parent}, ${window('d', outer)}${cap}`,
    params: params.values,
    types: params.types,
  };
}
