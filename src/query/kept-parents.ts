// A search screen asks one reverse relation's filter again and again ("customers with an order
// over 900": per page, per sort, per refresh), and its semi-join reads every row of the referencing
// entity each time (1M orders: ~30 ms of a 40 ms search). From its second ask on, the filter's
// parents come from kept partials (aggregate-cache.ts): the referencing rows that match, counted
// per ref value, exact for the snapshot's files and buffer slot and corrected by the rows changed
// since, so the search reads a table of parents instead of the rows.
//
// Which filters: `exists_related` nodes, and `related_aggregate` nodes of a count of rows ("customers
// with more than 5 paid orders"), at any depth, whose own filter reads only the referencing entity's
// fields (and whose role row filter does too): a filter through further refs would change with the
// rows it reads there, which the corrections do not see.
import type { EntitySchema } from '../catalog/index.js';
import type { AggregateCache } from './aggregate-cache.js';
import { planAggregate, type AggregatePlan } from './aggregate-plan.js';
import type { QueryEngine, ReadOptions, ResultRows, SignedViewOf, SnapshotReader, Statement, ViewOf } from './engine.js';
import type { Filter } from './filter.js';
import { isCorrectable } from './partials.js';
import type { RowFilters } from './plan.js';

type RelatedFilter = Extract<Filter, { kind: 'exists_related' | 'related_aggregate' }>;

/** The filter's reverse relations (every depth), each with the plan of its kept parents, where one can be kept. */
export function parentQuestions(filter: Filter | null, rowFilters: RowFilters): { node: RelatedFilter; plan: AggregatePlan }[] {
  const found: { node: RelatedFilter; plan: AggregatePlan }[] = [];
  const walk = (f: Filter): void => {
    switch (f.kind) {
      case 'and':
      case 'or':
        f.items.forEach(walk);
        return;
      case 'not':
        walk(f.item);
        return;
      case 'ref':
        walk(f.filter);
        return;
      case 'related_aggregate':
      case 'exists_related': {
        // Of an aggregate predicate, a count of rows only: the kept partials count rows per parent.
        const counted = f.kind === 'exists_related' || (f.aggregate.fn === 'count' && f.aggregate.columns.length === 0 && !f.aggregate.distinct);
        const attribute = f.target.attributes.find((a) => a.name === f.via.name);
        const groupBy = attribute ? [{ name: attribute.name, attribute }] : [];
        const plan = { ...planAggregate({ entity: f.target, filter: f.filter, request: { count: true, fields: {} }, groupBy }), rowFilters };
        if (counted && attribute && isCorrectable(plan)) found.push({ node: f, plan });
        else walk(f.filter);
        return;
      }
      default:
        return;
    }
  };
  if (filter) walk(filter);
  return found;
}

/**
 * One statement over a snapshot of `entities` (as QueryEngine.read), built with the kept parents of
 * the filter's reverse relations that have them (CompileContext.keptParents; none when `cache` keeps
 * nothing or the filter has no such relation).
 */
export async function readWithKeptParents(
  engine: QueryEngine,
  entities: readonly EntitySchema[],
  cache: AggregateCache | undefined,
  filter: Filter | null,
  rowFilters: RowFilters,
  build: (view: ViewOf, signed: SignedViewOf, parents?: ReadonlyMap<Filter, string>) => Statement,
  options: ReadOptions,
): Promise<ResultRows> {
  const questions = cache && cache.entries > 0 ? parentQuestions(filter, rowFilters) : [];
  if (!cache || questions.length === 0) return engine.read(entities, build, options);
  return engine.readWith(entities, (reader) => withKeptParents(cache, reader, questions, (parents) => reader.run(build(reader.view, reader.signed, parents))), options);
}

/** Runs `work` with the kept parents of those `questions` that have them (CompileContext.keptParents), held until it is done. */
async function withKeptParents<T>(
  cache: AggregateCache,
  reader: SnapshotReader,
  questions: ReturnType<typeof parentQuestions>,
  work: (parents: ReadonlyMap<Filter, string>) => Promise<T>,
): Promise<T> {
  const parents = new Map<Filter, string>();
  const releases: (() => void)[] = [];
  try {
    for (const { node, plan } of questions) {
      const kept = await cache.parents(plan, reader);
      if (!kept) continue;
      parents.set(node, kept.relation);
      releases.push(kept.release);
    }
    return await work(parents);
  } finally {
    for (const release of releases) release();
  }
}
