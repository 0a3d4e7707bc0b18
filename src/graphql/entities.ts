// One GraphQL object type per entity (typed attribute fields, refs resolved through DataLoader).
import type { Attribute, Catalog, EntitySchema } from '../catalog/index.js';
import { TYPE_MAPPING, enumTypeName } from '../catalog/index.js';
import { ConfigError } from '../errors/index.js';
import type { EntityRow } from '../oltp/index.js';
import { dynamicField, type GatewayBuilder } from './builder.js';

type ObjectRef = ReturnType<GatewayBuilder['objectRef']>;
type EnumRef = ReturnType<GatewayBuilder['enumType']>;

/** The generated GraphQL types of one entity, shared by the query and mutation generators. */
export interface EntityTypes {
  readonly entity: EntitySchema;
  readonly object: ObjectRef;
  /** Generated enum types, by attribute name. */
  readonly enums: ReadonlyMap<string, EnumRef>;
}

/**
 * The GraphQL input type of an attribute's value: its scalar, its generated enum, or for a ref the
 * UUID of the referenced row.
 */
export function attributeInputType(types: EntityTypes, attribute: Attribute): string | EnumRef {
  return attribute.type === 'enum' ? types.enums.get(attribute.name)! : TYPE_MAPPING[attribute.type].graphqlScalar;
}

/**
 * An enum value this process's definition lists. During a rolling deploy a newer process may store
 * a value added after this one started; GraphQL cannot show it here, so say why instead of failing
 * as an internal error.
 */
export function knownEnumValue(entity: EntitySchema, attribute: Attribute, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && attribute.values?.includes(value)) return value;
  throw new ConfigError(
    `${entity.name}.${attribute.name}: the stored value ${JSON.stringify(value)} is not in this process's definition (a newer definition added it); restart the gateway with that definition`,
  );
}

/** An attribute marked `"deprecated": true` in its definition is flagged so in GraphQL. */
function deprecation(attribute: Attribute): { deprecationReason?: string } {
  return attribute.deprecated ? { deprecationReason: 'Deprecated in the schema definition; a later definition may drop it' } : {};
}

export function defineEntityTypes(builder: GatewayBuilder, catalog: Catalog): Map<string, EntityTypes> {
  const all = new Map<string, EntityTypes>();
  // Refs first, fields second: entities refer to each other in any order.
  for (const entity of catalog.entities) {
    const enums = new Map<string, EnumRef>();
    for (const attribute of entity.attributes) {
      if (attribute.type !== 'enum') continue;
      enums.set(
        attribute.name,
        builder.enumType(enumTypeName(entity, attribute), {
          description: `Values of ${entity.name}.${attribute.name}`,
          values: attribute.values!,
        }),
      );
    }
    all.set(entity.name, { entity, object: builder.objectRef<EntityRow>(entity.name), enums });
  }
  for (const types of all.values()) {
    const { entity } = types;
    types.object.implement({
      description: `${entity.project}.${entity.name} (schema_id ${entity.id})`,
      fields: (t) => {
        const field = dynamicField<EntityRow>(t);
        const fields: Record<string, unknown> = {
          row_id: field({ type: 'UUID', nullable: false, resolve: (row) => row.row_id }),
          time_slot: field({
            type: 'BigInt',
            nullable: false,
            description: 'Commit slot of this version (ms since epoch, strictly monotonic per entity)',
            resolve: (row) => row.time_slot,
          }),
          deleted_at: field({
            type: 'BigInt',
            description: 'Soft-delete time (ms since epoch); null while the row is live',
            resolve: (row) => row.deleted_at,
          }),
        };
        for (const attribute of entity.attributes) {
          if (attribute.type === 'ref') {
            const target = all.get(attribute.refEntity!)!;
            fields[attribute.name] = field({
              type: target.object,
              description: `The referenced ${target.entity.name} row; null when unset or deleted`,
              ...deprecation(attribute),
              resolve: (row, _args, ctx) => {
                const id = row.values[attribute.name];
                return typeof id === 'string' ? ctx.loaders.rowByPk(target.entity).load(id) : null;
              },
            });
          } else {
            fields[attribute.name] = field({
              type: attributeInputType(types, attribute),
              nullable: !attribute.required,
              ...deprecation(attribute),
              resolve: (row) => (attribute.type === 'enum' ? knownEnumValue(entity, attribute, row.values[attribute.name]) : (row.values[attribute.name] ?? null)),
            });
          }
        }
        return fields as never;
      },
    });
  }
  return all;
}
