// The write path's mutations per entity, in Hasura's names: insert_one and insert (bulk, with
// on_conflict upserts and client row_ids), update/delete by pk; set-based ones in mutations-set.ts.
import type { EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import { checkRowId, type EntityRow } from '../oltp/index.js';
import { withFilter, type InsertGuard } from './access.js';
import { parseWhere } from './bind-filter.js';
import { dynamicField, dynamicInput, type GatewayBuilder, type GatewayContext } from './builder.js';
import { attributeInputType, type EntityTypes } from './entities.js';
import { defineSetMutations } from './mutations-set.js';
import { writeMatching } from './set-writes.js';
import { applyChange, checkChange, incrementable, parseInc } from './set-changes.js';
import { insertRows, type InsertObject, type OnConflict } from './upsert.js';
import { givenFields, mutationAnswer, pinnedRow, setWriteServices, visibleIds, visibleRows, type MutationAnswer } from './write-context.js';

interface RawInsertObject extends Record<string, unknown> {
  row_id?: string | null;
}

interface RawOnConflict {
  constraint: string;
  update_columns: string[];
  where?: unknown;
}

function insertObjects(raw: readonly RawInsertObject[], presets: Record<string, unknown> = {}): InsertObject[] {
  return raw.map((object, i) => {
    // As the writer names them: a lone object is `object`, one of several `objects[i]`.
    const at = raw.length === 1 ? undefined : `objects[${i}]`;
    // One pass over the object's keys: a batch has up to MAX_INSERT_OBJECTS of them.
    let rowId: string | null | undefined;
    const input: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(object)) {
      if (value === undefined) continue;
      if (key === 'row_id') rowId = value as string | null;
      else input[key] = value;
    }
    return {
      rowId: rowId === undefined || rowId === null ? undefined : checkRowId(rowId, `${at ?? 'object'}.row_id`),
      // The insert permission's presets win over what the object says (Hasura's `set`).
      input: Object.assign(input, presets),
      at,
    };
  });
}

/**
 * Binds an insert's permission and on_conflict (presets, checks, and the update filter on
 * conflicts) and writes; returns the rows as written, also those the role may not read back.
 */
async function insertCall(ctx: GatewayContext, entity: EntitySchema, field: string, objects: readonly RawInsertObject[], raw: RawOnConflict | null | undefined): Promise<EntityRow[]> {
  const insert = ctx.access.insert(entity);
  const update = raw ? ctx.access.update(entity) : null;
  const onConflict: OnConflict | null = raw
    ? {
        updateColumns: [...new Set(raw.update_columns ?? [])],
        where: withFilter(parseWhere(ctx.services.catalog, entity, raw.where ?? null, 'on_conflict.where'), update!.filter),
      }
    : null;
  const guard: InsertGuard = { role: ctx.access.role, insertCheck: insert.check, updateCheck: update?.check ?? null, updatePresets: update?.presets ?? {} };
  return insertRows(setWriteServices(ctx, entity), ctx.services.catalog, entity, field, insertObjects(objects, insert.presets), onConflict, guard);
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
  const response = builder.objectRef<MutationAnswer>(`${name}_mutation_response`).implement({
    description: `Rows changed by a ${name} mutation`,
    fields: (t) => ({
      affected_rows: t.exposeInt('affected_rows', { nullable: false, description: 'Number of rows affected by the mutation' }),
      returning: dynamicField<MutationAnswer>(t)({
        type: [object],
        nullable: false,
        description: 'The rows as the mutation wrote them',
        resolve: (parent) => parent.returning(),
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
        const rows = await insertCall(ctx, entity, `insert_${name}_one`, [args.object], args.on_conflict);
        return (await visibleRows(ctx, entity, rows))[0] ?? null;
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
        const rows = await insertCall(ctx, entity, `insert_${name}`, args.objects, args.on_conflict);
        // affected_rows counts what was written, also rows the role may not read back.
        return mutationAnswer(ctx, entity, { affected_rows: rows.length, returning: rows });
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
      resolve: async (_root, args: { row_id: string; _set?: Record<string, unknown> | null; _inc?: Record<string, unknown> | null }, ctx) => {
        const writer = ctx.services.oltp.writer;
        const rule = ctx.access.update(entity);
        const change = { set: writer.coerce(entity, { ...givenFields(args._set), ...rule.presets }, true), inc: parseInc(entity, args._inc, '_inc') };
        // An empty _set alone stays allowed here (it writes a new version, as before _inc existed).
        if (Object.keys(change.inc).length > 0) checkChange(change, 'update');
        const rowId = args.row_id.toLowerCase();
        if (!ctx.access.admin) {
          // A role's filter decides which row it may change, and its check what the row may become:
          // the set-based path judges both, as update_<name> does.
          const statement = { where: withFilter(pinnedRow(rowId), rule.filter), change, at: '' };
          const [response] = await writeMatching(setWriteServices(ctx, entity), entity, `update_${name}_by_pk`, [statement], { filter: rule.check, role: ctx.access.role });
          return (await visibleRows(ctx, entity, response!.returning))[0] ?? null;
        }
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
      resolve: async (_root, args: { row_id: string }, ctx) => {
        const rowId = args.row_id.toLowerCase();
        if (ctx.access.admin) return ctx.services.oltp.writer.softDelete(entity, rowId);
        const rule = ctx.access.delete(entity);
        const where = withFilter(pinnedRow(rowId), rule.filter);
        // Judged before: a deleted row is no longer searched.
        const visible = await visibleIds(ctx, entity, where, 1);
        const [response] = await writeMatching(setWriteServices(ctx, entity), entity, `delete_${name}_by_pk`, [{ where, at: '' }]);
        return (await visibleRows(ctx, entity, response!.returning, visible))[0] ?? null;
      },
    }),
  );

  defineSetMutations(builder, types, { setInput, incInput, response, boolExp: `${name}_bool_exp` });
}
