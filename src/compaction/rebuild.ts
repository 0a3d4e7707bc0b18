// Rebuild of an entity's lake from the OLTP truth, for a lost or damaged lake: every live row's
// current version is written afresh as base file(s), and ONE manifest transaction retires every
// live file of the entity, adds the new ones and deletes the buffered changes they cover.
//
// Why nothing is lost or doubled: the rebuild holds the entity's flush AND compaction locks (so no
// other job changes its live files or its buffer's low end) and reads, in one REPEATABLE READ
// snapshot, the clock's slot S, the truth and the count of buffered changes at or below S. Slot
// order is commit order (DESIGN 4.3): every change at or below S is in that snapshot (so in the
// truth), every later one has a larger slot and stays buffered. The new files say they hold every
// change up to S (slot_max = S, like a compaction's outputs), and the swap deletes exactly the
// buffered changes at or below S, checked by count, so a search sees each version once: from the
// new files up to S, from the buffer above it. Old files are never read, so deleted objects or
// manifest rows naming nothing do not stop it. Outputs are recorded as pending before upload, so
// GC cannot take them; the old files are deleted after the grace period like a compaction's inputs.
import fs from 'node:fs/promises';
import path from 'node:path';
import { uuidv7 } from 'uuidv7';
import { quoteIdent, type EntitySchema } from '../catalog/index.js';
import { ConflictError } from '../errors/index.js';
import {
  bufferRowsSql,
  commitPending,
  finishJob,
  liveFiles,
  loadChanges,
  presentBaseKey,
  rangeBaseKey,
  startJob,
  swapFiles,
  uploadPending,
  withSchemaLocks,
  writeParquet,
  type NewManifestFile,
  type WrittenFile,
} from '../lake/index.js';
import { committedSlot, inClientTransaction, readTruthRows, storedAttributes, type PgClient } from '../oltp/index.js';
import { MIN_SPLIT_ROWS, splitSorted, type CompactDeps, type CompactedFile } from './compact.js';

export type RebuildOutcome =
  | {
      status: 'rebuilt';
      jobId: bigint;
      /** Live rows written (the truth at `upToSlot`). */
      rows: number;
      /** The slot the truth was read at: the new files hold every change up to it. */
      upToSlot: bigint;
      /** Buffered changes at or below upToSlot, now represented by the new files. */
      bufferedAbsorbed: number;
      removed: string[];
      added: CompactedFile[];
      durationMs: number;
    }
  | { status: 'skipped'; reason: string; durationMs: number };

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * Rebuilds the lake of `entity` from the truth. Waits up to `waitMs` (default 30 s) for a running
 * flush or compaction of it to end (their locks are only tried, so a busy entity is retried).
 */
export async function rebuildSchema(deps: CompactDeps, entity: EntitySchema, options: { trigger: string; waitMs?: number }): Promise<RebuildOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  for (;;) {
    const outcome = await withSchemaLocks(deps.pool, ['flush', 'compact'], entity, (client) => rebuildLocked(deps, entity, client, options.trigger, elapsed));
    if (outcome) return outcome;
    if (Date.now() >= deadline) return { status: 'skipped', reason: 'a flush or compaction of this entity kept running; try again', durationMs: elapsed() };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function rebuildLocked(
  deps: CompactDeps,
  entity: EntitySchema,
  client: PgClient,
  trigger: string,
  elapsed: () => number,
): Promise<RebuildOutcome> {
  const jobId = await startJob(client, 'rebuild', entity, trigger);
  const dir = path.join(deps.workDir, `rebuild-${uuidv7()}`);
  const staging = quoteIdent(`rebuild_truth_${uuidv7().replaceAll('-', '')}`);
  await fs.mkdir(dir, { recursive: true });
  try {
    // One snapshot: the slot, the truth, the live files and the buffered count agree.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let upToSlot: bigint;
    let buffered: number;
    let files: Awaited<ReturnType<typeof liveFiles>>;
    let attributes: Awaited<ReturnType<typeof storedAttributes>>;
    try {
      upToSlot = await committedSlot(client, entity);
      attributes = await storedAttributes(client, entity);
      files = await liveFiles(client, entity);
      const { rows } = await client.query<{ n: string }>(
        'SELECT count(*) AS n FROM change_log WHERE project = $1 AND schema_id = $2 AND time_slot <= $3',
        [entity.project, entity.id, upToSlot.toString()],
      );
      buffered = Number(rows[0]!.n);
      await deps.duck.use((connection) => loadChanges(connection, readTruthRows(client, entity), { table: staging }));
    } finally {
      await client.query('COMMIT');
    }

    // Every stored attribute, whatever this process's definition lists: nothing is dropped.
    const whole = await writeParquet(deps.duck, entity, `${bufferRowsSql(staging, attributes)} ORDER BY row_id`, path.join(dir, 'rebuilt.parquet'), attributes);
    await deps.duck.use((c) => c.run(`DROP TABLE IF EXISTS ${staging}`));
    const target = deps.settings.baseTargetBytes;
    const parts =
      whole.bytes > target ? Math.min(Math.ceil(whole.bytes / target), Math.ceil(whole.rows / (deps.settings.minBaseFileRows ?? MIN_SPLIT_ROWS))) : 1;
    const pieces = parts > 1 ? await splitSorted(deps.duck, entity, whole, parts, attributes) : [whole];
    // One file: the present file new rows join; split by size: fixed-range historical files, as
    // compaction phase 3 leaves them. An empty truth still gets one (empty) file recording the
    // slot, so the buffer's lower bound never moves back (query/hot.ts).
    const outputs = pieces.map((file) => ({
      file,
      role: (pieces.length > 1 ? 'historical' : 'present') as CompactedFile['role'],
      key: pieces.length > 1 ? rangeBaseKey(entity, file.rowIdMin, file.rowIdMax) : presentBaseKey(entity),
    }));
    const stored = await uploadPending(
      deps.pool,
      deps.store,
      { entity, kind: 'compact', jobId },
      outputs.map((o) => ({ path: o.key, localFile: o.file.localFile })),
    );
    const adds = outputs.map(({ file, key }, i) => ({ file: manifestRow(entity, key, file, upToSlot, stored[i]!), changedRowIds: [] as string[] }));
    await deps.faults?.afterUpload?.(adds.map((a) => a.file.path));

    await inClientTransaction(client, async () => {
      await swapFiles(client, { remove: files.map((f) => f.fileId), add: adds });
      const deleted = await client.query('DELETE FROM change_log WHERE project = $1 AND schema_id = $2 AND time_slot <= $3', [
        entity.project,
        entity.id,
        upToSlot.toString(),
      ]);
      if (deleted.rowCount !== buffered) {
        throw new ConflictError(`rebuild of ${entity.name}: ${buffered} changes were buffered at or below slot ${upToSlot}, but ${deleted.rowCount} are now`);
      }
      const uploads = adds.map((a) => ({ path: a.file.path, bytes: a.file.bytes, etag: a.file.etag }));
      await commitPending(client, deps.store, `rebuild of ${entity.name}`, uploads);
      await deps.faults?.beforeCommit?.(client);
    });
    for (const [i, add] of adds.entries()) {
      await deps.cache
        .adopt(add.file.path, add.file.etag, outputs[i]!.file.localFile)
        .catch((error: Error) => deps.log.warn({ err: error }, 'read cache: could not keep a rebuilt file'));
    }
    const result = {
      status: 'rebuilt',
      jobId,
      rows: whole.rows,
      upToSlot,
      bufferedAbsorbed: buffered,
      removed: files.map((f) => f.path),
      added: adds.map((a, i): CompactedFile => ({ path: a.file.path, kind: 'base', role: outputs[i]!.role, rows: a.file.rowCount, bytes: a.file.bytes })),
      durationMs: elapsed(),
    } as const;
    await finishJob(deps.pool, jobId, 'done', {
      rows: result.rows,
      upToSlot,
      bufferedAbsorbed: buffered,
      removed: result.removed.length,
      added: result.added,
      durationMs: result.durationMs,
    });
    deps.log.info({ entity: entity.name, rows: result.rows, upToSlot: String(upToSlot), removed: result.removed.length, ms: result.durationMs }, 'rebuilt the lake from the OLTP truth');
    return result;
  } catch (error) {
    await finishJob(deps.pool, jobId, 'failed', {}, (error as Error).message).catch(() => undefined);
    throw error;
  } finally {
    await deps.duck.use((c) => c.run(`DROP TABLE IF EXISTS ${staging}`)).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function manifestRow(entity: EntitySchema, key: string, file: WrittenFile, upToSlot: bigint, stored: { bytes: number; etag: string | null }): NewManifestFile {
  return {
    project: entity.project,
    schemaId: entity.id,
    path: key,
    kind: 'base',
    level: 1,
    rowIdMin: file.rows > 0 ? file.rowIdMin : NIL_UUID,
    rowIdMax: file.rows > 0 ? file.rowIdMax : NIL_UUID,
    slotMin: file.rows > 0 ? file.slotMin : upToSlot,
    // The lake holds every change up to the truth's slot, whatever the newest row's own slot is.
    slotMax: upToSlot,
    rowCount: file.rows,
    bytes: stored.bytes,
    etag: stored.etag,
    columns: file.columns,
  };
}
