// <name>_aggregate(where, group_by) { aggregate { count sum {…} … } groups { key {…} aggregate {…} } }:
// aggregate types and the root field per entity (Hasura's shape, with group_by of this gateway's own).
import type { GraphQLResolveInfo, FieldNode } from 'graphql';
import { TYPE_MAPPING, groupKeyChoices, type Attribute, type EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import { type AggregateGroup, type AggregateRequest, type AggregateValues, type Filter, type GroupKey } from '../query/index.js';
import { parseWhere } from './bind-filter.js';
import { dynamicField, dynamicInput, type GatewayBuilder } from './builder.js';
import { knownEnumValue, type EntityTypes } from './entities.js';
import type { ReadInputs } from './inputs.js';
import { childFields } from './selections.js';

interface AggregateParent {
  entity: EntitySchema;
  where: Filter | null;
  groupBy: GroupKey[];
}

/** What an `aggregate { … }` selection asks for, so one statement computes exactly that. */
export function aggregateRequest(info: GraphQLResolveInfo, nodes: readonly FieldNode[] | undefined): AggregateRequest {
  const fields = childFields(info, nodes);
  const names = (key: string) => [...childFields(info, fields.get(key)).keys()].filter((n) => n !== '__typename');
  return { count: fields.has('count'), sum: names('sum'), avg: names('avg'), min: names('min'), max: names('max'), countDistinct: names('count_distinct') };
}

/** Group-by choices (the catalog names them, so it can refuse names that collide). */
export function groupKeys(entity: EntitySchema): GroupKey[] {
  return groupKeyChoices(entity);
}

function groupKeyType(key: GroupKey): string {
  if (key.bucket) return key.attribute.type === 'date' ? 'Date' : 'DateTime';
  return TYPE_MAPPING[key.attribute.type].graphqlScalar;
}

export function defineAggregates(builder: GatewayBuilder, types: EntityTypes, inputs: ReadInputs): void {
  const { entity } = types;
  const name = entity.name;
  const numeric = entity.attributes.filter((a) => TYPE_MAPPING[a.type].numeric);
  const ordered = entity.attributes.filter((a) => TYPE_MAPPING[a.type].ordered && a.type !== 'enum');
  const distinctable = entity.attributes.filter((a) => a.type !== 'json');
  const valueType = (a: Attribute) => TYPE_MAPPING[a.type].graphqlScalar;
  const fieldsObject = (typeName: string, attributes: Attribute[], type: (a: Attribute) => string, description: string) =>
    attributes.length === 0
      ? null
      : builder.objectRef<Record<string, unknown>>(typeName).implement({
          description,
          fields: (t) =>
            Object.fromEntries(
              attributes.map((a) => [a.name, dynamicField<Record<string, unknown>>(t)({ type: type(a), resolve: (values) => values[a.name] ?? null })]),
            ) as never,
        });
  const sum = fieldsObject(`${name}_sum_fields`, numeric, valueType, 'Sums (NULL values are skipped)');
  const avg = fieldsObject(`${name}_avg_fields`, numeric, () => 'Float', 'Averages (NULL values are skipped)');
  const min = fieldsObject(`${name}_min_fields`, ordered, valueType, 'Smallest values');
  const max = fieldsObject(`${name}_max_fields`, ordered, valueType, 'Largest values');
  const countDistinct = fieldsObject(`${name}_count_distinct_fields`, distinctable, () => 'Int', 'Numbers of distinct non-NULL values');

  const aggregateFields = builder.objectRef<AggregateValues>(`${name}_aggregate_fields`).implement({
    description: `Aggregates of ${name} rows`,
    fields: (t) => {
      const field = dynamicField<AggregateValues>(t);
      const fields: Record<string, unknown> = { count: field({ type: 'Int', nullable: false, resolve: (a) => a.count }) };
      for (const [key, ref] of Object.entries({ sum, avg, min, max, count_distinct: countDistinct })) {
        if (ref) fields[key] = field({ type: ref, resolve: (a) => a[key as keyof AggregateValues] });
      }
      return fields as never;
    },
  });

  const keys = groupKeys(entity);
  const groupByEnum = builder.enumType(`${name}_group_by`, {
    description: 'Group by a field, or by a time bucket of a timestamp or date field (<field>_<hour|day|week|month|year>, UTC)',
    values: keys.map((k) => k.name),
  });
  const groupKey = builder.objectRef<Record<string, unknown>>(`${name}_group_key`).implement({
    description: `The values that define a group of ${name} rows (fields not grouped by are null)`,
    fields: (t) =>
      Object.fromEntries(
        keys.map((k) => {
          const enumKey = k.attribute.type === 'enum' && !k.bucket;
          return [
            k.name,
            dynamicField<Record<string, unknown>>(t)({
              type: enumKey ? types.enums.get(k.attribute.name)! : groupKeyType(k),
              resolve: (key) => (enumKey ? knownEnumValue(entity, k.attribute, key[k.name]) : (key[k.name] ?? null)),
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
  const aggregate = builder.objectRef<AggregateParent>(`${name}_aggregate`).implement({
    description: `Aggregates of the ${name} rows matching the filter`,
    fields: (t) => ({
      aggregate: t.field({
        type: aggregateFields,
        nullable: false,
        resolve: async (parent, _args, ctx, info) => {
          return ctx.search.totals(entity, parent.where, aggregateRequest(info, info.fieldNodes));
        },
      }),
      groups: t.field({
        type: [group],
        nullable: false,
        description: 'One entry per group of group_by, in key order (NULL keys last)',
        resolve: (parent, _args, ctx, info) => {
          if (parent.groupBy.length === 0) throw new ValidationError(`${name}_aggregate.groups needs group_by`);
          const request = aggregateRequest(info, childFields(info, info.fieldNodes).get('aggregate'));
          return ctx.search.groups(entity, parent.where, request, parent.groupBy, `${name}_aggregate.groups`);
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
      },
      resolve: (_root, raw: { where?: unknown; group_by?: string[] | null }, ctx): AggregateParent => ({
        entity,
        where: parseWhere(ctx.services.catalog, entity, raw.where),
        groupBy: (raw.group_by ?? []).map((key) => keys.find((k) => k.name === key)!),
      }),
    }),
  );
}
