// Runs an aggregate plan (aggregate-plan.ts, compiled by compile-aggregate.ts) over the
// merge-on-read views and reads its rows back as groups, guarding float figures against overflow.
import { ValidationError } from '../errors/index.js';
import { AGGREGATE_FUNCTIONS, measureName, type AggregateFunction, type AggregatePlan, type AggregateRequest } from './aggregate-plan.js';
import type { AggregateCache } from './aggregate-cache.js';
import { PARENT_COLUMN, aggregateEntities, compileAggregate, keyColumn } from './compile-aggregate.js';
import { Params } from './duckdb-sql.js';
import type { QueryEngine, SignedViewOf, Statement, ViewOf } from './engine.js';
import { rowIdCandidates, type Filter } from './filter.js';
import { readWithKeptParents } from './kept-parents.js';
import { NO_ROW_FILTERS } from './plan.js';
import { isCorrectable, isSubtractable, subtractedAnswerSql, UNSAFE, withOwnRows } from './partials.js';
import { fromDuckDb } from './rows.js';

// The catalog names group keys (to refuse colliding names at start), so it owns the bucket list.
export { TIME_BUCKETS, type TimeBucket } from '../catalog/index.js';

/** A group's figures: the row count, and per function its attributes' values (Hasura's shape). */
export type AggregateValues = { count: number } & Record<AggregateFunction, Record<string, unknown>>;

export interface AggregateGroup {
  key: Record<string, unknown>;
  aggregate: AggregateValues;
  /** The parent row_id, of a plan over a batch of parents. */
  parent?: string;
}

const keyText = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));

/** The figures of no rows: count 0, count_distinct 0, every other figure null (a parent without children). */
export function emptyAggregate(request: AggregateRequest): AggregateValues {
  const values = { count: 0 } as AggregateValues;
  for (const fn of AGGREGATE_FUNCTIONS) values[fn] = Object.fromEntries((request.fields[fn] ?? []).map((name) => [name, fn === 'count_distinct' ? 0 : null]));
  return values;
}

/** The first float figure of `rows` that is not a finite number, to report or to recompute. */
function firstNonFinite(plan: AggregatePlan, rows: Record<string, unknown>[]): { row: Record<string, unknown>; fn: string; name: string } | null {
  for (const row of rows) {
    for (const measure of plan.measures) {
      if (measure.fn === 'count') continue;
      const value = row[measureName(measure)];
      if (typeof value === 'number' && !Number.isFinite(value)) return { row, fn: measure.fn, name: measure.attribute.name };
    }
  }
  return null;
}

/** DuckDB fails a statement whose variance or standard deviation overflows (rather than giving Infinity). */
const isSpreadOverflow = (error: unknown) => error instanceof Error && /out of range/i.test(error.message) && /VAR|STDDEV/i.test(error.message);

/**
 * The groups of a plan (one row without group keys), in the plan's order; `kept`: partials of
 * repeated questions, corrected rather than read again (aggregate-cache.ts).
 */
export async function runAggregate(engine: QueryEngine, plan: AggregatePlan, kept?: AggregateCache): Promise<AggregateGroup[]> {
  const entities = aggregateEntities(plan);
  const run = (guarded: boolean) => engine.read(entities, (view) => compileAggregate(plan, view, guarded));
  // Every row read: by subtraction where the snapshot gives signed rows, else (or where a float sum
  // might round visibly worse so) the direct way; reverse relations of the filter asked before
  // read their kept parents (kept-parents.ts).
  const readAll = async () => {
    let subtracted = false;
    const build = (view: ViewOf, signed: SignedViewOf, parents?: ReadonlyMap<Filter, string>) => {
      const statement = subtractedStatement(plan, view, signed, parents);
      subtracted = statement !== null;
      return statement ?? compileAggregate(plan, view, false, parents);
    };
    const options = { positions: true, values: mayBeSubtracted(plan) ? [plan.entity] : [] };
    const rows = await readWithKeptParents(engine, entities, kept, plan.filter, plan.rowFilters ?? NO_ROW_FILTERS, build, options);
    // No group left to carry the count of unsafe ones (HAVING or the page took them all): read again.
    return !subtracted || (rows.length > 0 && Number(rows[0]![UNSAFE]) === 0) ? rows : run(false);
  };
  let rows: Record<string, unknown>[] | null;
  try {
    // A dashboard's repeated question: kept partial figures, corrected by the rows changed since.
    rows = kept && kept.entries > 0 && isCorrectable(plan) && kept.admits(plan) ? await engine.readWith(entities, (reader) => kept.answer(plan, reader)) : await readAll();
  } catch (error) {
    if (!isSpreadOverflow(error)) throw error;
    rows = null;
  }
  // The rerun reads a newer snapshot; its answer is whole (every figure from that one snapshot).
  if (rows === null || firstNonFinite(plan, rows)) rows = await run(true);
  const overflow = firstNonFinite(plan, rows);
  if (overflow) {
    const { row, fn, name } = overflow;
    const group = plan.groupBy.length ? ` in the group ${plan.groupBy.map((k) => `${k.name} = ${keyText(row[keyColumn(k)])}`).join(', ')}` : '';
    throw new ValidationError(`the ${fn} of ${name}${group} is beyond the range of Float (about ±1.8e308)`);
  }
  return rows.map((row) => toGroup(plan, row));
}

const mayBeSubtracted = (plan: AggregatePlan) => isSubtractable(plan) && rowIdCandidates(plan.filter) === null;

/**
 * The plan's statement by subtraction (partials.ts) over its entity's signed rows, or null: figures
 * other than counts, sums and avgs, a filter on a few row_ids (the direct way reads only their
 * files), a snapshot without signed rows, or a statement that reads its entity again (a ref to
 * itself: the signed rows stand for the plan's own rows only).
 */
function subtractedStatement(plan: AggregatePlan, view: ViewOf, signed: SignedViewOf, keptParents?: ReadonlyMap<Filter, string>): Statement | null {
  if (!mayBeSubtracted(plan)) return null;
  const rows = signed(plan.entity, plan.filter);
  if (rows === null) return null;
  // Its own rows only (each side reads them once, no other entity): the file rows counted and
  // summed by themselves (partials.ts); else one pass over every signed row.
  const build = (sided: boolean) => {
    let reads = 0;
    let others = 0;
    const params = new Params();
    const counting: ViewOf = (entity, rowIds, filter) => (others++, view(entity, rowIds, filter));
    const own = (relation: string) => withOwnRows(plan, counting, () => (reads++, relation));
    const sql = sided ? subtractedAnswerSql(plan, own(rows.signed), params, keptParents, own(rows.files!)) : subtractedAnswerSql(plan, own(rows.all), params, keptParents);
    return { statement: { sql, params: params.values, types: params.types }, reads, others };
  };
  if (rows.files !== null) {
    const { statement, reads, others } = build(true);
    if (reads === 2 && others === 0) return statement;
  }
  const { statement, reads } = build(false);
  return reads === 1 ? statement : null;
}

function toGroup(plan: AggregatePlan, row: Record<string, unknown>): AggregateGroup {
  const aggregate = { count: 0 } as AggregateValues;
  for (const fn of AGGREGATE_FUNCTIONS) aggregate[fn] = {};
  for (const measure of plan.measures) {
    const value = row[measureName(measure)];
    if (measure.fn === 'count') aggregate.count = Number(value as bigint);
    else if (measure.fn === 'count_distinct') aggregate.count_distinct[measure.attribute.name] = Number(value as bigint);
    else if (measure.fn === 'min' || measure.fn === 'max') aggregate[measure.fn][measure.attribute.name] = fromDuckDb(measure.attribute, value);
    else aggregate[measure.fn][measure.attribute.name] = value ?? null;
  }
  const key = Object.fromEntries(plan.groupBy.map((k) => [k.name, k.bucket ? row[keyColumn(k)] : fromDuckDb(k.attribute, row[keyColumn(k)])]));
  return plan.parents ? { key, aggregate, parent: row[PARENT_COLUMN] as string } : { key, aggregate };
}

/** Per parent row_id of the batch: its figures, the empty ones for a parent without matching rows. */
export async function aggregatePerParent(engine: QueryEngine, plan: AggregatePlan, request: AggregateRequest, kept?: AggregateCache): Promise<Map<string, AggregateValues>> {
  if (!plan.parents) throw new Error('aggregatePerParent needs a plan over a batch of parents');
  const groups = await runAggregate(engine, plan, kept);
  const byParent = new Map<string, AggregateValues>(plan.parents.ids.map((id) => [id, emptyAggregate(request)]));
  for (const group of groups) byParent.set(group.parent!, group.aggregate);
  return byParent;
}
