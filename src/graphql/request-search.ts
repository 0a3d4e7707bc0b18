// A request's searches: one at a time, each within what the request's row budget has left.
import type { Attribute, EntitySchema } from '../catalog/index.js';
import { NO_ROW_FILTERS, planAggregate, type AggregateGroup, type AggregatePlan, type AggregateRequest, type AggregateValues, type Filter, type PageArgs, type RowFilters, type SearchService } from '../query/index.js';
import type { EntityRow } from '../oltp/index.js';
import type { RowBudget } from './bounds.js';

export interface RequestSearch {
  /** A page of rows; `where` names the field in a limit error. */
  list(entity: EntitySchema, args: PageArgs, where: string): Promise<EntityRow[]>;
  totals(entity: EntitySchema, filter: Filter | null, request: AggregateRequest): Promise<AggregateValues>;
  /** The groups of a grouped plan, at most its limit and the budget plus one (charged per group). */
  groups(plan: AggregatePlan, where: string): Promise<AggregateGroup[]>;
  /** A batch of nested `<rel>_aggregate`: the figures per parent of `plan.parents`, in one statement. */
  childAggregates(plan: AggregatePlan, request: AggregateRequest): Promise<Map<string, AggregateValues>>;
  /** A batch of reverse relations, at most the budget plus one row in all (the loader charges per parent). */
  children(entity: EntitySchema, via: Attribute, parentIds: readonly string[], args: PageArgs, where: string): Promise<Map<string, EntityRow[]>>;
}

/**
 * GraphQL resolves a request's root fields (and a level's batches) in parallel, so 200 aliases
 * were 200 searches at once: they would fill the process's admission queue (DUCKDB_QUEUE_LENGTH)
 * by themselves and turn other users away as BUSY. One at a time per request, the queue counts
 * requests (two cores gained nothing from more parallel statements, FIELD-NOTES), and each search
 * asks, when its turn comes, for no more than the budget has left plus one row: so a request
 * never materializes more than its budget, and the one row more shows that it passed it.
 *
 * Every search of the request passes here, so here the role's row filters (access.ts) join each
 * plan: whatever field asked, a row the role may not see is not read.
 */
export function requestSearch(search: SearchService, budget: RowBudget, rowFilters: RowFilters = NO_ROW_FILTERS): RequestSearch {
  let tail: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = () => {
      // A request past its bound runs nothing more: its remaining fields fail at once.
      budget.check();
      return work();
    };
    const run = tail.then(turn, turn);
    tail = run.catch(() => undefined);
    return run;
  };
  return {
    list: (entity, args, where) =>
      inTurn(async () => {
        const rows = await search.list(entity, { ...args, rowFilters, limit: Math.min(args.limit, budget.remaining() + 1) });
        budget.take(rows.length, where);
        return rows;
      }),
    totals: (entity, filter, request) => inTurn(async () => (await search.aggregate({ ...planAggregate({ entity, filter, request }), rowFilters }))[0]!.aggregate),
    groups: (plan, where) =>
      inTurn(async () => {
        const limit = Math.min(plan.limit ?? Infinity, budget.remaining() + 1);
        const groups = await search.aggregate({ ...plan, rowFilters, limit });
        budget.take(groups.length, where);
        return groups;
      }),
    // One row per parent at most, and the parents were charged: nothing more to charge.
    childAggregates: (plan, request) => inTurn(() => search.aggregatePerParent({ ...plan, rowFilters }, request)),
    children: (entity, via, parentIds, args, where) =>
      inTurn(async () => {
        const maxRows = budget.remaining() + 1;
        const rows = await search.children(entity, via, parentIds, { ...args, rowFilters, maxRows });
        let total = 0;
        for (const list of rows.values()) total += list.length;
        // Cut short: the rows fields resolve from it would pass the bound anyway.
        if (total >= maxRows) budget.take(total, where);
        return rows;
      }),
  };
}
