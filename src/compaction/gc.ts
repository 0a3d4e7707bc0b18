// Garbage collection of lake objects: files a compaction replaced, once past a grace period, and
// orphans (objects no manifest row names), only when no job that could still commit them lives.
//
// Why it never deletes what a live job or query may use:
// - A flush or compaction uploads only while it holds its entity's session advisory lock (lock.ts)
//   and commits on that same session, so a job whose lock is gone can no longer commit anything.
//   GC deletes an entity's orphans only while it holds BOTH that entity's flush and compaction
//   locks itself (tried, never waited for: a busy entity is skipped until the next run). Then no
//   job of the entity runs in any process sharing the database, and an object the manifest does
//   not name, read after the locks are taken, is one no job will ever commit. Time plays no part
//   in that, so a clock, a long wait for a row lock or a slow upload cannot make GC race a commit.
// - Every job records its outputs as pending uploads before uploading (pending.ts); its manifest
//   commit turns them into live files, checking each is still pending and present in the store.
//   A pending row outlives its job only after a crash: GC forgets it, under the same locks, once
//   older than the grace, and leaves its object alone until then.
// - A replaced file may still be read by a query that listed it before the swap. It is deleted
//   only ORPHAN_GRACE_MS after its removal (the database's clock, the one removed_at came from);
//   a query's whole life is bounded by QUERY_TIMEOUT_MS (query/engine.ts), and the configuration
//   refuses a grace that is not well above it. Within a process, query/snapshot.ts pins the
//   changed-row sets of the files a query in flight listed, so forgetting a file cannot change
//   the answer of a query that still reads it.
// The grace for orphans is kept as well: it costs nothing and spares an object whose store clock
// runs ahead of ours.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/index.js';
import {
  forgetPendingUploads,
  forgetRemovedFiles,
  namedPaths,
  pendingUploadsBefore,
  removedBefore,
  withSchemaLocks,
  type ObjectStore,
} from '../lake/index.js';
import type { PgPool } from '../oltp/index.js';

export interface GcResult {
  scanned: number;
  deleted: string[];
  /** Entities (`project/schema_id`) left for the next run because a flush or compaction of them was running. */
  busy?: string[];
}

/** `<project>/<schema_id>/...` (src/lake/layout.ts); other keys are not the gateway's to delete. */
const ENTITY_KEY = /^([^/]+)\/(\d+)\//;

/**
 * An orphan is an object under a project's prefix that the manifest does not name, e.g. left by a
 * flush that crashed between upload and commit. It is deleted when older than `graceMs`, and only
 * while GC holds its entity's flush and compaction locks (see the header).
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
  const projects = new Set(deps.catalog.projects.map((p) => p.name));
  // Old objects per entity, listed before the locks are taken: an object uploaded later is not old.
  const candidates = new Map<string, { project: string; id: number; keys: string[] }>();
  const entityOf = (project: string, id: number) => {
    const key = `${project}/${id}`;
    let found = candidates.get(key);
    if (!found) candidates.set(key, (found = { project, id, keys: [] }));
    return found;
  };
  let scanned = 0;
  for (const project of projects) {
    for await (const object of deps.store.list(`${project}/`)) {
      scanned++;
      const match = ENTITY_KEY.exec(object.key);
      if (!match || match[1] !== project) continue;
      if (now - object.lastModified.getTime() > deps.graceMs) entityOf(project, Number(match[2])).keys.push(object.key);
    }
  }
  // Entities with pending uploads but no old object (a job that died before its upload finished).
  const { rows } = await deps.pool.query<{ project: string; schema_id: number }>('SELECT DISTINCT project, schema_id FROM lake_pending_upload');
  for (const row of rows) if (projects.has(row.project)) entityOf(row.project, row.schema_id);

  const deleted: string[] = [];
  const busy: string[] = [];
  for (const [name, entity] of candidates) {
    const done = await withSchemaLocks(deps.pool, ['flush', 'compact'], entity, async (client) => {
      const pending = await pendingUploadsBefore(client, entity, deps.graceMs, deps.now);
      const named = await namedPaths(client, entity.keys);
      const orphans = entity.keys.filter((key) => !named.has(key) && !pending.young.has(key));
      // Objects first: a crash in between leaves pending rows of deleted objects, forgotten next time.
      if (orphans.length > 0) await deps.store.delete(orphans);
      await forgetPendingUploads(client, pending.stale.map((p) => p.path));
      deleted.push(...orphans);
      return true;
    });
    if (!done) busy.push(name);
  }
  if (deleted.length > 0) deps.log.info({ count: deleted.length, keys: deleted.slice(0, 10) }, 'deleted orphaned lake files');
  if (busy.length > 0) deps.log.debug({ entities: busy }, 'orphan GC skipped entities with a flush or compaction running');
  return { scanned, deleted, busy };
}

/**
 * Deletes the objects of files removed from the live set (replaced by a compaction) more than
 * `graceMs` ago, then their manifest rows: a query that listed them before the swap has had the
 * grace period to finish reading them (its duration is bounded well below it, see the header).
 */
export async function collectRemoved(deps: { pool: PgPool; store: ObjectStore; log: Logger; graceMs: number; now?: Date }): Promise<GcResult> {
  const removed = await removedBefore(deps.pool, deps.graceMs, deps.now);
  if (removed.length > 0) {
    // Objects first: a crash in between leaves manifest rows whose objects are gone, retried next time.
    await deps.store.delete(removed.map((f) => f.path));
    await forgetRemovedFiles(deps.pool, removed.map((f) => f.fileId));
    deps.log.info({ count: removed.length, keys: removed.slice(0, 10).map((f) => f.path) }, 'deleted replaced lake files');
  }
  return { scanned: removed.length, deleted: removed.map((f) => f.path) };
}
