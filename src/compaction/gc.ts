// Garbage collection, once past a grace period: files a compaction replaced, and lake objects no
// manifest row names (orphans).
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/index.js';
import { forgetRemovedFiles, knownPaths, removedBefore, type ObjectStore } from '../lake/index.js';
import type { PgPool } from '../oltp/index.js';

export interface GcResult {
  scanned: number;
  deleted: string[];
}

/**
 * An orphan is an object under a project's prefix that the manifest does not name, e.g. a flush
 * that crashed between upload and commit. It is deleted only when older than `graceMs`, since a
 * flush that is running now has uploaded its file but not yet committed it.
 */
export async function collectOrphans(deps: {
  pool: PgPool;
  store: ObjectStore;
  catalog: Catalog;
  log: Logger;
  graceMs: number;
  now?: Date;
}): Promise<GcResult> {
  const now = (deps.now ?? new Date()).getTime();
  const candidates: string[] = [];
  let scanned = 0;
  for (const project of deps.catalog.projects) {
    for await (const object of deps.store.list(`${project.name}/`)) {
      scanned++;
      if (now - object.lastModified.getTime() > deps.graceMs) candidates.push(object.key);
    }
  }
  // Read the manifest after listing: a file committed meanwhile is then known, not an orphan.
  const known = await knownPaths(deps.pool);
  const orphans = candidates.filter((key) => !known.has(key));
  if (orphans.length > 0) {
    await deps.store.delete(orphans);
    deps.log.info({ count: orphans.length, keys: orphans.slice(0, 10) }, 'deleted orphaned lake files');
  }
  return { scanned, deleted: orphans };
}

/**
 * Deletes the objects of files removed from the live set (replaced by a compaction) more than
 * `graceMs` ago, then their manifest rows: a query that listed them before the swap has had the
 * grace period to finish reading them.
 */
export async function collectRemoved(deps: { pool: PgPool; store: ObjectStore; log: Logger; graceMs: number; now?: Date }): Promise<GcResult> {
  const cutoff = new Date((deps.now ?? new Date()).getTime() - deps.graceMs);
  const removed = await removedBefore(deps.pool, cutoff);
  if (removed.length > 0) {
    // Objects first: a crash in between leaves manifest rows whose objects are gone, retried next time.
    await deps.store.delete(removed.map((f) => f.path));
    await forgetRemovedFiles(deps.pool, removed.map((f) => f.fileId));
    deps.log.info({ count: removed.length, keys: removed.slice(0, 10).map((f) => f.path) }, 'deleted replaced lake files');
  }
  return { scanned: removed.length, deleted: removed.map((f) => f.path) };
}
