// The flush worker's check: which schemas' buffers crossed a trigger (the workers room runs them).
import type { Catalog, EntitySchema } from '../catalog/index.js';
import { allBufferStats, type PgPool } from '../oltp/index.js';
import { flushDecision, type FlushThresholds } from './triggers.js';

/** The entities whose buffered changes are due for a flush now. */
export async function schemasDueForFlush(pool: PgPool, catalog: Catalog, thresholds: FlushThresholds, now = Date.now()): Promise<EntitySchema[]> {
  const due: EntitySchema[] = [];
  for (const { project, schemaId, stats } of await allBufferStats(pool)) {
    const entity = catalog.entityById(project, schemaId);
    if (!entity) continue; // changes of an entity no longer defined stay buffered, untouched
    if (flushDecision(stats, now, thresholds).flush) due.push(entity);
  }
  return due;
}
