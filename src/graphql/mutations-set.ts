// Set-based mutations per entity, in Hasura's names and shapes: update_<name>(where, _set, _inc),
// update_<name>_many(updates) and delete_<name>(where); the semantics are in set-writes.ts.
import type { EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import { parseWhere } from './bind-filter.js';
import { dynamicField, dynamicInput, type GatewayBuilder, type GatewayContext } from './builder.js';
import type { EntityTypes } from './entities.js';
import { withFilter } from './access.js';
import { givenFields, mutationAnswer, setWriteServices, visibleIds, type MutationTypes } from './write-context.js';
import { checkChange, parseInc, type RowChange } from './set-changes.js';
import { childFields } from './selections.js';
import { pathIn, writeMatching, type SetStatement, type UpdateCheck } from './set-writes.js';

interface RawUpdate {
  where?: unknown;
  _set?: Record<string, unknown> | null;
  _inc?: Record<string, unknown> | null;
}

/** Binds one update's where, _set and _inc with the role's update filter and presets; `at` prefixes the paths in errors. */
function updateStatement(ctx: GatewayContext, entity: EntitySchema, raw: RawUpdate, at: string): SetStatement {
  const path = (sub: string) => pathIn({ at }, sub);
  if (raw.where === undefined || raw.where === null) throw new ValidationError(`${path('where')}: required; {} means every row`);
  const rule = ctx.access.update(entity);
  const where = withFilter(parseWhere(ctx.services.catalog, entity, raw.where, path('where')), rule.filter);
  const set = ctx.services.oltp.writer.coerce(entity, { ...givenFields(raw._set), ...rule.presets }, true, path('_set'));
  const change: RowChange = { set, inc: parseInc(entity, raw._inc, path('_inc')) };
  checkChange(change, at || 'update');
  return { where, change, at };
}

function updateCheck(ctx: GatewayContext, entity: EntitySchema): UpdateCheck {
  return { filter: ctx.access.update(entity).check, role: ctx.access.role };
}

export function defineSetMutations(builder: GatewayBuilder, types: EntityTypes, inputs: MutationTypes): void {
  const { entity } = types;
  const name = entity.name;
  const { setInput, incInput, response, boolExp } = inputs;
  const changeArgs = (t: { arg: unknown }) => {
    const arg = dynamicInput(t);
    return {
      _set: arg({ type: setInput, description: 'sets the columns of the filtered rows to the given values' }),
      ...(incInput ? { _inc: arg({ type: incInput, description: 'increments the numeric columns with given value of the filtered values' }) } : {}),
    };
  };

  const updates = builder.inputType(`${name}_updates`, {
    description: `One update of update_${name}_many`,
    fields: (t) => {
      const field = dynamicInput(t);
      return {
        _set: field({ type: setInput, description: 'sets the columns of the filtered rows to the given values' }),
        ...(incInput ? { _inc: field({ type: incInput, description: 'increments the numeric columns with given value of the filtered values' }) } : {}),
        where: field({ type: boolExp, required: true, description: 'filter the rows which have to be updated' }),
      } as never;
    },
  });

  builder.mutationField(`update_${name}`, (t) =>
    dynamicField<unknown>(t)({
      type: response,
      description: `update data of the table: "${name}" (set-based, one transaction, one change_log row per row)`,
      args: {
        where: dynamicInput(t)({ type: boolExp, required: true, description: 'filter the rows which have to be updated; {} means every row' }),
        ...changeArgs(t as never),
      },
      resolve: async (_root, args: RawUpdate, ctx) => {
        const statement = updateStatement(ctx, entity, args, '');
        const [response] = await writeMatching(setWriteServices(ctx, entity), entity, `update_${name}`, [statement], updateCheck(ctx, entity));
        return mutationAnswer(ctx, entity, response!);
      },
    }),
  );

  builder.mutationField(`update_${name}_many`, (t) =>
    dynamicField<unknown>(t)({
      type: [response],
      nullable: { list: true, items: true },
      description: `update multiples rows of table: "${name}"; the updates apply in order, in one transaction`,
      args: { updates: dynamicInput(t)({ type: [updates], required: { list: true, items: true }, description: 'updates to execute, in order' }) },
      resolve: async (_root, args: { updates: RawUpdate[] }, ctx) => {
        const statements = args.updates.map((raw, i) => updateStatement(ctx, entity, raw, `updates[${i}]`));
        if (statements.length === 0) return [];
        const responses = await writeMatching(setWriteServices(ctx, entity), entity, `update_${name}_many`, statements, updateCheck(ctx, entity));
        return responses.map((r) => mutationAnswer(ctx, entity, r));
      },
    }),
  );

  builder.mutationField(`delete_${name}`, (t) =>
    dynamicField<unknown>(t)({
      type: response,
      description: `delete data from the table: "${name}" (soft delete: sets deleted_at)`,
      args: { where: dynamicInput(t)({ type: boolExp, required: true, description: 'filter the rows which have to be deleted; {} means every row' }) },
      resolve: async (_root, args: { where?: unknown }, ctx, info) => {
        if (args.where === undefined || args.where === null) throw new ValidationError('where: required; {} means every row');
        const where = withFilter(parseWhere(ctx.services.catalog, entity, args.where, 'where'), ctx.access.delete(entity).filter);
        // Which of the rows the role may see is judged before they are deleted (no longer searched
        // after), and only when the request asks for them: a bulk delete asking affected_rows
        // alone reads none of them, nor counts them toward MAX_ROWS_PER_REQUEST.
        const judged = !ctx.access.seesAll(entity) && childFields(info, info.fieldNodes).has('returning');
        const visible = judged ? await visibleIds(ctx, entity, where, ctx.services.limits.maxInsertObjects) : undefined;
        const [response] = await writeMatching(setWriteServices(ctx, entity), entity, `delete_${name}`, [{ where, at: '' }]);
        return mutationAnswer(ctx, entity, response!, visible);
      },
    }),
  );
}
