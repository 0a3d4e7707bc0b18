// What a query snapshot takes (takeSnapshot's deps), on a DuckDB of its own beside a test gateway:
// the mirror's table names would collide with the gateway's engine. For tests that drive snapshots
// step by step.
import path from 'node:path';
import { DuckDb } from '../../src/lake/index.js';
import { HotMirror } from '../../src/query/hot.js';
import { LakeLatestVersions } from '../../src/query/latest.js';
import { SupersededPositions } from '../../src/query/positions.js';
import { ChangedRowSets } from '../../src/query/tiers.js';
import type { TestGateway } from './gateway.js';
import { scratchDir } from './scratch.js';

export interface SnapshotParts {
  duck: DuckDb;
  hot: HotMirror;
  changed: ChangedRowSets;
  latest: LakeLatestVersions;
  positions: SupersededPositions;
  /** takeSnapshot's deps over these parts and the gateway's pool and lake cache. */
  deps: {
    pool: TestGateway['oltp']['pool'];
    hot: HotMirror;
    cache: TestGateway['lakehouse']['cache'];
    changed: ChangedRowSets;
    latest: LakeLatestVersions;
    positions: SupersededPositions;
  };
}

/**
 * `logLimit`: the mirror's log bound (hot-log.ts), lowered by tests that watch it start again;
 * `valuesAfterAsks`: when the positions' values are taken (positions.ts), 1 for tests of every read by subtraction.
 */
export async function openSnapshotParts(gw: TestGateway, prefix: string, logLimit?: number, valuesAfterAsks?: number): Promise<SnapshotParts> {
  const dir = await scratchDir(prefix);
  const duck = await DuckDb.open({ tempDir: path.join(dir, 'duckdb') });
  const hot = new HotMirror(duck, logLimit);
  const changed = new ChangedRowSets(gw.oltp.pool, duck);
  const latest = new LakeLatestVersions(duck);
  const positions = new SupersededPositions(duck, valuesAfterAsks);
  return { duck, hot, changed, latest, positions, deps: { pool: gw.oltp.pool, hot, cache: gw.lakehouse.cache, changed, latest, positions } };
}
