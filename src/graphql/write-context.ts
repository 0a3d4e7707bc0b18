// What the write-side resolvers share: the generated types they pass on, the services of a
// set-based write as a role may use them, and which written rows a role may read back.
import type { EntitySchema } from '../catalog/index.js';
import type { EntityRow } from '../oltp/index.js';
import { SYSTEM_COLUMNS, type Filter } from '../query/index.js';
import type { GatewayContext } from './builder.js';
import type { MutationResponse, SetWriteServices } from './set-writes.js';

// Refs passed on only as field types: their generic parameters do not matter here.
type InputRef = unknown;
type ObjectRef = unknown;

/** The generated write-side types of one entity. */
export interface MutationTypes {
  setInput: InputRef;
  /** Absent when the entity has no int or float attribute (Hasura omits `_inc` then). */
  incInput: InputRef | null;
  response: ObjectRef;
  /** The entity's `<name>_bool_exp` (defined with the read inputs), by name. */
  boolExp: string;
}

/** GraphQL input objects are plain records; undefined keys were not given, null ones clear a value. */
export function givenFields(input: Record<string, unknown> | null | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined));
}

/**
 * The services of a set-based write of `entity`. The process's search, not the request's: a retry
 * must see a newer snapshot than the last try. Rows a `where` reaches through relations are those
 * the role may select; the written entity's own rows are bounded by the write permission's filter.
 */
export function setWriteServices(ctx: GatewayContext, entity: EntitySchema): SetWriteServices {
  const { rowFilters } = ctx.access;
  return {
    search: ctx.services.search,
    writer: ctx.services.oltp.writer,
    maxRows: ctx.services.limits.maxInsertObjects,
    rowFilters: { get: (name) => (name === entity.name ? undefined : rowFilters.get(name)) },
  };
}

/** `row_id` = `rowId`, as a filter. */
export function pinnedRow(rowId: string): Filter {
  return { kind: 'in', column: SYSTEM_COLUMNS.row_id!, values: [rowId], negated: false };
}

/**
 * The rows of a mutation's answer the role may see (its select filter), as Hasura's `returning`;
 * read after the commit, so it judges the rows as written. `known` gives the visible row_ids when
 * the caller judged them before (deletes: a deleted row is no longer searched).
 */
export async function visibleRows(ctx: GatewayContext, entity: EntitySchema, rows: EntityRow[], known?: ReadonlySet<string>): Promise<EntityRow[]> {
  if (ctx.access.seesAll(entity) || rows.length === 0) return rows;
  const ids = known ?? (await visibleIds(ctx, entity, { kind: 'in', column: SYSTEM_COLUMNS.row_id!, values: rows.map((r) => r.row_id), negated: false }, rows.length));
  return rows.filter((r) => ids.has(r.row_id));
}

/**
 * A `<name>_mutation_response` as the resolvers hand it to GraphQL: `returning` is judged
 * (visibleRows) only when the request selects it, once. A bulk write asked for `affected_rows`
 * alone runs no search of its rows then, and charges none of them to the request's row bound:
 * for a role with a select filter that search read every written row after the commit, and
 * past MAX_ROWS_PER_REQUEST failed a write that had committed.
 */
export interface MutationAnswer {
  affected_rows: number;
  returning(): Promise<EntityRow[]>;
}

export function mutationAnswer(ctx: GatewayContext, entity: EntitySchema, response: MutationResponse, known?: ReadonlySet<string>): MutationAnswer {
  let visible: Promise<EntityRow[]> | undefined;
  return {
    affected_rows: response.affected_rows,
    returning: () => (visible ??= visibleRows(ctx, entity, response.returning, known)),
  };
}

/** Row_ids of current rows matching `where` that the role may see (at most `limit`). */
export async function visibleIds(ctx: GatewayContext, entity: EntitySchema, where: Filter | null, limit: number): Promise<Set<string>> {
  const rows = await ctx.search.list(entity, { where, orderBy: [], limit, offset: 0, columns: new Set(['time_slot']) }, `${entity.name} returning`);
  return new Set(rows.map((r) => r.row_id));
}
