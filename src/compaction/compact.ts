// One compaction of a (project, schema), SPEC 5.1: the live delta files are merged, newest version
// per row, into
//  - phase 1: a new generation of the present base file (rows above every historical range);
//  - phase 2: new generations of the historical base files whose dirty ratio passed the threshold;
//    the changes to the other historical files stay in one level-1 delta file;
//  - phase 3: a present file grown past the target size becomes a fixed-range historical file.
// Outputs are recorded as pending uploads and uploaded under new keys first; one manifest
// transaction then swaps them for their inputs (DESIGN 3), so a query sees either the old files or
// the new ones, never half of each, and checks they are all in the store.
// Removed inputs are deleted from the store after the GC grace period.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { uuidv7 } from 'uuidv7';
import { quoteIdent, type EntitySchema, type LakeAttribute } from '../catalog/index.js';
import {
  commitPending,
  finishJob,
  liveFiles,
  newDeltaKey,
  parquetScanSql,
  presentBaseKey,
  rangeBaseKey,
  sqlString,
  startJob,
  swapFiles,
  ROW_KEY_COLUMN,
  SYSTEM_COLUMNS,
  uploadPending,
  withSchemaLock,
  writeParquet,
  type DuckDb,
  type LakeReadCache,
  type ManifestFile,
  type NewManifestFile,
  type ObjectStore,
  type PinnedFiles,
  type WrittenFile,
} from '../lake/index.js';
import { inClientTransaction, storedAttributes, type PgClient, type PgPool } from '../oltp/index.js';
import type { LakeJobObserver } from '../metrics/index.js';
import { classifyFiles, compactDecision, type CompactionSettings } from './plan.js';

/** Test hooks to fail or stop a compaction between its steps (fault injection). */
export interface CompactFaults {
  /** After every output is uploaded, before the manifest transaction starts. */
  afterUpload?(keys: readonly string[]): Promise<void>;
  /** Inside the manifest transaction, just before COMMIT. */
  beforeCommit?(client: PgClient): Promise<void>;
}

export interface CompactDeps {
  pool: PgPool;
  store: ObjectStore;
  duck: DuckDb;
  log: Logger;
  /** Where inputs are read (in place for a local lake); outputs are kept in it after upload. */
  cache: LakeReadCache;
  /** Scratch space for the outputs before upload. */
  workDir: string;
  settings: CompactionSettings;
  faults?: CompactFaults;
  /** Told of each compaction that wrote files or failed (the metrics). */
  jobs?: LakeJobObserver;
}

export interface CompactedFile {
  path: string;
  kind: 'base' | 'delta';
  /** present, historical (a fixed row_id range) or kept (changes kept out of historical files). */
  role: 'present' | 'historical' | 'kept';
  rows: number;
  bytes: number;
}

export type CompactOutcome =
  | {
      status: 'compacted';
      reason: string;
      jobId: bigint;
      /** Manifest paths of the files replaced. */
      removed: string[];
      added: CompactedFile[];
      /** Historical base files rewritten because their dirty ratio passed the threshold. */
      rewritten: number;
      /** Whether the present file grew past the target size and became a historical one. */
      rolledOver: boolean;
      durationMs: number;
    }
  | { status: 'skipped'; reason: string; durationMs: number };

/** A file split by size (phase 3, and a rebuild's) never gets fewer rows than this: DuckDB's default row group. */
export const MIN_SPLIT_ROWS = 122_880;

interface PlannedOutput {
  role: CompactedFile['role'];
  select: string;
  /** The fixed row_id range of a rewritten historical file. */
  range?: { min: string; max: string };
}

/**
 * Compacts `entity` when a trigger fires (or with `force`). Runs beside flushes: a delta file
 * flushed meanwhile is newer than every input and stays live, untouched.
 */
export async function compactSchema(deps: CompactDeps, entity: EntitySchema, options: { force?: boolean; trigger: string }): Promise<CompactOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const outcome = await withSchemaLock(deps.pool, 'compact', entity, async (client) => {
    const sets = classifyFiles(await liveFiles(client, entity));
    const decision = compactDecision(sets, Date.now(), deps.settings, options.force);
    if (!decision.compact) return { status: 'skipped', reason: decision.reason, durationMs: elapsed() } as const;

    const jobId = await startJob(client, 'compact', entity, options.trigger);
    const dir = path.join(deps.workDir, `compact-${uuidv7()}`);
    await fs.mkdir(dir, { recursive: true });
    const newest = quoteIdent(`compact_newest_${uuidv7().replaceAll('-', '')}`);
    const pins: PinnedFiles[] = [];
    try {
      // Outputs carry every column of the inputs and every stored attribute, whatever this
      // process's definition lists: a column of another definition is never dropped here.
      const attributes = outputAttributes(entity, [...sets.deltas, ...sets.present, ...sets.historical], await storedAttributes(client, entity));
      // Inputs stay pinned in the read cache until the compaction ends (cache.ts).
      const local = async (file: ManifestFile) => {
        const pin = await deps.cache.pinned([file]);
        pins.push(pin);
        return { localPath: pin.paths[0]!, columns: file.columns };
      };
      const scanOf = async (files: readonly ManifestFile[]) => parquetScanSql(entity, await Promise.all(files.map(local)), attributes);

      // The newest version of every row changed in the delta files (a delete is a version too).
      const deltaScan = await scanOf(sets.deltas);
      await deps.duck.use((c) =>
        c.run(`CREATE TABLE ${newest} AS SELECT * FROM ${deltaScan} AS d
                 QUALIFY row_number() OVER (PARTITION BY row_id ORDER BY time_slot DESC) = 1`),
      );
      const bound = sets.historical.length ? sets.historical[sets.historical.length - 1]!.rowIdMax : null;
      const uuid = (text: string) => `${sqlString(text)}::UUID`;
      const inRange = (f: Pick<ManifestFile, 'rowIdMin' | 'rowIdMax'>) => `row_id BETWEEN ${uuid(f.rowIdMin)} AND ${uuid(f.rowIdMax)}`;
      const aboveHistory = bound ? `row_id > ${uuid(bound)}` : 'true';
      const counts = await deps.duck.use(async (c) => {
        const columns = [`count(*) FILTER (WHERE ${aboveHistory}) AS fresh`, ...sets.historical.map((f, i) => `count(*) FILTER (WHERE ${inRange(f)}) AS h${i}`)];
        const reader = await c.runAndReadAll(`SELECT ${columns.join(', ')} FROM ${newest}`);
        return reader.getRowObjects()[0]!;
      });

      const planned: PlannedOutput[] = [];
      const inputs: ManifestFile[] = [...sets.deltas];
      // deleted_at 0 means live too (SPEC 3.1); files flushed before the loader normalized it hold 0.
      const live = (select: string) => `SELECT * FROM (${select}) AS merged WHERE (deleted_at IS NULL OR deleted_at = 0) ORDER BY row_id`;
      // Phase 1: rows above every historical range go into a new present file with the old one's rows.
      if (Number(counts.fresh) > 0) {
        const fresh = `SELECT * FROM ${newest} WHERE ${aboveHistory}`;
        planned.push({
          role: 'present',
          select: live(sets.present.length ? `SELECT * FROM ${await scanOf(sets.present)} AS p ANTI JOIN ${newest} USING (row_id) UNION ALL ${fresh}` : fresh),
        });
        inputs.push(...sets.present);
      }
      // Phase 2: historical files past the dirty ratio are rewritten; the others keep their changes in a delta file.
      let keptHistoricalFiles = 0;
      for (const [i, file] of sets.historical.entries()) {
        const dirty = Number(counts[`h${i}`]);
        if (dirty === 0) continue;
        if (dirty / Math.max(1, file.rowCount) > deps.settings.dirtyRatio) {
          planned.push({
            role: 'historical',
            range: { min: file.rowIdMin, max: file.rowIdMax },
            select: live(`SELECT * FROM ${await scanOf([file])} AS h ANTI JOIN ${newest} USING (row_id) UNION ALL SELECT * FROM ${newest} WHERE ${inRange(file)}`),
          });
          inputs.push(file);
        } else {
          keptHistoricalFiles++;
        }
      }
      // Changes below the present range that no rewritten file took: kept historical files' rows, and
      // rows in no range at all (between ranges), kept as versions, deletes included.
      const rewrittenRanges = planned.filter((p) => p.range).map((p) => inRange({ rowIdMin: p.range!.min, rowIdMax: p.range!.max }));
      if (bound) {
        planned.push({
          role: 'kept',
          select: `SELECT * FROM ${newest} WHERE NOT (${aboveHistory})${rewrittenRanges.length ? ` AND NOT (${rewrittenRanges.join(' OR ')})` : ''} ORDER BY row_id`,
        });
      }

      // Write every output locally; phase 3 decides the present file's key once its size is known.
      const written: { plan: PlannedOutput; file: WrittenFile }[] = [];
      for (const [i, plan] of planned.entries()) {
        written.push({ plan, file: await writeParquet(deps.duck, entity, plan.select, path.join(dir, `out-${i}.parquet`), attributes) });
      }
      // A file without rows is dropped, unless every output is empty: one then stays, so the lake
      // still records the newest slot it holds (the buffer's lower bound, DESIGN 4b).
      const nonEmpty = written.filter((w) => w.file.rows > 0);
      const slotMax = inputs.reduce((max, f) => (f.slotMax > max ? f.slotMax : max), 0n);
      const slotMin = inputs.reduce((min, f) => (f.slotMin < min ? f.slotMin : min), slotMax);
      const rowIdMin = inputs.reduce((min, f) => (f.rowIdMin < min ? f.rowIdMin : min), inputs[0]!.rowIdMin);
      const rowIdMax = inputs.reduce((max, f) => (f.rowIdMax > max ? f.rowIdMax : max), inputs[0]!.rowIdMax);
      // Phase 3: a present file past the target size becomes historical files of about that size,
      // each named by its own row_id range.
      let rolledOver = false;
      const outputs: { role: CompactedFile['role']; file: WrittenFile; range: { min: string; max: string } }[] = [];
      for (const { plan, file } of nonEmpty.length ? nonEmpty : written.slice(0, 1)) {
        if (plan.role === 'present' && file.bytes > deps.settings.baseTargetBytes) {
          rolledOver = true;
          const minRows = deps.settings.minBaseFileRows ?? MIN_SPLIT_ROWS;
          const parts = Math.min(Math.ceil(file.bytes / deps.settings.baseTargetBytes), Math.ceil(file.rows / minRows));
          for (const part of await splitSorted(deps.duck, entity, file, parts, attributes)) {
            outputs.push({ role: 'historical', file: part, range: { min: part.rowIdMin, max: part.rowIdMax } });
          }
        } else {
          outputs.push({ role: plan.role, file, range: plan.range ?? { min: file.rowIdMin ?? rowIdMin, max: file.rowIdMax ?? rowIdMax } });
        }
      }
      const named: ((typeof outputs)[number] & { key: string; changedRowIds: string[] })[] = [];
      for (const { role, file, range } of outputs) {
        const key =
          role === 'present' ? presentBaseKey(entity) : role === 'historical' ? rangeBaseKey(entity, range.min, range.max) : newDeltaKey(entity);
        // Every kept change is listed as changed: it may have an older version in a historical file.
        named.push({ role, file, range, key, changedRowIds: role === 'kept' ? await rowIdsOf(deps.duck, file.localFile) : [] });
      }
      // Recorded as pending before the uploads, so GC knows the outputs have an owner (gc.ts).
      const stored = await uploadPending(
        deps.pool,
        deps.store,
        { entity, kind: 'compact', jobId },
        named.map((n) => ({ path: n.key, localFile: n.file.localFile })),
      );
      const adds: { file: NewManifestFile; changedRowIds: string[]; role: CompactedFile['role']; localFile: string }[] = named.map(
        ({ role, file, range, key, changedRowIds }, i) => ({
          role,
          changedRowIds,
          localFile: file.localFile,
          file: {
            project: entity.project,
            schemaId: entity.id,
            path: key,
            kind: role === 'kept' ? 'delta' : 'base',
            level: 1,
            rowIdMin: range.min,
            rowIdMax: range.max,
            // The newest slot of every input: the lake holds every change up to it (DESIGN 4b).
            slotMin: file.rows > 0 ? file.slotMin : slotMin,
            slotMax,
            rowCount: file.rows,
            bytes: stored[i]!.bytes,
            etag: stored[i]!.etag,
            columns: file.columns,
          },
        }),
      );
      await deps.faults?.afterUpload?.(adds.map((a) => a.file.path));

      await inClientTransaction(client, async () => {
        await swapFiles(client, { remove: inputs.map((f) => f.fileId), add: adds });
        // Last, after any wait for the manifest rows' locks: every output must still be there.
        const uploads = adds.map((a) => ({ path: a.file.path, bytes: a.file.bytes, etag: a.file.etag }));
        await commitPending(client, deps.store, `compaction of ${entity.name}`, uploads);
        await deps.faults?.beforeCommit?.(client);
      });
      for (const add of adds) {
        await deps.cache
          .adopt(add.file.path, add.file.etag, add.localFile)
          .catch((error: Error) => deps.log.warn({ err: error }, 'read cache: could not keep a compacted file'));
      }
      const result = {
        status: 'compacted',
        reason: decision.reason,
        jobId,
        removed: inputs.map((f) => f.path),
        added: adds.map((a) => ({ path: a.file.path, kind: a.file.kind, role: a.role, rows: a.file.rowCount, bytes: a.file.bytes })),
        rewritten: planned.filter((p) => p.role === 'historical').length,
        rolledOver,
        durationMs: elapsed(),
      } as const;
      await finishJob(deps.pool, jobId, 'done', {
        removed: result.removed.length,
        added: result.added,
        rewritten: result.rewritten,
        keptHistoricalFiles,
        rolledOver,
        durationMs: result.durationMs,
      });
      deps.log.info(
        { entity: entity.name, removed: result.removed.length, added: result.added.length, rewritten: result.rewritten, rolledOver, ms: result.durationMs },
        `compacted: ${decision.reason}`,
      );
      deps.jobs?.finished('compact', entity, {
        durationMs: result.durationMs,
        bytes: result.added.reduce((sum, f) => sum + f.bytes, 0),
        rows: result.added.reduce((sum, f) => sum + f.rows, 0),
      });
      return result;
    } catch (error) {
      await finishJob(deps.pool, jobId, 'failed', {}, (error as Error).message).catch(() => undefined);
      deps.jobs?.failed('compact', entity);
      throw error;
    } finally {
      for (const pin of pins) pin.release();
      await deps.duck.use((c) => c.run(`DROP TABLE IF EXISTS ${newest}`)).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
  return outcome ?? { status: 'skipped', reason: 'another compaction of this entity is running', durationMs: elapsed() };
}

/**
 * The attribute columns of a compaction's outputs: the stored attributes (types from the registry,
 * which never forgets one), in their order. A column of an input that the registry does not know
 * cannot be typed, so it stops the compaction rather than being dropped.
 */
export function outputAttributes(entity: EntitySchema, inputs: readonly Pick<ManifestFile, 'path' | 'columns'>[], stored: readonly LakeAttribute[]): LakeAttribute[] {
  const known = new Set([...SYSTEM_COLUMNS.map((c) => c.name), ROW_KEY_COLUMN, ...stored.map((a) => a.name)]);
  for (const file of inputs) {
    const unknown = file.columns.filter((c) => !known.has(c));
    if (unknown.length > 0) {
      throw new Error(`compaction of ${entity.name}: ${file.path} has columns no attribute is registered for (${unknown.join(', ')}); not compacting, to drop nothing`);
    }
  }
  return [...stored];
}

/** Splits a file sorted by row_id into `parts` files of about equal row counts, in order. */
export async function splitSorted(duck: DuckDb, entity: EntitySchema, file: WrittenFile, parts: number, attributes: readonly LakeAttribute[]): Promise<WrittenFile[]> {
  if (parts <= 1) return [file];
  const rowsPerPart = Math.ceil(file.rows / parts);
  const written: WrittenFile[] = [];
  for (let start = 0; start < file.rows; start += rowsPerPart) {
    const select = `SELECT * EXCLUDE (file_row_number) FROM read_parquet(${sqlString(file.localFile)}, file_row_number = true)
                     WHERE file_row_number >= ${start} AND file_row_number < ${start + rowsPerPart} ORDER BY row_id`;
    written.push(await writeParquet(duck, entity, select, `${file.localFile}.${written.length}.parquet`, attributes));
  }
  return written;
}

async function rowIdsOf(duck: DuckDb, file: string): Promise<string[]> {
  return duck.use(async (c) => {
    const reader = await c.runAndReadAll(`SELECT row_id::VARCHAR AS row_id FROM read_parquet(${sqlString(file)})`);
    return reader.getRowObjects().map((r) => r.row_id as string);
  });
}
