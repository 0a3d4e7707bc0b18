// Composition of the lakehouse side of a gateway process: object store, DuckDB, the admin
// operations the GraphQL layer calls, and the background workers (flush, compaction, GC).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/index.js';
import { loadConfig } from '../config/index.js';
import {
  collectOrphans,
  collectRemoved,
  compactDueSchemas,
  compactSchema,
  rebuildSchema,
  type CompactDeps,
  type CompactFaults,
  type CompactionSettings,
} from '../compaction/index.js';
import type { AdminOperations, CompactReport, EntityLakeStatus, FlushReport, RebuildResult, VerifyResult } from '../graphql/index.js';
import { flushDueSchemas, flushSchema, type FlushDeps, type FlushFaults, type FlushThresholds } from '../ingest/index.js';
import {
  DuckDb,
  knownFileIds,
  LakeReadCache,
  lastFinished,
  liveFileTotals,
  openObjectStore,
  recentJobs,
  type ObjectStore,
  type ObjectStoreSettings,
} from '../lake/index.js';
import { allBufferStats, type OltpStore } from '../oltp/index.js';
import { QueryEngine, SearchService, verifyEntity, type QueryFaults } from '../query/index.js';
import { createScheduler, type Scheduler } from '../workers/index.js';

export interface LakehouseSettings extends ObjectStoreSettings {
  dataDir: string;
  flush: FlushThresholds & { checkIntervalMs: number };
  /** Default: the configuration's defaults (SPEC 5.1: a day or 10 delta files, 5% dirty ratio, 256 MB base files). */
  compaction?: CompactionSettings & { checkIntervalMs: number };
  /** Replaced files and orphans are deleted from the store this long after they stopped being live. */
  orphanGraceMs: number;
  /** Bound of a search's whole life (default: QUERY_TIMEOUT_MS's default); keep it well below orphanGraceMs. */
  query?: { timeoutMs?: number };
  /** Bound of the local read cache of S3 lake files (default 2 GiB). */
  lakeCacheBytes?: number;
  faults?: FlushFaults;
  compactFaults?: CompactFaults;
  queryFaults?: QueryFaults;
}

export interface Lakehouse {
  store: ObjectStore;
  duck: DuckDb;
  /** Local copies of S3 lake files (unused with a local lake). */
  cache: LakeReadCache;
  flushDeps: FlushDeps;
  compactDeps: CompactDeps;
  admin: AdminOperations;
  search: SearchService;
  /** Deletes replaced files and orphans past the grace period (what the GC worker runs). */
  collectGarbage(): Promise<void>;
  /** Starts the background flush, compaction and GC workers of this process. */
  startWorkers(): void;
  close(): Promise<void>;
}

/** GC lists the whole lake, so it runs far less often than the flush check. */
const GC_INTERVAL_MS = 60_000;

export async function openLakehouse(settings: LakehouseSettings, catalog: Catalog, oltp: OltpStore, log: Logger): Promise<Lakehouse> {
  const store = openObjectStore(settings);
  try {
    await store.check();
  } catch (error) {
    store.close();
    throw error;
  }
  const workDir = path.join(settings.dataDir, 'tmp');
  await fs.mkdir(workDir, { recursive: true });
  const duck = await DuckDb.open({ tempDir: path.join(workDir, 'duckdb') });
  // S3 lake files on local disk, shared by searches, flushes and compactions of this process.
  const cache = new LakeReadCache(store, path.join(workDir, 'cache'), settings.lakeCacheBytes ?? 2 * 1024 ** 3);
  log.info(
    { httpfs: duck.extensions.httpfs, postgres: duck.extensions.postgres },
    `DuckDB: lake files read ${store.localPath('probe') ? 'in place' : 'through the local read cache'}, the buffer copied from Postgres by COPY`,
  );
  const flushDeps: FlushDeps = {
    pool: oltp.pool,
    store,
    duck,
    log,
    workDir,
    cache,
    thresholds: { maxRows: settings.flush.maxRows, maxAgeMs: settings.flush.maxAgeMs },
    faults: settings.faults,
  };
  const compaction = settings.compaction ?? loadConfig({}).compaction;
  const compactDeps: CompactDeps = { pool: oltp.pool, store, duck, cache, log, workDir, settings: compaction, faults: settings.compactFaults };
  let scheduler: Scheduler | undefined;
  const engine = new QueryEngine({
    pool: oltp.pool,
    duck,
    workDir: path.join(workDir, 'query'),
    cache,
    timeoutMs: settings.query?.timeoutMs ?? loadConfig({}).query.timeoutMs,
    faults: settings.queryFaults,
  });

  const admin: AdminOperations = {
    async flush(entity, force): Promise<FlushReport> {
      const outcome = await flushSchema(flushDeps, entity, { force, trigger: 'admin' });
      return {
        entity: entity.name,
        flushed: outcome.status === 'flushed',
        reason: outcome.reason,
        rows: outcome.rows,
        path: outcome.status === 'flushed' ? outcome.path : null,
        bytes: outcome.status === 'flushed' ? outcome.bytes : 0,
        duration_ms: outcome.durationMs,
      };
    },
    async compact(entity, force): Promise<CompactReport> {
      const outcome = await compactSchema(compactDeps, entity, { force, trigger: 'admin' });
      const done = outcome.status === 'compacted' ? outcome : null;
      return {
        entity: entity.name,
        compacted: done !== null,
        reason: outcome.reason,
        removed: done?.removed ?? [],
        added: done?.added ?? [],
        rewritten: done?.rewritten ?? 0,
        rolled_over: done?.rolledOver ?? false,
        duration_ms: outcome.durationMs,
      };
    },
    async lakeStatus(): Promise<EntityLakeStatus[]> {
      const [buffers, totals, flushes, compactions] = await Promise.all([
        allBufferStats(oltp.pool),
        liveFileTotals(oltp.pool),
        lastFinished(oltp.pool, 'flush'),
        lastFinished(oltp.pool, 'compact'),
      ]);
      const now = Date.now();
      return catalog.entities.map((entity) => {
        const buffer = buffers.find((b) => b.project === entity.project && b.schemaId === entity.id)?.stats;
        const files = (kind: 'delta' | 'base') =>
          totals.find((t) => t.project === entity.project && t.schemaId === entity.id && t.kind === kind);
        return {
          entity: entity.name,
          project: entity.project,
          schema_id: entity.id,
          buffered_rows: buffer?.rows ?? 0,
          // time_slots are commit times in epoch ms (DESIGN 4.3), so the oldest slot dates the buffer.
          oldest_buffered_age_ms: buffer?.oldestSlot != null ? Math.max(0, now - Number(buffer.oldestSlot)) : null,
          delta_files: files('delta')?.files ?? 0,
          delta_bytes: files('delta')?.bytes ?? 0,
          base_files: files('base')?.files ?? 0,
          base_bytes: files('base')?.bytes ?? 0,
          last_flush_at: flushes.get(`${entity.project}/${entity.id}`) ?? null,
          last_compaction_at: compactions.get(`${entity.project}/${entity.id}`) ?? null,
        };
      });
    },
    async verify(entity): Promise<VerifyResult> {
      const report = await verifyEntity({ pool: oltp.pool, duck, engine }, entity);
      return {
        entity: report.entity,
        ok: report.ok,
        truth_rows: report.truthRows,
        lake_rows: report.lakeRows,
        missing: report.missing,
        extra: report.extra,
        different: report.different,
        duplicated: report.duplicated,
        concurrent: report.concurrent,
        missing_examples: report.examples.missing,
        extra_examples: report.examples.extra,
        different_examples: report.examples.different,
        duplicated_examples: report.examples.duplicated,
        truth_hash: report.truthHash,
        lake_hash: report.lakeHash,
        truth_slot: report.truthSlot,
        error: report.error,
        duration_ms: report.durationMs,
      };
    },
    async rebuild(entity): Promise<RebuildResult> {
      const outcome = await rebuildSchema(compactDeps, entity, { trigger: 'admin' });
      const done = outcome.status === 'rebuilt' ? outcome : null;
      return {
        entity: entity.name,
        rebuilt: done !== null,
        reason: done ? `rebuilt ${done.rows} rows from the OLTP truth at slot ${done.upToSlot}` : outcome.status === 'skipped' ? outcome.reason : '',
        rows: done?.rows ?? 0,
        up_to_slot: done?.upToSlot ?? null,
        buffered_absorbed: done?.bufferedAbsorbed ?? 0,
        removed: done?.removed ?? [],
        added: done?.added ?? [],
        duration_ms: outcome.durationMs,
      };
    },
    async jobs(limit) {
      const jobs = await recentJobs(oltp.pool, { limit });
      return jobs.map((job) => ({
        job_id: job.jobId,
        kind: job.kind,
        entity: job.project !== null && job.schemaId !== null ? (catalog.entityById(job.project, job.schemaId)?.name ?? null) : null,
        trigger: job.trigger,
        status: job.status,
        started_at: job.startedAt,
        finished_at: job.finishedAt,
        details: job.details,
        error: job.error,
      }));
    },
  };

  const collectGarbage = async () => {
    await collectRemoved({ pool: oltp.pool, store, log, graceMs: settings.orphanGraceMs });
    await collectOrphans({ pool: oltp.pool, store, catalog, log, graceMs: settings.orphanGraceMs });
    await engine.forgetFilesExcept(await knownFileIds(oltp.pool));
  };

  return {
    store,
    duck,
    cache,
    flushDeps,
    compactDeps,
    admin,
    search: new SearchService(engine),
    collectGarbage,
    startWorkers() {
      scheduler ??= createScheduler(log);
      scheduler.every('flush', settings.flush.checkIntervalMs, async () => {
        await flushDueSchemas(flushDeps, catalog);
      });
      scheduler.every('compaction', compaction.checkIntervalMs, async () => {
        await compactDueSchemas(compactDeps, catalog);
      });
      scheduler.every('gc', GC_INTERVAL_MS, collectGarbage);
    },
    async close() {
      await scheduler?.stop();
      duck.close();
      store.close();
    },
  };
}
