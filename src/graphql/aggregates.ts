// <name>_aggregate(where, group_by, time_zone) { aggregate { count sum {…} stddev {…} … }
// groups(having, order_by, limit, offset) { key {…} aggregate {…} } } per entity, and under each
// row of a ref's target the nested <rel>_aggregate(where) { aggregate {…} }, batched per level
// (Hasura's shape; group_by and what follows it are this gateway's own).
import type { GraphQLResolveInfo, FieldNode } from 'graphql';
import { TYPE_MAPPING, groupKeyChoices, type Attribute, type Catalog, type EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import {
  AGGREGATE_FUNCTIONS,
  attributesFor,
  parseTimeZone,
  planAggregate,
  type AggregateFunction,
  type AggregateGroup,
  type AggregateRequest,
  type AggregateValues,
  type Filter,
  type GroupKey,
} from '../query/index.js';
import { defineGroupInputs, havingComparisons, parseGroupOrder, parseHaving, type GroupInputs } from './aggregate-inputs.js';
import { parseWhere } from './bind-filter.js';
import { dynamicField, dynamicInput, type GatewayBuilder } from './builder.js';
import { knownEnumValue, type EntityTypes } from './entities.js';
import type { ReadInputs } from './inputs.js';
import { childFields } from './selections.js';

interface AggregateParent {
  entity: EntitySchema;
  where: Filter | null;
  groupBy: GroupKey[];
  timeZone: string | null;
  /** Under a parent row (nested `<rel>_aggregate`): the ref, the parent and a key of the arguments. */
  nested?: { via: Attribute; parentId: string; argsKey: string };
}

/** An output type reference (Pothos' generic refs differ per type; fields take any of them). */
type ObjectRef = unknown;

const DESCRIPTIONS: Record<AggregateFunction, string> = {
  sum: 'Sums (NULL values are skipped)',
  avg: 'Averages (NULL values are skipped)',
  min: 'Smallest values',
  max: 'Largest values',
  count_distinct: 'Numbers of distinct non-NULL values',
  stddev: 'Sample standard deviations (as stddev_samp)',
  stddev_pop: 'Population standard deviations',
  stddev_samp: 'Sample standard deviations (null for fewer than two values)',
  variance: 'Sample variances (as var_samp)',
  var_pop: 'Population variances',
  var_samp: 'Sample variances (null for fewer than two values)',
};

/** What an `aggregate { … }` selection asks for, so one statement computes exactly that. */
export function aggregateRequest(info: GraphQLResolveInfo, nodes: readonly FieldNode[] | undefined): AggregateRequest {
  const fields = childFields(info, nodes);
  const names = (key: string) => [...childFields(info, fields.get(key)).keys()].filter((n) => n !== '__typename');
  const request: AggregateRequest = { count: fields.has('count'), fields: {} };
  for (const fn of AGGREGATE_FUNCTIONS) {
    if (fields.has(fn)) request.fields[fn] = names(fn);
  }
  return request;
}

/** Group-by choices (the catalog names them, so it can refuse names that collide), with ref targets resolved. */
export function groupKeys(catalog: Catalog, entity: EntitySchema): GroupKey[] {
  return groupKeyChoices(entity, (name) => catalog.entity(name)).map(({ through, ...key }) =>
    through ? { ...key, through: { ref: through, target: catalog.entity(through.refEntity!) } } : key,
  );
}

/** A stable key of a field's arguments (BigInt values included), to share one loader per question. */
function argsKey(raw: unknown): string {
  return JSON.stringify(raw, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}

/** Aggregate types and `<name>_aggregate` of every entity, then the nested `<rel>_aggregate` fields. */
export function defineAggregates(builder: GatewayBuilder, catalog: Catalog, all: ReadonlyMap<string, EntityTypes>, inputs: ReadInputs): void {
  const comparison = havingComparisons(builder);
  const aggregateTypes = new Map<string, ObjectRef>();
  for (const types of all.values()) aggregateTypes.set(types.entity.name, defineEntityAggregates(builder, catalog, types, all, inputs, comparison));

  // Nested: customers { orders_aggregate(where) { aggregate { … } } }, one statement per batch of parents.
  for (const types of all.values()) {
    const entity = types.entity;
    for (const [relation, { from, attribute }] of catalog.reverseRelations(entity)) {
      const fieldName = `${relation}_aggregate`;
      builder.objectField(types.object, fieldName, (t) =>
        dynamicField<{ row_id: string }>(t)({
          type: aggregateTypes.get(from.name)!,
          nullable: false,
          description: `Aggregates of the ${from.name} rows whose ${attribute.name} is this row (batched: one statement per level)`,
          args: { where: dynamicInput(t as never)({ type: inputs.boolExp.get(from.name)!, description: 'Filter (Hasura bool_exp)' }) },
          resolve: (row, raw: { where?: unknown }, ctx): AggregateParent => ({
            entity: from,
            where: parseWhere(ctx.services.catalog, from, raw.where),
            groupBy: [],
            timeZone: null,
            nested: { via: attribute, parentId: row.row_id, argsKey: argsKey(raw) },
          }),
        }),
      );
    }
  }
}

function defineEntityAggregates(
  builder: GatewayBuilder,
  catalog: Catalog,
  types: EntityTypes,
  all: ReadonlyMap<string, EntityTypes>,
  inputs: ReadInputs,
  comparison: (scalar: string) => ReturnType<GatewayBuilder['inputRef']>,
): ObjectRef {
  const { entity } = types;
  const name = entity.name;
  const valueType = (a: Attribute) => TYPE_MAPPING[a.type].graphqlScalar;
  const fieldsObject = (fn: AggregateFunction) => {
    const attributes = attributesFor(entity, fn);
    const type = fn === 'sum' || fn === 'min' || fn === 'max' ? valueType : fn === 'count_distinct' ? () => 'Int' : () => 'Float';
    return attributes.length === 0
      ? null
      : builder.objectRef<Record<string, unknown>>(`${name}_${fn}_fields`).implement({
          description: DESCRIPTIONS[fn],
          fields: (t) =>
            Object.fromEntries(
              attributes.map((a) => [a.name, dynamicField<Record<string, unknown>>(t)({ type: type(a), resolve: (values) => values[a.name] ?? null })]),
            ) as never,
        });
  };
  const parts = new Map(AGGREGATE_FUNCTIONS.map((fn) => [fn, fieldsObject(fn)]));

  const aggregateFields = builder.objectRef<AggregateValues>(`${name}_aggregate_fields`).implement({
    description: `Aggregates of ${name} rows`,
    fields: (t) => {
      const field = dynamicField<AggregateValues>(t);
      const fields: Record<string, unknown> = { count: field({ type: 'Int', nullable: false, resolve: (a) => a.count }) };
      for (const [fn, ref] of parts) {
        if (ref) fields[fn] = field({ type: ref, resolve: (a) => a[fn] });
      }
      return fields as never;
    },
  });

  const keys = groupKeys(catalog, entity);
  const groupByEnum = builder.enumType(`${name}_group_by`, {
    description:
      'Group by a field, a time bucket of a timestamp or date field (<field>_<hour|day|week|month|quarter|year>, UTC unless time_zone), ' +
      'or a field of the row a ref names (<ref>__<key>; NULL when that row is deleted)',
    values: keys.map((k) => k.name),
  });
  const groupKey = builder.objectRef<Record<string, unknown>>(`${name}_group_key`).implement({
    description: `The values that define a group of ${name} rows (fields not grouped by are null)`,
    fields: (t) =>
      Object.fromEntries(
        keys.map((k) => {
          const owner = k.through?.target ?? entity;
          const enumKey = k.attribute.type === 'enum' && !k.bucket;
          const type = enumKey ? all.get(owner.name)!.enums.get(k.attribute.name)! : k.bucket ? (k.attribute.type === 'date' ? 'Date' : 'DateTime') : valueType(k.attribute);
          return [
            k.name,
            dynamicField<Record<string, unknown>>(t)({
              type,
              resolve: (key) => (enumKey ? knownEnumValue(owner, k.attribute, key[k.name]) : (key[k.name] ?? null)),
            }),
          ];
        }),
      ) as never,
  });
  const group = builder.objectRef<AggregateGroup>(`${name}_group`).implement({
    description: `One group of ${name} rows and its aggregates`,
    fields: (t) => ({
      key: t.field({ type: groupKey, nullable: false, resolve: (g) => g.key }),
      aggregate: t.field({ type: aggregateFields, nullable: false, resolve: (g) => g.aggregate }),
    }),
  });
  const groupInputs: GroupInputs = defineGroupInputs(builder, entity, keys, comparison);

  const aggregate = builder.objectRef<AggregateParent>(`${name}_aggregate`).implement({
    description: `Aggregates of the ${name} rows matching the filter`,
    fields: (t) => ({
      aggregate: t.field({
        type: aggregateFields,
        nullable: false,
        resolve: async (parent, _args, ctx, info) => {
          const request = aggregateRequest(info, info.fieldNodes);
          if (!parent.nested) return ctx.search.totals(entity, parent.where, request);
          // Parents asking the same question of the same figures share one batch (one statement).
          const { via, parentId, argsKey: args } = parent.nested;
          const plan = planAggregate({ entity, filter: parent.where, request });
          return ctx.loaders.childAggregates(plan, via, request, `${args}|${JSON.stringify(request)}`).load(parentId);
        },
      }),
      groups: dynamicField<AggregateParent>(t)({
        type: [group],
        nullable: false,
        description: 'One entry per group of group_by that passes having, in order_by order and then by key (NULL keys last)',
        args: {
          having: dynamicInput(t as never)({ type: groupInputs.having, description: "Keep the groups whose figures match (SQL HAVING)" }),
          order_by: dynamicInput(t as never)({ type: [groupInputs.orderBy], required: { list: false, items: true }, description: 'Order of groups, first term first; the keys break ties' }),
          limit: dynamicInput(t as never)({ type: 'Int', description: 'At most this many groups (top-N); the request row bound applies too' }),
          offset: dynamicInput(t as never)({ type: 'Int', description: 'Skip this many groups' }),
        },
        resolve: (parent, raw: { having?: unknown; order_by?: unknown; limit?: number | null; offset?: number | null }, ctx, info) => {
          if (parent.nested) throw new ValidationError(`groups is not available under a nested ${name} aggregate; use ${name}_aggregate(group_by: …)`);
          if (parent.groupBy.length === 0) throw new ValidationError(`${name}_aggregate.groups needs group_by`);
          if (raw.limit != null && raw.limit < 0) throw new ValidationError(`groups.limit: ${raw.limit} must not be negative`);
          if (raw.offset != null && raw.offset < 0) throw new ValidationError(`groups.offset: ${raw.offset} must not be negative`);
          const request = aggregateRequest(info, childFields(info, info.fieldNodes).get('aggregate'));
          const plan = planAggregate({
            entity,
            filter: parent.where,
            request,
            groupBy: parent.groupBy,
            having: parseHaving(entity, raw.having, 'groups.having'),
            orderBy: parseGroupOrder(entity, parent.groupBy, raw.order_by, 'groups.order_by'),
            limit: raw.limit ?? null,
            offset: raw.offset ?? 0,
            timeZone: parent.timeZone,
          });
          return ctx.search.groups(plan, `${name}_aggregate.groups`);
        },
      }),
    }),
  });
  builder.queryField(`${name}_aggregate`, (t) =>
    dynamicField<unknown>(t)({
      type: aggregate,
      nullable: false,
      description: `Aggregates of current ${name} rows, optionally per group`,
      args: {
        where: dynamicInput(t)({ type: inputs.boolExp.get(name)!, description: 'Filter (Hasura bool_exp)' }),
        group_by: dynamicInput(t)({ type: [groupByEnum], required: { list: false, items: true }, description: 'Group keys, outermost first' }),
        time_zone: dynamicInput(t)({ type: 'String', description: 'IANA time zone of time buckets of timestamps (default UTC), e.g. "Europe/Berlin"' }),
      },
      resolve: (_root, raw: { where?: unknown; group_by?: string[] | null; time_zone?: string | null }, ctx): AggregateParent => ({
        entity,
        where: parseWhere(ctx.services.catalog, entity, raw.where),
        groupBy: (raw.group_by ?? []).map((key) => keys.find((k) => k.name === key)!),
        timeZone: parseTimeZone(raw.time_zone),
      }),
    }),
  );
  return aggregate;
}
