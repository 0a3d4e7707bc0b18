// Per-request DataLoaders: one OLTP query per batch of row_ids, not one per row.
import DataLoader from 'dataloader';
import type { Attribute, EntitySchema } from '../catalog/index.js';
import type { PageArgs } from '../query/index.js';
import type { EntityRow } from '../oltp/index.js';
import type { GatewayServices, RequestLoaders } from './builder.js';

export function createLoaders(services: GatewayServices): RequestLoaders {
  const byEntity = new Map<string, DataLoader<string, EntityRow | null>>();
  const children = new Map<string, DataLoader<string, EntityRow[]>>();
  return {
    children(entity: EntitySchema, via: Attribute, args: PageArgs, argsKey: string) {
      // One loader per relation and arguments: parents asking the same question share a batch.
      const key = `${entity.name}.${via.name}:${argsKey}`;
      let loader = children.get(key);
      if (!loader) {
        loader = new DataLoader(async (parentIds) => {
          const rows = await services.search.children(entity, via, parentIds, args);
          return parentIds.map((id) => rows.get(id) ?? []);
        });
        children.set(key, loader);
      }
      return loader;
    },
    rowByPk(entity: EntitySchema) {
      let loader = byEntity.get(entity.name);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const rows = await services.oltp.readRows(entity, ids);
          return ids.map((id) => rows.get(id) ?? null);
        });
        byEntity.set(entity.name, loader);
      }
      return loader;
    },
  };
}
