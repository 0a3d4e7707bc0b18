// The compaction worker's tick: compact every entity whose delta files crossed a trigger.
import type { Catalog } from '../catalog/index.js';
import { liveFiles } from '../lake/index.js';
import { compactSchema, type CompactDeps, type CompactOutcome } from './compact.js';
import { classifyFiles, compactDecision } from './plan.js';

/** One pass over the catalog's entities; compacts those due. Other processes' locks are respected. */
export async function compactDueSchemas(deps: CompactDeps, catalog: Catalog): Promise<CompactOutcome[]> {
  const outcomes: CompactOutcome[] = [];
  for (const entity of catalog.entities) {
    const sets = classifyFiles(await liveFiles(deps.pool, entity));
    if (!compactDecision(sets, Date.now(), deps.settings).compact) continue;
    outcomes.push(await compactSchema(deps, entity, { trigger: 'worker' }));
  }
  return outcomes;
}
