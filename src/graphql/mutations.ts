// The write path's mutations per entity, in Hasura's names: insert_one and insert (bulk, with
// on_conflict upserts and client row_ids), update/delete by pk; set-based ones in mutations-set.ts.
import type { EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import { checkRowId } from '../oltp/index.js';
import { parseWhere } from './bind-filter.js';
import { dynamicField, dynamicInput, type GatewayBuilder, type GatewayContext } from './builder.js';
import { attributeInputType, type EntityTypes } from './entities.js';
import { defineSetMutations } from './mutations-set.js';
import type { MutationResponse, SetWriteServices } from './set-writes.js';
import { applyChange, checkChange, incrementable, parseInc } from './set-changes.js';
import { insertRows, type InsertObject, type OnConflict } from './upsert.js';

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

export function setWriteServices(ctx: GatewayContext): SetWriteServices {
  // The process's search, not the request's: a retry must see a newer snapshot than the last try.
  return { search: ctx.services.search, writer: ctx.services.oltp.writer, maxRows: ctx.services.limits.maxInsertObjects };
}

interface RawInsertObject extends Record<string, unknown> {
  row_id?: string | null;
}

interface RawOnConflict {
  constraint: string;
  update_columns: string[];
  where?: unknown;
}

function insertObjects(raw: readonly RawInsertObject[]): InsertObject[] {
  return raw.map((object, i) => {
    // As the writer names them: a lone object is `object`, one of several `objects[i]`.
    const at = raw.length === 1 ? undefined : `objects[${i}]`;
    const { row_id: rowId, ...input } = givenFields(object) as RawInsertObject;
    return {
      rowId: rowId === undefined || rowId === null ? undefined : checkRowId(rowId, `${at ?? 'object'}.row_id`),
      input,
      at,
    };
  });
}

function onConflictOf(ctx: GatewayContext, entity: EntitySchema, raw: RawOnConflict | null | undefined): OnConflict | null {
  if (!raw) return null;
  return {
    updateColumns: [...new Set(raw.update_columns ?? [])],
    where: parseWhere(ctx.services.catalog, entity, raw.where ?? null, 'on_conflict.where'),
  };
}

export function defineMutations(builder: GatewayBuilder, types: EntityTypes): void {
  const { entity, object } = types;
  const name = entity.name;

  const insertInput = builder.inputType(`${name}_insert_input`, {
    description: `A new ${name} row; time_slot is assigned by the gateway, and row_id too unless given`,
    fields: (t) => {
      const field = dynamicInput(t);
      return Object.fromEntries([
        [
          'row_id',
          field({
            type: 'UUID',
            description: 'A client-chosen row_id (UUID v7), so a retried insert with on_conflict does not double the row; default: a new one',
          }),
        ],
        ...entity.attributes.map((a) => [a.name, field({ type: attributeInputType(types, a), required: a.required })]),
      ]);
    },
  });
  const setInput = builder.inputType(`${name}_set_input`, {
    description: `Attributes of ${name} to change; null clears an optional attribute`,
    fields: (t) => {
      const field = dynamicInput(t);
      return Object.fromEntries(entity.attributes.map((a) => [a.name, field({ type: attributeInputType(types, a) })]));
    },
  });
  const numeric = incrementable(entity);
  const incInput =
    numeric.length === 0
      ? null
      : builder.inputType(`${name}_inc_input`, {
          description: `Amounts to add to numeric attributes of ${name}; a NULL value stays NULL`,
          fields: (t) => {
            const field = dynamicInput(t);
            return Object.fromEntries(
              entity.attributes.filter((a) => numeric.includes(a.name)).map((a) => [a.name, field({ type: attributeInputType(types, a) })]),
            );
          },
        });
  const response = builder.objectRef<MutationResponse>(`${name}_mutation_response`).implement({
    description: `Rows changed by a ${name} mutation`,
    fields: (t) => ({
      affected_rows: t.exposeInt('affected_rows', { nullable: false, description: 'Number of rows affected by the mutation' }),
      returning: dynamicField<MutationResponse>(t)({
        type: [object],
        nullable: false,
        description: 'The rows as the mutation wrote them',
        resolve: (parent) => parent.returning,
      }),
    }),
  });
  const constraint = builder.enumType(`${name}_constraint`, {
    description: `unique or primary key constraints on table "${name}"`,
    values: { [`${name}_pkey`]: { description: 'unique or primary key constraint on columns "row_id"' } },
  });
  const updateColumn = builder.enumType(`${name}_update_column`, {
    description: `update columns of table "${name}"`,
    values: Object.fromEntries(entity.attributes.map((a) => [a.name, { description: 'column name' }])),
  });
  const onConflict = builder.inputType(`${name}_on_conflict`, {
    description: `on_conflict condition type for table "${name}": update_columns [] does nothing on a conflict`,
    fields: (t) => {
      const field = dynamicInput(t);
      return {
        constraint: field({ type: constraint, required: true }),
        update_columns: field({ type: [updateColumn], required: true, defaultValue: [] }),
        where: field({ type: `${name}_bool_exp`, description: 'Update only existing rows that match; others are neither changed nor returned' }),
      } as never;
    },
  });
  const onConflictArg = (t: { arg: unknown }) =>
    dynamicInput(t)({ type: onConflict, description: 'upsert condition: a row whose row_id exists is updated (update_columns) or skipped' });

  builder.mutationField(`insert_${name}_one`, (t) =>
    dynamicField<unknown>(t)({
      type: object,
      description: `Insert one ${name} row; null when on_conflict skipped it`,
      args: { object: dynamicInput(t)({ type: insertInput, required: true }), on_conflict: onConflictArg(t as never) },
      resolve: async (_root, args: { object: RawInsertObject; on_conflict?: RawOnConflict | null }, ctx) => {
        const rows = await insertRows(setWriteServices(ctx), ctx.services.catalog, entity, `insert_${name}_one`, insertObjects([args.object]), onConflictOf(ctx, entity, args.on_conflict));
        return rows[0] ?? null;
      },
    }),
  );

  builder.mutationField(`insert_${name}`, (t) =>
    dynamicField<unknown>(t)({
      type: response,
      description: `Insert ${name} rows in one transaction: all or none`,
      args: { objects: dynamicInput(t)({ type: [insertInput], required: true }), on_conflict: onConflictArg(t as never) },
      resolve: async (_root, args: { objects: RawInsertObject[]; on_conflict?: RawOnConflict | null }, ctx) => {
        const max = ctx.services.limits.maxInsertObjects;
        if (args.objects.length > max) {
          throw new ValidationError(`insert_${name}: ${args.objects.length} objects exceed the maximum of ${max} per call`);
        }
        const rows = await insertRows(setWriteServices(ctx), ctx.services.catalog, entity, `insert_${name}`, insertObjects(args.objects), onConflictOf(ctx, entity, args.on_conflict));
        return { affected_rows: rows.length, returning: rows };
      },
    }),
  );

  builder.mutationField(`update_${name}_by_pk`, (t) =>
    dynamicField<unknown>(t)({
      type: object,
      description: `Change attributes of one ${name} row; null when no live row has that row_id`,
      args: {
        row_id: dynamicInput(t)({ type: 'UUID', required: true }),
        _set: dynamicInput(t)({ type: setInput, description: 'sets the columns of the row to the given values' }),
        ...(incInput ? { _inc: dynamicInput(t)({ type: incInput, description: 'increments the numeric columns with given value' }) } : {}),
      },
      resolve: (_root, args: { row_id: string; _set?: Record<string, unknown> | null; _inc?: Record<string, unknown> | null }, ctx) => {
        const writer = ctx.services.oltp.writer;
        const change = { set: writer.coerce(entity, givenFields(args._set), true), inc: parseInc(entity, args._inc, '_inc') };
        // An empty _set alone stays allowed here (it writes a new version, as before _inc existed).
        if (Object.keys(change.inc).length > 0) checkChange(change, 'update');
        const rowId = args.row_id.toLowerCase();
        return writer.transaction(async (tx) => {
          const before = (await tx.lockLive(entity, [rowId])).get(rowId);
          if (!before) return null;
          const values = applyChange(entity, rowId, before.values, change, '_inc');
          const changed = new Set([...Object.keys(change.set), ...Object.keys(change.inc)]);
          return (await tx.write(entity, { updates: [{ before, values, changed }] })).updated[0];
        });
      },
    }),
  );

  builder.mutationField(`delete_${name}_by_pk`, (t) =>
    dynamicField<unknown>(t)({
      type: object,
      description: `Soft-delete one ${name} row (sets deleted_at); returns it, or null when no live row has that row_id`,
      args: { row_id: dynamicInput(t)({ type: 'UUID', required: true }) },
      resolve: (_root, args, ctx) => ctx.services.oltp.writer.softDelete(entity, args.row_id.toLowerCase()),
    }),
  );

  defineSetMutations(builder, types, { setInput, incInput, response, boolExp: `${name}_bool_exp` });
}
