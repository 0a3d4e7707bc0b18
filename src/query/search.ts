// The questions the read API asks, as one service over the query engine: pages (pages.ts),
// aggregates (aggregates.ts) and batched children of reverse relations.
import type { Attribute, EntitySchema } from '../catalog/index.js';
import { sqlString } from '../lake/index.js';
import type { EntityRow } from '../oltp/index.js';
import type { AggregateCache } from './aggregate-cache.js';
import type { AggregatePlan, AggregateRequest } from './aggregate-plan.js';
import { aggregatePerParent, runAggregate, type AggregateGroup, type AggregateValues } from './aggregates.js';
import type { QueryEngine, SnapshotHandle } from './engine.js';
import { childRows, listRows, type PageArgs } from './pages.js';

export class SearchService {
  constructor(
    readonly engine: QueryEngine,
    /** Kept partial figures of repeated aggregate questions and reverse-relation filters (aggregate-cache.ts; entries 0: none kept). */
    readonly aggregates: AggregateCache,
  ) {}

  /** The same questions, read through `current()`'s snapshot while it has one (one snapshot per request, engine.ts). */
  scoped(current: () => SnapshotHandle | null): SearchService {
    return new SearchService(this.engine.scoped(current), this.aggregates);
  }

  /** Writes the entity's current rows, sorted by row_id, to one ZSTD Parquet file (benchmarks, compaction). */
  async exportCurrent(entity: EntitySchema, file: string): Promise<void> {
    await this.engine.read([entity], (view) => ({
      sql: `COPY (SELECT * FROM ${view(entity)} AS o ORDER BY row_id) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`,
      params: [],
    }));
  }

  list(entity: EntitySchema, args: PageArgs): Promise<EntityRow[]> {
    return listRows(this.engine, entity, args, this.aggregates);
  }

  /** The groups of an aggregate plan (one without group keys), in the plan's order. */
  aggregate(plan: AggregatePlan): Promise<AggregateGroup[]> {
    return runAggregate(this.engine, plan, this.aggregates);
  }

  /** The figures per parent of a plan over a batch of parents, in one statement. */
  aggregatePerParent(plan: AggregatePlan, request: AggregateRequest): Promise<Map<string, AggregateValues>> {
    return aggregatePerParent(this.engine, plan, request, this.aggregates);
  }

  /** Rows of `entity` whose ref `via` names one of `parentIds`, at most `limit` per parent, in one statement. */
  children(entity: EntitySchema, via: Attribute, parentIds: readonly string[], args: PageArgs): Promise<Map<string, EntityRow[]>> {
    return childRows(this.engine, entity, via, parentIds, args, this.aggregates);
  }
}
