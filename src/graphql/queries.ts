// Read fields per entity. Point lookups read the OLTP store, which answers them fastest.
import { dynamicField, dynamicInput, type GatewayBuilder } from './builder.js';
import type { EntityTypes } from './entities.js';

export function defineQueries(builder: GatewayBuilder, types: EntityTypes): void {
  const { entity, object } = types;
  builder.queryField(`${entity.name}_by_pk`, (t) =>
    dynamicField<unknown>(t)({
      type: object,
      description: `The current ${entity.name} row with this row_id; null when none or deleted`,
      args: { row_id: dynamicInput(t)({ type: 'UUID', required: true }) },
      resolve: (_root, args: { row_id: string }, ctx) => ctx.loaders.rowByPk(entity).load(args.row_id.toLowerCase()),
    }),
  );
}
