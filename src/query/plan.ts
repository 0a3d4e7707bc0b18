// A page of rows as a pure plan: which entity, which filter, which order (its own columns, through
// refs, or by aggregates of referencing rows), distinct_on, paging and parent batching. The
// compiler (compile-page.ts) turns it into one DuckDB statement; nothing here knows SQL.
import type { Attribute, EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import { referencedEntities, type Filter } from './filter.js';

export type SortDirection = 'asc' | 'desc';
export type NullsOrder = 'first' | 'last';

/** A column of the sorted entity itself (an attribute, row_id or time_slot). `kind` may be left out. */
export interface ColumnOrder {
  kind?: 'column';
  column: string;
  direction: SortDirection;
  nulls: NullsOrder;
}

/**
 * A term of the row a ref names (Hasura's object relationship: `{customer: {name: asc}}`), any
 * depth through `term`. The referenced row must be current in the same snapshot, else the value is NULL.
 */
export interface RelatedOrder {
  kind: 'related';
  /** The ref attribute of the sorted entity. */
  ref: Attribute;
  target: EntitySchema;
  term: OrderTerm;
}

export const CHILD_AGGREGATES = ['count', 'sum', 'avg', 'max', 'min', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp'] as const;
export type ChildAggregate = (typeof CHILD_AGGREGATES)[number];

/**
 * An aggregate of the current rows referencing the sorted row (Hasura's array relationship
 * aggregate: `{orders_aggregate: {count: desc}}`): count is 0 without children, the others NULL.
 */
export interface ChildAggregateOrder {
  kind: 'child_aggregate';
  /** The referencing entity and its ref to the sorted entity. */
  child: EntitySchema;
  via: Attribute;
  aggregate: ChildAggregate;
  /** The child's column (null for count). */
  column: string | null;
  direction: SortDirection;
  nulls: NullsOrder;
}

export type OrderTerm = ColumnOrder | RelatedOrder | ChildAggregateOrder;

/** Children of a batch of parents: rows whose ref `via` names one of `ids`, paged per parent. */
export interface ParentBatch {
  via: Attribute;
  ids: readonly string[];
  /** At most this many rows in all (the request's row budget). */
  maxRows?: number;
}

/**
 * A filter per entity name, looked up as statements read entities (a role's select filters). A
 * lookup, not a list: a filter is bound (and may fail, say on a missing session variable) only when
 * a statement reads its entity. A Map is one.
 */
export interface RowFilters {
  get(entityName: string): Filter | undefined;
}

export const NO_ROW_FILTERS: RowFilters = { get: () => undefined };

/** The entities the row filters of `entities` read (refs inside a row filter read rows unfiltered: one level). */
export function rowFilterEntities(rowFilters: RowFilters | undefined, entities: readonly EntitySchema[]): EntitySchema[] {
  return rowFilters ? entities.flatMap((e) => referencedEntities(rowFilters.get(e.name) ?? null)) : [];
}

export interface PagePlan {
  entity: EntitySchema;
  /** The request's filter on `entity` (null: every row). */
  filter: Filter | null;
  /**
   * A filter per entity name ANDed wherever the statement reads that entity: the page's rows, rows
   * a related sort joins, children a sort aggregates, rows a filter reaches through a ref. The one
   * place a role's row filter goes (request-search.ts sets them; duckdb-sql.ts rowFilteredView).
   */
  rowFilters: RowFilters;
  orderBy: readonly OrderTerm[];
  /** Columns of `entity`: one row per distinct value (the first in `orderBy` order). */
  distinctOn: readonly string[];
  limit: number;
  offset: number;
  /** Columns read (attributes, time_slot, deleted_at); row_id always. Absent: all. */
  columns?: ReadonlySet<string>;
  parents?: ParentBatch;
}

/** The entities an order term reads besides the sorted one. */
function termEntities(term: OrderTerm): EntitySchema[] {
  switch (term.kind) {
    case 'related':
      return [term.target, ...termEntities(term.term)];
    case 'child_aggregate':
      return [term.child];
    case undefined:
    case 'column':
      return [];
    default: {
      const unknown: never = term;
      throw new Error(`unknown order term ${JSON.stringify(unknown)}`);
    }
  }
}

/** Every entity the plan's statement reads (the snapshot must hold each one). */
export function planEntities(plan: PagePlan): EntitySchema[] {
  const read = [plan.entity, ...referencedEntities(plan.filter), ...plan.orderBy.flatMap(termEntities)];
  const all = [...read, ...rowFilterEntities(plan.rowFilters, read)];
  return [...new Map(all.map((e) => [e.name, e])).values()];
}

export const DISTINCT_ON_MISMATCH = '"distinct_on" columns must match initial "order_by" columns';

/**
 * Hasura's rule: the first as many order_by terms as distinct_on has columns are plain columns
 * and contain every distinct_on column (any order); no order_by is fine. A ref column has no term
 * of its own here (`{customer: …}` is the relationship), so `{customer: {row_id: …}}` counts as it.
 */
export function checkDistinctOn(distinctOn: readonly string[], orderBy: readonly OrderTerm[], path: string): void {
  if (distinctOn.length === 0 || orderBy.length === 0) return;
  const initial = orderBy.slice(0, distinctOn.length).map(plainColumn);
  const ok = initial.length === distinctOn.length && initial.every((c) => c !== null) && distinctOn.every((c) => initial.includes(c));
  if (!ok) throw new ValidationError(`${path}: ${DISTINCT_ON_MISMATCH}`);
}

function plainColumn(term: OrderTerm): string | null {
  if (term.kind === undefined || term.kind === 'column') return term.column;
  if (term.kind === 'related' && (term.term.kind === undefined || term.term.kind === 'column') && term.term.column === 'row_id') return term.ref.name;
  return null;
}
