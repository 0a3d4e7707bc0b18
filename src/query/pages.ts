// Pages of rows over the merge-on-read views: a page of an entity's rows, and the batched
// children of reverse relations (one statement for many parents). Each builds a plan (plan.ts)
// and runs what compile-page.ts makes of it.
import type { Attribute, EntitySchema } from '../catalog/index.js';
import type { EntityRow } from '../oltp/index.js';
import type { AggregateCache } from './aggregate-cache.js';
import { compilePage } from './compile-page.js';
import type { QueryEngine } from './engine.js';
import type { Filter } from './filter.js';
import { readWithKeptParents } from './kept-parents.js';
import { NO_ROW_FILTERS, planEntities, type OrderTerm, type PagePlan, type RowFilters } from './plan.js';
import { toEntityRow } from './rows.js';

export interface PageArgs {
  where: Filter | null;
  orderBy: readonly OrderTerm[];
  /** Hasura's distinct_on: one row per distinct value of these columns, the first in `orderBy` order. */
  distinctOn?: readonly string[];
  limit: number;
  offset: number;
  /**
   * The columns the caller reads from each row (attribute names, `time_slot`, `deleted_at`);
   * row_id always. Absent: all. Parquet decodes only what is read: (a) of bench:search took
   * 57 ms with every column and 38 ms with the six it shows. Unread fields are absent from the rows.
   */
  columns?: ReadonlySet<string>;
  /**
   * Of a batch of reverse relations (`children`): at most this many rows in all, whatever the
   * number of parents times `limit` (the request's row budget; the caller finds out by counting).
   */
  maxRows?: number;
  /** A filter per entity name ANDed wherever the statement reads that entity (a role's select filters). */
  rowFilters?: RowFilters;
}

/** The plan of a page of `entity` (of a batch of parents' children when `parents` is given). */
export function pagePlan(entity: EntitySchema, args: PageArgs, parents?: PagePlan['parents']): PagePlan {
  return {
    entity,
    filter: args.where,
    rowFilters: args.rowFilters ?? NO_ROW_FILTERS,
    orderBy: args.orderBy,
    distinctOn: args.distinctOn ?? [],
    limit: args.limit,
    offset: args.offset,
    columns: args.columns,
    parents,
  };
}

/** Runs a page plan; `kept`: parents of its reverse relations' filters asked before (kept-parents.ts). */
async function runPage(engine: QueryEngine, plan: PagePlan, kept?: AggregateCache): Promise<Record<string, unknown>[]> {
  return readWithKeptParents(engine, planEntities(plan), kept, plan.filter, plan.rowFilters, (view, _signed, parents) => compilePage(plan, view, parents), { positions: true });
}

/** A page of the entity's current rows matching `args.where`, in `args.orderBy` order (`kept`: see runPage). */
export async function listRows(engine: QueryEngine, entity: EntitySchema, args: PageArgs, kept?: AggregateCache): Promise<EntityRow[]> {
  const rows = await runPage(engine, pagePlan(entity, args), kept);
  return rows.map((row) => toEntityRow(entity, row));
}

/**
 * Rows of `entity` whose ref `via` names one of `parentIds`, at most `limit` per parent: one
 * statement for a whole batch of parents (the reverse relations' DataLoader).
 */
export async function childRows(
  engine: QueryEngine,
  entity: EntitySchema,
  via: Attribute,
  parentIds: readonly string[],
  args: PageArgs,
  kept?: AggregateCache,
): Promise<Map<string, EntityRow[]>> {
  const rows = await runPage(engine, pagePlan(entity, args, { via, ids: parentIds, maxRows: args.maxRows }), kept);
  const byParent = new Map<string, EntityRow[]>(parentIds.map((id) => [id, []]));
  for (const row of rows) byParent.get(row[via.name] as string)?.push(toEntityRow(entity, row));
  return byParent;
}
