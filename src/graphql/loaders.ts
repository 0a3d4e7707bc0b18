// Per-request DataLoaders: one OLTP query per batch of row_ids, not one per row; every row they
// hand to a field is charged to the request's row budget. A row the role may see only when its
// select filter holds (a `_by_pk`, a ref) is read through the search instead, with the filter.
import DataLoader from 'dataloader';
import type { Attribute, EntitySchema } from '../catalog/index.js';
import { SYSTEM_COLUMNS, type AggregatePlan, type AggregateRequest, type AggregateValues, type PageArgs } from '../query/index.js';
import type { EntityRow } from '../oltp/index.js';
import type { RequestAccess } from './access.js';
import type { RowBudget } from './bounds.js';
import type { RequestSearch } from './request-search.js';
import type { GatewayServices, RequestLoaders, RowLoader } from './builder.js';

export function createLoaders(services: GatewayServices, search: RequestSearch, budget: RowBudget, access: RequestAccess): RequestLoaders {
  const byEntity = new Map<string, RowLoader<EntityRow | null>>();
  const children = new Map<string, RowLoader<EntityRow[]>>();
  const aggregates = new Map<string, RowLoader<AggregateValues>>();
  return {
    childAggregates(plan: AggregatePlan, via: Attribute, request: AggregateRequest, argsKey: string) {
      // One loader per relation, arguments and figures: a level's parents share one statement.
      const key = `${plan.entity.name}.${via.name}:${argsKey}`;
      let loader = aggregates.get(key);
      if (!loader) {
        const batches = new DataLoader(async (parentIds: readonly string[]) => {
          const figures = await search.childAggregates({ ...plan, parents: { via, ids: parentIds } }, request);
          return parentIds.map((id) => figures.get(id)!);
        });
        loader = { load: (parentId) => batches.load(parentId) };
        aggregates.set(key, loader);
      }
      return loader;
    },
    children(entity: EntitySchema, via: Attribute, argsOf: () => PageArgs, argsKey: string) {
      // One loader per relation and arguments: parents asking the same question share a batch.
      const key = `${entity.name}.${via.name}:${argsKey}`;
      let loader = children.get(key);
      if (!loader) {
        const args = argsOf();
        const where = `${via.name} → ${entity.name}`;
        const batches = new DataLoader(async (parentIds: readonly string[]) => {
          const rows = await search.children(entity, via, parentIds, args, where);
          return parentIds.map((id) => rows.get(id) ?? []);
        });
        // Charged per field resolved, not per batch: a cached parent's rows appear in the answer again.
        loader = {
          load: async (parentId) => {
            const rows = await batches.load(parentId);
            budget.take(rows.length, where);
            return rows;
          },
        };
        children.set(key, loader);
      }
      return loader;
    },
    rowByPk(entity: EntitySchema) {
      let loader = byEntity.get(entity.name);
      if (!loader) {
        const batches = new DataLoader(async (ids: readonly string[]) => {
          budget.check();
          if (access.seesAll(entity)) {
            const rows = await services.oltp.readRows(entity, ids);
            return ids.map((id) => rows.get(id) ?? null);
          }
          // The search ANDs the role's select filter (request-search.ts); it charges what it reads,
          // so the loader below does not charge these rows again.
          const pinned = { kind: 'in' as const, column: SYSTEM_COLUMNS.row_id!, values: [...ids], negated: false };
          const rows = await search.list(entity, { where: pinned, orderBy: [], limit: ids.length, offset: 0 }, entity.name);
          const byId = new Map(rows.map((r) => [r.row_id, r]));
          return ids.map((id) => byId.get(id) ?? null);
        });
        loader = {
          load: async (id) => {
            const row = await batches.load(id);
            if (row && access.seesAll(entity)) budget.take(1, entity.name);
            return row;
          },
        };
        byEntity.set(entity.name, loader);
      }
      return loader;
    },
  };
}
