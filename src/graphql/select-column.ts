// Hasura's `<entity>_select_column` enum (the columns distinct_on and aggregate arguments name),
// defined once per schema builder and entity, whichever generator asks first.
import type { EntitySchema } from '../catalog/index.js';
import type { GatewayBuilder } from './builder.js';

type EnumRef = ReturnType<GatewayBuilder['enumType']>;

const defined = new WeakMap<GatewayBuilder, Map<string, EnumRef>>();

/** The columns of `entity` a select_column value names: row_id, time_slot and every attribute. */
export function selectColumns(entity: EntitySchema): string[] {
  return ['row_id', 'time_slot', ...entity.attributes.map((a) => a.name)];
}

/** The `<entity>_select_column` enum of this builder, created on first use; its values are column names. */
export function selectColumnEnum(builder: GatewayBuilder, entity: EntitySchema): EnumRef {
  let byEntity = defined.get(builder);
  if (!byEntity) {
    byEntity = new Map();
    defined.set(builder, byEntity);
  }
  let ref = byEntity.get(entity.name);
  if (!ref) {
    ref = builder.enumType(`${entity.name}_select_column`, {
      description: `Select columns of table "${entity.name}"`,
      values: Object.fromEntries(selectColumns(entity).map((column) => [column, { value: column, description: 'column name' }])),
    });
    byEntity.set(entity.name, ref);
  }
  return ref;
}
