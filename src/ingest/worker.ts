// The flush worker's tick: flush every schema whose buffer crossed a trigger.
import type { Catalog } from '../catalog/index.js';
import { allBufferStats } from '../oltp/index.js';
import { flushSchema, type FlushDeps, type FlushOutcome } from './flush.js';
import { flushDecision } from './triggers.js';

/** One pass over all buffered schemas; flushes those due. Other processes' locks are respected. */
export async function flushDueSchemas(deps: FlushDeps, catalog: Catalog): Promise<FlushOutcome[]> {
  const outcomes: FlushOutcome[] = [];
  for (const { project, schemaId, stats } of await allBufferStats(deps.pool)) {
    const entity = catalog.entityById(project, schemaId);
    if (!entity) continue; // changes of an entity no longer defined stay buffered, untouched
    if (!flushDecision(stats, Date.now(), deps.thresholds).flush) continue;
    outcomes.push(await flushSchema(deps, entity, { trigger: 'worker' }));
  }
  return outcomes;
}
