// Each role sees its own GraphQL schema (Hasura's rule): the project's schema with every root field,
// field, argument, input field and enum value the role may not use taken out, so they are absent
// from validation and introspection alike. Derived by name from the one generated schema, so the
// resolvers stay the same; what they must still enforce per row (filters, checks, presets, limits)
// is access.ts's.
//
// Why filter the generated schema instead of generating one per role: every generator would need
// to ask "may this role see this?" at each field it makes, and a generator that forgot would leak a
// column. Here one place decides, from names the catalog already guarantees distinct
// (graphql-names.ts), and a type whose every field is taken out is taken out with the fields that
// lead to it, so no empty type is left behind.
import { filterSchema, pruneSchema } from '@graphql-tools/utils';
import {
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isNonNullType,
  isObjectType,
  type GraphQLArgumentConfig,
  type GraphQLFieldConfig,
  type GraphQLInputFieldConfig,
  type GraphQLType,
} from 'graphql';
import { ENTITY_TYPE_SUFFIXES, groupKeyChoices, type Catalog, type EntitySchema } from '../catalog/index.js';

/** Hasura's root field of a role that may query nothing (a schema needs one query field). */
export const NO_QUERIES_FIELD = 'no_queries_available';
const NO_QUERIES_TEXT = "There are no queries available to the current role. Either there are no sources or the current role doesn't have the required permissions.";

const SYSTEM_READ = ['row_id', 'time_slot', 'deleted_at'];
/** The admin API's root fields (graphql/admin.ts): never in a role's schema. */
export const ADMIN_FIELDS: ReadonlySet<string> = new Set(['lake_status', 'jobs', 'flush', 'compact', 'verify', 'rebuild']);

/** What one role may do with one entity, as sets of names. */
interface EntityRights {
  entity: EntitySchema;
  /** Readable columns (system and attributes); null: no select permission. */
  read: ReadonlySet<string> | null;
  aggregations: boolean;
  rootFields: ReadonlySet<string>;
  /** Columns the role gives on insert/update (without the preset ones); null: not allowed. */
  insert: ReadonlySet<string> | null;
  update: ReadonlySet<string> | null;
  delete: boolean;
}

type TypeKind = 'read' | 'insert' | 'update' | 'other';

/** Which column set governs the fields of an entity's generated type. */
function kindOf(suffix: string): TypeKind {
  if (suffix === 'insert_input') return 'insert';
  if (suffix === 'set_input' || suffix === 'inc_input' || suffix === 'update_column') return 'update';
  if (['mutation_response', 'on_conflict', 'constraint', 'updates', 'aggregate', 'group'].includes(suffix)) return 'other';
  return 'read';
}

function rightsOf(entity: EntitySchema, role: string): EntityRights {
  const p = entity.permissions;
  const select = p?.select.get(role);
  const insert = p?.insert.get(role);
  const update = p?.update.get(role);
  const without = (columns: readonly string[], presets: readonly { column: string }[]) =>
    new Set(columns.filter((c) => !presets.some((s) => s.column === c)));
  return {
    entity,
    read: select ? new Set(select.columns) : null,
    aggregations: select?.allowAggregations ?? false,
    rootFields: new Set(select?.queryRootFields ?? []),
    insert: insert ? without(insert.columns, insert.set) : null,
    update: update ? without(update.columns, update.set) : null,
    delete: p?.delete.has(role) ?? false,
  };
}

/** The project's schema as `role` may see it (the catalog is the project's). */
export function schemaForRole(full: GraphQLSchema, catalog: Catalog, role: string): GraphQLSchema {
  const rights = new Map(catalog.entities.map((e) => [e.name, rightsOf(e, role)]));
  const canRead = (name: string | undefined) => (name ? rights.get(name)?.read != null : false);

  // Generated type name -> its entity and suffix ('' for the entity's object type).
  const owners = new Map<string, { rights: EntityRights; suffix: string }>();
  for (const r of rights.values()) {
    const n = r.entity.name;
    owners.set(n, { rights: r, suffix: '' });
    for (const suffix of ENTITY_TYPE_SUFFIXES) owners.set(`${n}_${suffix}`, { rights: r, suffix });
    for (const fn of ['bool_and', 'bool_or']) owners.set(`${n}_select_column_${n}_aggregate_bool_exp_${fn}_arguments_columns`, { rights: r, suffix: 'select_column' });
  }
  const groupKeys = new Map(
    catalog.entities.map((e) => [e.name, new Map(groupKeyChoices(e, (name) => catalog.entities.find((x) => x.name === name)).map((k) => [k.name, k]))]),
  );

  /** May the role use the field or enum value `name` of the generated type `typeName`? */
  const allowedMember = (typeName: string, name: string): boolean => {
    const owner = owners.get(typeName);
    if (!owner) return true;
    const { rights: r, suffix } = owner;
    const kind = kindOf(suffix);
    if (kind === 'other') return suffix !== 'mutation_response' || name !== 'returning' || r.read !== null;
    const attribute = r.entity.attributes.find((a) => a.name === name);
    // Without the permission the type is unreachable (its root fields go); empty, it goes too.
    if (kind === 'insert') return name === 'row_id' || !attribute || (r.insert?.has(name) ?? false);
    if (kind === 'update') return !attribute || (r.update?.has(name) ?? false);
    const read = r.read ?? new Set<string>();
    if (suffix === 'group_by' || suffix === 'group_key' || suffix === 'group_key_order_by') {
      const key = groupKeys.get(r.entity.name)!.get(name);
      if (key) {
        if (!key.through) return read.has(key.attribute.name);
        return read.has(key.through.name) && (rights.get(key.through.refEntity!)?.read?.has(key.attribute.name) ?? false);
      }
    }
    if (attribute || SYSTEM_READ.includes(name)) {
      if (!read.has(name)) return false;
      return attribute?.type !== 'ref' || ['', 'bool_exp', 'order_by'].includes(suffix) === false || canRead(attribute.refEntity);
    }
    const relation = catalog.reverseRelations(r.entity);
    const child = (relation.get(name) ?? (name.endsWith('_aggregate') ? relation.get(name.slice(0, -'_aggregate'.length)) : undefined))?.from;
    if (child) {
      const childRights = rights.get(child.name)!;
      return childRights.read !== null && (!name.endsWith('_aggregate') || relation.has(name) || childRights.aggregations);
    }
    return true;
  };

  /** May the role use the root field? */
  const allowedRoot = (operation: string, name: string): boolean => {
    if (name === NO_QUERIES_FIELD) return false;
    for (const r of rights.values()) {
      const n = r.entity.name;
      if (operation === 'Query') {
        if (name === n) return r.read !== null && r.rootFields.has('select');
        if (name === `${n}_by_pk`) return r.read !== null && r.rootFields.has('select_by_pk');
        if (name === `${n}_aggregate`) return r.read !== null && r.aggregations && r.rootFields.has('select_aggregate');
      } else {
        // Hasura's: a field that returns the row itself needs the select permission too.
        if (name === `insert_${n}_one`) return r.insert !== null && r.read !== null;
        if (name === `insert_${n}`) return r.insert !== null;
        if (name === `update_${n}_by_pk`) return r.update !== null && r.read !== null;
        if (name === `update_${n}` || name === `update_${n}_many`) return r.update !== null;
        if (name === `delete_${n}_by_pk`) return r.delete && r.read !== null;
        if (name === `delete_${n}`) return r.delete;
      }
    }
    // The admin API is the admin's; a field neither generated for an entity nor the admin API's
    // is not the gateway's (a test's own schema): it stays.
    return !ADMIN_FIELDS.has(name);
  };
  /** Upserts update rows: on_conflict needs the update permission (Hasura's rule). */
  const allowedArgument = (typeName: string | undefined, fieldName: string | undefined, argName: string | undefined): boolean => {
    if (typeName !== 'Mutation' || argName !== 'on_conflict' || !fieldName) return true;
    const entity = [...rights.values()].find((r) => fieldName === `insert_${r.entity.name}` || fieldName === `insert_${r.entity.name}_one`);
    return !entity || entity.update !== null;
  };

  const schema = filterSchema({
    schema: full,
    rootFieldFilter: (operation, name) => allowedRoot(operation, name),
    objectFieldFilter: (typeName, name) => allowedMember(typeName, name),
    inputObjectFieldFilter: (typeName, name) => (typeName && name ? allowedMember(typeName, name) : true),
    enumValueFilter: (typeName, name) => allowedMember(typeName, name),
    argumentFilter: allowedArgument,
  });
  return withoutEmptyTypes(schema);
}

/**
 * Takes out types left with no fields or values, and whatever needs them (a field of such a type,
 * a field with a required argument of one), until none is left: found on the type graph first,
 * then taken out in one pass (each pass over the schema costs tens of milliseconds).
 */
function withoutEmptyTypes(schema: GraphQLSchema): GraphQLSchema {
  const queryName = schema.getQueryType()?.name ?? 'Query';
  const mutationName = schema.getMutationType()?.name;
  const empty = new Set<string>();
  const named = (type: GraphQLType) => getNamedType(type).name;
  const usable = (field: { type: GraphQLType; args?: readonly { type: GraphQLType }[] }) =>
    !empty.has(named(field.type)) && !(field.args ?? []).some((arg) => isNonNullType(arg.type) && empty.has(named(arg.type)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || empty.has(type.name)) continue;
      const nothing =
        isObjectType(type) || isInputObjectType(type)
          ? !Object.values(type.getFields()).some((field) => usable(field as { type: GraphQLType; args?: readonly { type: GraphQLType }[] }))
          : isEnumType(type) && type.getValues().length === 0;
      if (nothing) {
        empty.add(type.name);
        changed = true;
      }
    }
  }
  const queryEmpty = empty.delete(queryName);
  const mutationEmpty = mutationName ? empty.delete(mutationName) : false;
  let out = schema;
  if (empty.size > 0) {
    const keep = (field: { type: GraphQLType }) => !empty.has(named(field.type));
    const keepField = (field: GraphQLFieldConfig<unknown, unknown>) =>
      keep(field) && !Object.values(field.args ?? {}).some((arg: GraphQLArgumentConfig) => isNonNullType(arg.type) && empty.has(named(arg.type)));
    out = filterSchema({
      schema,
      typeFilter: (name) => !empty.has(name),
      rootFieldFilter: (_op, _name, field) => keepField(field),
      objectFieldFilter: (_type, _name, field) => keepField(field as GraphQLFieldConfig<unknown, unknown>),
      inputObjectFieldFilter: (_type, _name, field) => !field || keep(field as GraphQLInputFieldConfig),
      argumentFilter: (_type, _field, _arg, arg) => !arg || keep(arg),
    });
  }
  if (queryEmpty || mutationEmpty) out = replaceRoots(out, queryEmpty, mutationEmpty);
  return pruneSchema(out);
}

/** A query root with only Hasura's `no_queries_available`, and no mutation root, where they are empty. */
function replaceRoots(schema: GraphQLSchema, queryEmpty: boolean, mutationEmpty: boolean): GraphQLSchema {
  const config = schema.toConfig();
  const query = queryEmpty
    ? new GraphQLObjectType({
        name: config.query?.name ?? 'Query',
        fields: { [NO_QUERIES_FIELD]: { type: new GraphQLNonNull(GraphQLString), resolve: () => NO_QUERIES_TEXT } },
      })
    : config.query;
  const roots = new Set([config.query?.name, config.mutation?.name]);
  return new GraphQLSchema({
    ...config,
    query,
    mutation: mutationEmpty ? undefined : config.mutation,
    types: config.types.filter((t) => !roots.has(t.name)),
  });
}

/** Role schemas of one project, built on first use; roles no permission names share one. */
export class RoleSchemas {
  private readonly byRole = new Map<string, GraphQLSchema>();
  private readonly named: ReadonlySet<string>;

  constructor(
    private readonly full: GraphQLSchema,
    private readonly catalog: Catalog,
  ) {
    const named = new Set<string>();
    for (const e of catalog.entities) {
      for (const map of [e.permissions?.select, e.permissions?.insert, e.permissions?.update, e.permissions?.delete]) {
        for (const role of map?.keys() ?? []) named.add(role);
      }
    }
    this.named = named;
  }

  /** The schema of `role` (the full one is the admin's). */
  of(role: string): GraphQLSchema {
    // A role no definition names may do nothing; one schema serves them all (a bound on the cache).
    const key = this.named.has(role) ? role : '';
    let schema = this.byRole.get(key);
    if (!schema) {
      schema = schemaForRole(this.full, this.catalog, key || '\u0000none');
      this.byRole.set(key, schema);
    }
    return schema;
  }
}
