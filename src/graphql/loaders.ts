// Per-request DataLoaders: one OLTP query per batch of row_ids, not one per row.
import DataLoader from 'dataloader';
import type { EntitySchema } from '../catalog/index.js';
import type { EntityRow } from '../oltp/index.js';
import type { GatewayServices, RequestLoaders } from './builder.js';

export function createLoaders(services: GatewayServices): RequestLoaders {
  const byEntity = new Map<string, DataLoader<string, EntityRow | null>>();
  return {
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
