// The write path's mutations per entity, in Hasura's names: insert_one, insert (bulk), update/delete by pk.
import { ValidationError } from '../errors/index.js';
import type { EntityRow } from '../oltp/index.js';
import { dynamicField, dynamicInput, type GatewayBuilder } from './builder.js';
import { attributeInputType, type EntityTypes } from './entities.js';

interface MutationResponse {
  affected_rows: number;
  returning: EntityRow[];
}

/** GraphQL input objects are plain records; undefined keys were not given, null ones clear a value. */
function givenFields(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

export function defineMutations(builder: GatewayBuilder, types: EntityTypes): void {
  const { entity, object } = types;

  const insertInput = builder.inputType(`${entity.name}_insert_input`, {
    description: `A new ${entity.name} row; row_id and time_slot are assigned by the gateway`,
    fields: (t) => {
      const field = dynamicInput(t);
      return Object.fromEntries(
        entity.attributes.map((a) => [a.name, field({ type: attributeInputType(types, a), required: a.required })]),
      );
    },
  });
  const setInput = builder.inputType(`${entity.name}_set_input`, {
    description: `Attributes of ${entity.name} to change; null clears an optional attribute`,
    fields: (t) => {
      const field = dynamicInput(t);
      return Object.fromEntries(entity.attributes.map((a) => [a.name, field({ type: attributeInputType(types, a) })]));
    },
  });
  const response = builder.objectRef<MutationResponse>(`${entity.name}_mutation_response`).implement({
    description: `Rows changed by a ${entity.name} mutation`,
    fields: (t) => ({
      affected_rows: t.exposeInt('affected_rows', { nullable: false }),
      returning: dynamicField<MutationResponse>(t)({
        type: [object],
        nullable: false,
        resolve: (parent) => parent.returning,
      }),
    }),
  });

  builder.mutationField(`insert_${entity.name}_one`, (t) =>
    dynamicField<unknown>(t)({
      type: object,
      description: `Insert one ${entity.name} row`,
      args: { object: dynamicInput(t)({ type: insertInput, required: true }) },
      resolve: async (_root, args, ctx) => {
        const [row] = await ctx.services.oltp.writer.insert(entity, [givenFields(args.object)]);
        return row;
      },
    }),
  );

  builder.mutationField(`insert_${entity.name}`, (t) =>
    dynamicField<unknown>(t)({
      type: response,
      description: `Insert ${entity.name} rows in one transaction: all or none`,
      args: { objects: dynamicInput(t)({ type: [insertInput], required: true }) },
      resolve: async (_root, args: { objects: Record<string, unknown>[] }, ctx) => {
        const max = ctx.services.limits.maxInsertObjects;
        if (args.objects.length > max) {
          throw new ValidationError(`insert_${entity.name}: ${args.objects.length} objects exceed the maximum of ${max} per call`);
        }
        const rows = await ctx.services.oltp.writer.insert(entity, args.objects.map(givenFields));
        return { affected_rows: rows.length, returning: rows };
      },
    }),
  );

  builder.mutationField(`update_${entity.name}_by_pk`, (t) =>
    dynamicField<unknown>(t)({
      type: object,
      description: `Change attributes of one ${entity.name} row; null when no live row has that row_id`,
      args: {
        row_id: dynamicInput(t)({ type: 'UUID', required: true }),
        _set: dynamicInput(t)({ type: setInput, required: true }),
      },
      resolve: (_root, args, ctx) => ctx.services.oltp.writer.update(entity, args.row_id.toLowerCase(), givenFields(args._set)),
    }),
  );

  builder.mutationField(`delete_${entity.name}_by_pk`, (t) =>
    dynamicField<unknown>(t)({
      type: object,
      description: `Soft-delete one ${entity.name} row (sets deleted_at); returns it, or null when no live row has that row_id`,
      args: { row_id: dynamicInput(t)({ type: 'UUID', required: true }) },
      resolve: (_root, args, ctx) => ctx.services.oltp.writer.softDelete(entity, args.row_id.toLowerCase()),
    }),
  );
}
