// One flush of a (project, schema): buffer -> Parquet delta file -> upload -> one manifest commit.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { uuidv7 } from 'uuidv7';
import { quoteIdent, type EntitySchema, type LakeAttribute } from '../catalog/index.js';
import { ConflictError } from '../errors/index.js';
import {
  addFile,
  commitPending,
  finishJob,
  newDeltaKey,
  startJob,
  bufferRowsSql,
  loadBuffer,
  uploadPending,
  withSchemaLock,
  writeParquet,
  type DuckDb,
  type LakeReadCache,
  type ObjectStore,
} from '../lake/index.js';
import type { LakeJobObserver } from '../metrics/index.js';
import { bufferStats, changedRowIds, inClientTransaction, storedAttributes, type PgClient, type PgPool } from '../oltp/index.js';
import { flushDecision, type FlushThresholds } from './triggers.js';

/** Test hooks to fail or stop a flush between its steps (fault injection). */
export interface FlushFaults {
  /** After the file is uploaded, before the manifest transaction starts. */
  afterUpload?(key: string): Promise<void>;
  /** Inside the manifest transaction, just before COMMIT. */
  beforeCommit?(client: PgClient): Promise<void>;
}

export interface FlushDeps {
  pool: PgPool;
  store: ObjectStore;
  duck: DuckDb;
  log: Logger;
  /** Takes the uploaded file, so this process's next search reads it without a download. */
  cache?: LakeReadCache;
  /** Scratch space for the Parquet file before upload. */
  workDir: string;
  thresholds: FlushThresholds;
  faults?: FlushFaults;
  /** Told of each flush that wrote a file or failed (the metrics). */
  jobs?: LakeJobObserver;
}

export type FlushOutcome =
  | {
      status: 'flushed';
      rows: number;
      path: string;
      bytes: number;
      durationMs: number;
      reason: string;
      jobId: bigint;
      /** Time per step, for the jobs table and benchmarks. */
      phasesMs: { export: number; parquet: number; upload: number; commit: number };
    }
  | { status: 'skipped'; reason: string; rows: number; durationMs: number };

/**
 * Flushes the buffered changes of `entity` when a trigger fires (or `force`). Exactly-once by
 * construction (DESIGN 4.2): the file is recorded as a pending upload and uploaded under a new name
 * first; then one transaction adds its manifest row, deletes exactly the change_log rows it holds,
 * ends the pending state and checks the file is in the store. A failure before that commit leaves
 * an orphan file (collected later) and the rows still buffered.
 */
export async function flushSchema(
  deps: FlushDeps,
  entity: EntitySchema,
  options: { force?: boolean; trigger: string },
): Promise<FlushOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const outcome = await withSchemaLock(deps.pool, 'flush', entity, async (client) => {
    const stats = await bufferStats(client, entity);
    const decision = flushDecision(stats, Date.now(), deps.thresholds, options.force);
    if (!decision.flush) return { status: 'skipped', reason: decision.reason, rows: stats.rows, durationMs: elapsed() } as const;

    const jobId = await startJob(client, 'flush', entity, options.trigger);
    let phaseStart = performance.now();
    const phase = () => {
      const now = performance.now();
      const ms = Math.round(now - phaseStart);
      phaseStart = now;
      return ms;
    };
    const dir = path.join(deps.workDir, `flush-${uuidv7()}`);
    const staging = quoteIdent(`flush_buffer_${uuidv7().replaceAll('-', '')}`);
    await fs.mkdir(dir, { recursive: true });
    try {
      // One snapshot: the high-water slot and the loaded rows agree. The rows go straight into a
      // DuckDB staging table (binary COPY, no text format), which the Parquet file is written from.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      let upToSlot: bigint | null;
      let changed: string[] = [];
      // Every stored attribute, not only this definition's: a process on a newer (or older)
      // definition may have buffered values this one does not know, and the file must keep them.
      let attributes: LakeAttribute[] = [];
      try {
        upToSlot = (await bufferStats(client, entity)).newestSlot;
        if (upToSlot !== null) {
          attributes = await storedAttributes(client, entity);
          const range = { aboveSlot: -1n, upToSlot };
          await deps.duck.use((connection) => loadBuffer(client, connection, entity, range, { table: staging }));
          changed = await changedRowIds(client, entity, upToSlot);
        }
      } finally {
        await client.query('COMMIT');
      }
      if (upToSlot === null) {
        await finishJob(deps.pool, jobId, 'skipped', { reason: 'the buffer is empty' });
        return { status: 'skipped', reason: 'the buffer is empty', rows: 0, durationMs: elapsed() } as const;
      }
      const exportMs = phase();
      const select = `${bufferRowsSql(staging, attributes)} ORDER BY row_id, time_slot`;
      const written = await writeParquet(deps.duck, entity, select, path.join(dir, 'delta.parquet'), attributes);
      await deps.duck.use((c) => c.run(`DROP TABLE ${staging}`));
      const parquetMs = phase();
      const key = newDeltaKey(entity);
      // Recorded as pending before the upload, so GC knows the file has an owner (compaction/gc.ts).
      const owner = { entity, kind: 'flush', jobId } as const;
      const stored = (await uploadPending(deps.pool, deps.store, owner, [{ path: key, localFile: written.localFile }]))[0]!;
      const uploadMs = phase();
      await deps.faults?.afterUpload?.(key);

      await inClientTransaction(client, async () => {
        await addFile(client, {
          project: entity.project,
          schemaId: entity.id,
          path: key,
          kind: 'delta',
          level: 0,
          rowIdMin: written.rowIdMin,
          rowIdMax: written.rowIdMax,
          slotMin: written.slotMin,
          slotMax: written.slotMax,
          rowCount: written.rows,
          bytes: stored.bytes,
          etag: stored.etag,
          columns: written.columns,
        }, changed);
        // Slot order is commit order (DESIGN 4.3), so no row at or below upToSlot can have
        // committed after the export: this deletes exactly the rows in the file.
        const deleted = await client.query(
          'DELETE FROM change_log WHERE project = $1 AND schema_id = $2 AND time_slot <= $3',
          [entity.project, entity.id, upToSlot.toString()],
        );
        if (deleted.rowCount !== written.rows) {
          throw new ConflictError(
            `flush of ${entity.name}: the file holds ${written.rows} changes but ${deleted.rowCount} were buffered at or below slot ${upToSlot}`,
          );
        }
        // Last, after any wait for the buffered rows' locks: the file must still be there.
        await commitPending(client, deps.store, `flush of ${entity.name}`, [{ path: key, bytes: stored.bytes, etag: stored.etag }]);
        await deps.faults?.beforeCommit?.(client);
      });
      await deps.cache
        ?.adopt(key, stored.etag, written.localFile)
        .catch((error: Error) => deps.log.warn({ err: error }, 'read cache: could not keep the flushed file'));
      const result = {
        status: 'flushed',
        rows: written.rows,
        path: key,
        bytes: stored.bytes,
        durationMs: elapsed(),
        reason: decision.reason,
        jobId,
        phasesMs: { export: exportMs, parquet: parquetMs, upload: uploadMs, commit: phase() },
      } as const;
      await finishJob(deps.pool, jobId, 'done', {
        rows: result.rows,
        path: key,
        bytes: result.bytes,
        durationMs: result.durationMs,
        phasesMs: result.phasesMs,
      });
      deps.log.info({ entity: entity.name, rows: result.rows, path: key, bytes: result.bytes, ms: result.durationMs }, `flushed: ${decision.reason}`);
      deps.jobs?.finished('flush', entity, result);
      return result;
    } catch (error) {
      await finishJob(deps.pool, jobId, 'failed', {}, (error as Error).message).catch(() => undefined);
      deps.jobs?.failed('flush', entity);
      throw error;
    } finally {
      await deps.duck.use((c) => c.run(`DROP TABLE IF EXISTS ${staging}`)).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
  return outcome ?? { status: 'skipped', reason: 'another flush of this entity is running', rows: 0, durationMs: elapsed() };
}
