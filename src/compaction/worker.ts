// The compaction worker's check: which entities' delta files crossed a trigger (the workers room runs them).
import type { Catalog, EntitySchema } from '../catalog/index.js';
import { liveFiles } from '../lake/index.js';
import type { PgPool } from '../oltp/index.js';
import { classifyFiles, compactDecision, type CompactionSettings } from './plan.js';

/** The entities due for a compaction now. */
export async function schemasDueForCompaction(pool: PgPool, catalog: Catalog, settings: CompactionSettings, now = Date.now()): Promise<EntitySchema[]> {
  const due: EntitySchema[] = [];
  for (const entity of catalog.entities) {
    if (compactDecision(classifyFiles(await liveFiles(pool, entity)), now, settings).compact) due.push(entity);
  }
  return due;
}
