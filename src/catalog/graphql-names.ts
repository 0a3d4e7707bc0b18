// The GraphQL names generated from the definitions (Hasura's conventions), and the check that no
// two of them collide, so a clash is a ConfigError naming the file at start, not a builder crash.
// The graphql room takes enum type names, group keys and reverse relation names from here (it may
// not be imported by the catalog); its other names are literals there, and
// test/graphql/generated-names.test.ts proves every name of a built schema is listed here.
import type { Attribute, EntitySchema, ProjectDefinition } from './definitions.js';
import { TYPE_MAPPING } from './types.js';

export const TIME_BUCKETS = ['hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
export type TimeBucket = (typeof TIME_BUCKETS)[number];

/** Attribute types whose plain values are group-by choices. */
const GROUPABLE = new Set<Attribute['type']>(['enum', 'string', 'boolean', 'ref', 'int', 'date']);

export interface GroupKeyChoice {
  /**
   * Name of the key in results and in `<entity>_group_by`: the attribute, or `<attribute>_<bucket>`;
   * of a referenced row's field, `<ref>__<key>` (`customer__tier`): the double underscore keeps it
   * apart from the entity's own names, and the collision check below still covers it.
   */
  name: string;
  /** The attribute grouped by: the entity's own, or (with `through`) the referenced entity's. */
  attribute: Attribute;
  bucket?: TimeBucket;
  /** The ref of the entity whose referenced row holds `attribute` (one hop); its row must be live, else the key is NULL. */
  through?: Attribute;
}

/** Plain values of enum/string/boolean/ref/int/date fields, time buckets of timestamps and dates. */
function ownGroupKeys(entity: EntitySchema): GroupKeyChoice[] {
  const keys: GroupKeyChoice[] = [];
  for (const attribute of entity.attributes) {
    if (GROUPABLE.has(attribute.type)) keys.push({ name: attribute.name, attribute });
    if (attribute.type === 'timestamp' || attribute.type === 'date') {
      for (const bucket of TIME_BUCKETS) {
        if (attribute.type === 'date' && bucket === 'hour') continue;
        keys.push({ name: `${attribute.name}_${bucket}`, attribute, bucket });
      }
    }
  }
  return keys;
}

/**
 * Group-by choices: the entity's own keys, then through each ref the referenced entity's own keys
 * (one hop: revenue by `customer__tier`). `target` finds a ref's entity by name.
 */
export function groupKeyChoices(entity: EntitySchema, target: (name: string) => EntitySchema | undefined): GroupKeyChoice[] {
  const keys = ownGroupKeys(entity);
  for (const ref of entity.attributes) {
    const referenced = ref.type === 'ref' ? target(ref.refEntity!) : undefined;
    if (!referenced) continue;
    for (const key of ownGroupKeys(referenced)) keys.push({ ...key, name: `${ref.name}__${key.name}`, through: ref });
  }
  return keys;
}

export function enumTypeName(entity: EntitySchema, attribute: Attribute): string {
  return `${entity.name}_${attribute.name}_enum`;
}

/** The field on a ref's target that lists the rows pointing at it: `orders`, or `orders_by_<ref>` when several refs do. */
export function reverseRelationFieldName(from: EntitySchema, attribute: Attribute, refsFromSameEntity: number): string {
  return refsFromSameEntity === 1 ? from.name : `${from.name}_by_${attribute.name}`;
}

/** Names that exist whatever the definitions say: built-in and gateway scalars, the admin API. */
const FIXED_TYPES = [
  'Query',
  'Mutation',
  'String',
  'Int',
  'Float',
  'Boolean',
  'ID',
  ...new Set(Object.values(TYPE_MAPPING).map((m) => m.graphqlScalar)),
  ...[...new Set(Object.values(TYPE_MAPPING).map((m) => m.graphqlScalar))].map((s) => `${s}_comparison_exp`),
  // Conditions on a group's aggregates (HAVING): counts are Int, other figures their value's scalar.
  ...['Int', ...new Set(Object.values(TYPE_MAPPING).map((m) => m.graphqlScalar))].map((s) => `${s}_having_exp`),
  // The count predicate of <entity>_aggregate_bool_exp_count (Hasura's).
  'Int_comparison_exp',
  'order_by',
  'flush_result',
  'compacted_file',
  'compact_result',
  'lake_entity_status',
  'lake_job',
  'verify_result',
  'rebuild_result',
];
const FIXED_QUERY_FIELDS = ['lake_status', 'jobs'];
const FIXED_MUTATION_FIELDS = ['flush', 'compact', 'verify', 'rebuild'];

/** Per-entity type suffixes; reserved whether or not the entity has the attributes that make the type appear. */
export const ENTITY_TYPE_SUFFIXES = [
  'bool_exp',
  'order_by',
  'insert_input',
  'set_input',
  'inc_input',
  'mutation_response',
  'on_conflict',
  'constraint',
  'update_column',
  'updates',
  'sum_fields',
  'avg_fields',
  'min_fields',
  'max_fields',
  'count_distinct_fields',
  'stddev_fields',
  'stddev_pop_fields',
  'stddev_samp_fields',
  'variance_fields',
  'var_pop_fields',
  'var_samp_fields',
  'aggregate_fields',
  'group_by',
  'group_key',
  'group',
  'aggregate',
  'group_having',
  'group_sum_having',
  'group_float_having',
  'group_min_max_having',
  'group_count_distinct_having',
  'group_order_by',
  'group_key_order_by',
  'group_numeric_order_by',
  'group_min_max_order_by',
  'group_count_distinct_order_by',
  'select_column',
  'aggregate_order_by',
  'sum_order_by',
  'avg_order_by',
  'max_order_by',
  'min_order_by',
  'stddev_order_by',
  'stddev_pop_order_by',
  'stddev_samp_order_by',
  'variance_order_by',
  'var_pop_order_by',
  'var_samp_order_by',
  'aggregate_bool_exp',
  'aggregate_bool_exp_count',
  'aggregate_bool_exp_sum',
  'aggregate_bool_exp_avg',
  'aggregate_bool_exp_min',
  'aggregate_bool_exp_max',
  'aggregate_bool_exp_bool_and',
  'aggregate_bool_exp_bool_or',
  'numeric_column',
] as const;

/** Where a generated name lives: the one namespace of types, or the fields or values of one type. */
export type NameScope = { kind: 'type' } | { kind: 'field'; of: string } | { kind: 'enum value'; of: string };

export interface GeneratedName {
  scope: NameScope;
  name: string;
  /** What generates it, for the error message: `entity "orders" in schema/shop.json`. */
  origin: string;
}

/**
 * Every GraphQL name the gateway generates for these projects, as if they shared one schema; each
 * project has its own (graphqlNameProblems checks them one project at a time).
 */
export function generatedGraphqlNames(projects: readonly ProjectDefinition[]): GeneratedName[] {
  const names: GeneratedName[] = [];
  const type = (name: string, origin: string) => names.push({ scope: { kind: 'type' }, name, origin });
  const field = (of: string, name: string, origin: string) => names.push({ scope: { kind: 'field', of }, name, origin });
  const value = (of: string, name: string, origin: string) => names.push({ scope: { kind: 'enum value', of }, name, origin });
  for (const name of FIXED_TYPES) type(name, 'the gateway');
  for (const name of FIXED_QUERY_FIELDS) field('Query', name, 'the admin API');
  for (const name of FIXED_MUTATION_FIELDS) field('Mutation', name, 'the admin API');

  for (const project of projects) {
    for (const entity of project.entities) {
      const n = entity.name;
      const origin = `entity "${n}" in ${project.source}`;
      type(n, origin);
      for (const suffix of ENTITY_TYPE_SUFFIXES) type(`${n}_${suffix}`, origin);
      field('Query', n, origin);
      field('Query', `${n}_by_pk`, origin);
      field('Query', `${n}_aggregate`, origin);
      field('Mutation', `insert_${n}_one`, origin);
      field('Mutation', `insert_${n}`, origin);
      field('Mutation', `update_${n}_by_pk`, origin);
      field('Mutation', `delete_${n}_by_pk`, origin);
      field('Mutation', `update_${n}`, origin);
      field('Mutation', `update_${n}_many`, origin);
      field('Mutation', `delete_${n}`, origin);
      value(`${n}_constraint`, `${n}_pkey`, origin);

      for (const system of ['row_id', 'time_slot', 'deleted_at']) field(n, system, origin);
      for (const system of ['_and', '_or', '_not', 'row_id', 'time_slot']) field(`${n}_bool_exp`, system, origin);
      for (const system of ['row_id', 'time_slot']) value(`${n}_select_column`, system, origin);
      // Hasura's enums of the boolean columns bool_and/bool_or take.
      for (const fn of ['bool_and', 'bool_or']) type(`${n}_select_column_${n}_aggregate_bool_exp_${fn}_arguments_columns`, origin);
      for (const attribute of entity.attributes) {
        const attributeOrigin = `attribute "${n}.${attribute.name}" in ${project.source}`;
        field(n, attribute.name, attributeOrigin);
        field(`${n}_bool_exp`, attribute.name, attributeOrigin);
        value(`${n}_update_column`, attribute.name, attributeOrigin);
        value(`${n}_select_column`, attribute.name, attributeOrigin);
        if (attribute.type === 'enum') {
          const enumType = enumTypeName(entity, attribute);
          type(enumType, attributeOrigin);
          type(`${enumType}_comparison_exp`, attributeOrigin);
          for (const v of attribute.values ?? []) value(enumType, v, attributeOrigin);
        }
      }
      const target = (name: string) => project.entities.find((e) => e.name === name);
      for (const key of groupKeyChoices(entity, target)) {
        const owner = key.through ? `${key.through.refEntity}.${key.attribute.name}` : `${n}.${key.attribute.name}`;
        const through = key.through ? ` through ref "${n}.${key.through.name}"` : '';
        const keyOrigin = `${key.bucket ? `the ${key.bucket} bucket of ` : ''}attribute "${owner}"${through} in ${project.source}`;
        value(`${n}_group_by`, key.name, keyOrigin);
        field(`${n}_group_key`, key.name, keyOrigin);
      }
      // Reverse relations: fields on each ref's target, beside the target's own attributes.
      const refs = project.entities.flatMap((from) =>
        from.attributes.filter((a) => a.type === 'ref' && a.refEntity === n).map((attribute) => ({ from, attribute })),
      );
      for (const { from, attribute } of refs) {
        const count = refs.filter((r) => r.from === from).length;
        const relation = reverseRelationFieldName(from, attribute, count);
        const relationOrigin = `the reverse relation of ref "${from.name}.${attribute.name}" in ${project.source}`;
        field(n, relation, relationOrigin);
        field(n, `${relation}_aggregate`, relationOrigin);
        // Filters through it: `customers_bool_exp.orders` and `.orders_aggregate` beside the attributes.
        field(`${n}_bool_exp`, relation, relationOrigin);
        field(`${n}_bool_exp`, `${relation}_aggregate`, relationOrigin);
      }
    }
  }
  return names;
}

/** GraphQL allows no enum value named true, false or null (the group_by enum lists attribute names). */
const FORBIDDEN_ENUM_VALUES = new Set(['true', 'false', 'null']);

function scopeLabel(scope: NameScope): string {
  return scope.kind === 'type' ? 'type' : scope.kind === 'field' ? `field ${scope.of}.` : `value of enum ${scope.of}: `;
}

function describe(generated: GeneratedName): string {
  return generated.scope.kind === 'type' ? `type "${generated.name}"` : `${scopeLabel(generated.scope)}${generated.name}`;
}

/**
 * One line per pair of things that generate the same GraphQL name (listing every name they share),
 * and per name GraphQL forbids; empty when all are distinct and allowed.
 */
export function graphqlNameProblems(projects: readonly ProjectDefinition[]): string[] {
  // Each project is served by a schema of its own (its endpoint), so names clash only within one.
  return projects.flatMap((project) => projectNameProblems(project));
}

function projectNameProblems(project: ProjectDefinition): string[] {
  // By origin: one attribute named null is one problem, whatever number of enums list it.
  const forbidden = new Map<string, string[]>();
  const clashes = new Map<string, { first: string; second: string; names: string[] }>();
  const seen = new Map<string, GeneratedName>();
  for (const generated of generatedGraphqlNames([project])) {
    if (generated.scope.kind === 'enum value' && FORBIDDEN_ENUM_VALUES.has(generated.name)) {
      forbidden.set(generated.origin, [...(forbidden.get(generated.origin) ?? []), describe(generated)]);
    }
    const key = `${scopeLabel(generated.scope)}\u0000${generated.name}`;
    const earlier = seen.get(key);
    if (!earlier) {
      seen.set(key, generated);
      continue;
    }
    // The same origin twice is one definition repeating itself (a duplicate enum value, say):
    // the definition checks report that.
    if (earlier.origin === generated.origin) continue;
    const pair = `${earlier.origin}\u0000${generated.origin}`;
    const clash = clashes.get(pair) ?? { first: earlier.origin, second: generated.origin, names: [] };
    clash.names.push(describe(generated));
    clashes.set(pair, clash);
  }
  return [
    ...[...clashes.values()].map(
      (c) => `${c.second}: generates the same GraphQL name${c.names.length > 1 ? 's' : ''} as ${c.first} (${c.names.join(', ')}); rename one of them`,
    ),
    ...[...forbidden].map(([origin, names]) => `${origin}: generates the GraphQL ${names.join(', ')}, which GraphQL forbids (true, false, null); rename it`),
  ];
}
