// Read fields per entity over the lake (Hasura's shape): <name>(distinct_on, where, order_by, limit,
// offset) and reverse relations (aggregates: aggregates.ts); scans go to DuckDB (the query room).
import type { GraphQLResolveInfo } from 'graphql';
import type { Catalog, EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import { checkDistinctOn, type PageArgs } from '../query/index.js';
import { parseWhere } from './bind-filter.js';
import { dynamicField, dynamicInput, type GatewayBuilder, type GatewayContext } from './builder.js';
import type { EntityTypes } from './entities.js';
import type { ReadInputs } from './inputs.js';
import { parseDistinctOn, parseOrderBy } from './order-by.js';
import { selectColumnEnum } from './select-column.js';
import { childFields } from './selections.js';

interface RawPageArgs {
  distinct_on?: unknown;
  where?: unknown;
  order_by?: unknown;
  limit?: number | null;
  offset?: number | null;
}

/** A stable key of a field's arguments (BigInt values included), to share one loader per question. */
function argsKey(raw: RawPageArgs): string {
  return JSON.stringify(raw, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}

/** `path` names the field in errors (`orders`, `customers.orders`). */
function pageArgs(ctx: GatewayContext, entity: EntitySchema, raw: RawPageArgs, path: string): PageArgs {
  const { defaultLimit, maxLimit } = ctx.services.limits;
  const asked = raw.limit ?? defaultLimit;
  if (asked < 0 || asked > maxLimit) throw new ValidationError(`limit: ${asked} is outside 0..${maxLimit} (QUERY_MAX_LIMIT)`);
  // The role's select permission may bound a list further (Hasura's `limit`): the smaller wins.
  const bound = ctx.access.limit(entity);
  const limit = bound === null ? asked : Math.min(asked, bound);
  const offset = raw.offset ?? 0;
  if (offset < 0) throw new ValidationError(`offset: ${offset} must not be negative`);
  const { catalog } = ctx.services;
  const orderBy = parseOrderBy(catalog, entity, raw.order_by, `${path}.order_by`);
  const distinctOn = parseDistinctOn(raw.distinct_on);
  checkDistinctOn(distinctOn, orderBy, path);
  return { where: parseWhere(catalog, entity, raw.where), orderBy, distinctOn, limit, offset };
}

/** The entity's columns a row selection reads: attributes (a ref's own column too), time_slot, deleted_at. */
function selectedColumns(info: GraphQLResolveInfo, entity: EntitySchema): Set<string> {
  const readable = new Set(['time_slot', 'deleted_at', ...entity.attributes.map((a) => a.name)]);
  return new Set([...childFields(info, info.fieldNodes).keys()].filter((name) => readable.has(name)));
}

export function defineSearch(builder: GatewayBuilder, catalog: Catalog, all: ReadonlyMap<string, EntityTypes>, inputs: ReadInputs): void {
  for (const types of all.values()) {
    defineEntitySearch(builder, catalog, types, all, inputs);
  }
}

function defineEntitySearch(builder: GatewayBuilder, catalog: Catalog, types: EntityTypes, all: ReadonlyMap<string, EntityTypes>, inputs: ReadInputs): void {
  const { entity } = types;
  const name = entity.name;
  const pageArgsOf = (t: { arg: unknown }, of: EntitySchema = entity) => {
    const arg = dynamicInput(t);
    return {
      distinct_on: arg({
        type: [selectColumnEnum(builder, of)],
        required: { list: false, items: true },
        description: 'One row per distinct value of these columns, the first in order_by order (they must lead order_by)',
      }),
      where: arg({ type: inputs.boolExp.get(of.name)!, description: 'Filter (Hasura bool_exp)' }),
      order_by: arg({ type: [inputs.orderBy.get(of.name)!], required: { list: false, items: true }, description: 'Sort, first term first' }),
      limit: arg({ type: 'Int', description: 'At most this many rows (default QUERY_DEFAULT_LIMIT, at most QUERY_MAX_LIMIT)' }),
      offset: arg({ type: 'Int', description: 'Skip this many rows' }),
    };
  };

  builder.queryField(name, (t) =>
    dynamicField<unknown>(t)({
      type: [types.object],
      nullable: false,
      description: `Current ${name} rows from the lake and the unflushed buffer, fresh to the last commit`,
      args: pageArgsOf(t),
      resolve: (_root, raw: RawPageArgs, ctx, info) => {
        const args = { ...pageArgs(ctx, entity, raw, name), columns: selectedColumns(info, entity) };
        return ctx.search.list(entity, args, name);
      },
    }),
  );

  // Reverse relations: customers { orders(where, order_by, limit, offset) }, batched per request.
  for (const [fieldName, { from, attribute }] of catalog.reverseRelations(entity)) {
    const fromTypes = all.get(from.name)!;
    builder.objectField(types.object, fieldName, (t) =>
      dynamicField<{ row_id: string }>(t)({
        type: [fromTypes.object],
        nullable: false,
        description: `The ${from.name} rows whose ${attribute.name} is this row`,
        args: pageArgsOf(t as never, from),
        resolve: (row, raw: RawPageArgs, ctx, info) => {
          const columns = selectedColumns(info, from);
          // Parents asking the same question of the same columns share one batch.
          const key = `${argsKey(raw)}|${[...columns].sort().join(',')}`;
          // The arguments are bound once per batch, not once per parent row.
          return ctx.loaders.children(from, attribute, () => ({ ...pageArgs(ctx, from, raw, `${name}.${fieldName}`), columns }), key).load(row.row_id);
        },
      }),
    );
  }
}
