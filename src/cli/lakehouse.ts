// Composition of the lakehouse side of a gateway process: object store, DuckDB, the admin
// operations the GraphQL layer calls, and the background workers (flush, compaction, GC).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Catalog, EntitySchema } from '../catalog/index.js';
import { loadConfig, type DuckDbSettings } from '../config/index.js';
import {
  collectOrphans,
  collectRemoved,
  compactSchema,
  schemasDueForCompaction,
  rebuildSchema,
  type CompactDeps,
  type CompactFaults,
  type CompactionSettings,
} from '../compaction/index.js';
import type { AdminOperations, CompactReport, EntityLakeStatus, FlushReport, RebuildResult, VerifyResult } from '../graphql/index.js';
import { flushSchema, schemasDueForFlush, type FlushDeps, type FlushFaults, type FlushThresholds } from '../ingest/index.js';
import {
  DuckDb,
  failDeadJobs,
  jobFailures,
  knownFileIds,
  LakeReadCache,
  lastFinished,
  liveFileTotals,
  openObjectStore,
  recentJobs,
  type ObjectStore,
  type ObjectStoreSettings,
} from '../lake/index.js';
import { createMetrics, type GatewayMetrics } from '../metrics/index.js';
import { allBufferStats, DEFAULT_PG_RETRY, retryTransient, type OltpStore, type PgPool, type PgRetrySettings } from '../oltp/index.js';
import { AggregateCache, FILE_TABLE_DEFAULTS, QueryEngine, type FileTableSettings, SearchService, verifyEntity, type Admission, type QueryFaults } from '../query/index.js';
import { createScheduler, EntityWork, type BackoffSettings, type Scheduler } from '../workers/index.js';

export interface LakehouseSettings extends ObjectStoreSettings {
  dataDir: string;
  flush: FlushThresholds & { checkIntervalMs: number };
  /** Default: the configuration's defaults (SPEC 5.1: a day or 10 delta files, 5% dirty ratio, 256 MB base files). */
  compaction?: CompactionSettings & { checkIntervalMs: number };
  /** Replaced files and orphans are deleted from the store this long after they stopped being live. */
  orphanGraceMs: number;
  /** Bound of a search's whole life (default: QUERY_TIMEOUT_MS's default); keep it well below orphanGraceMs. */
  query?: { timeoutMs?: number; aggregateCacheEntries?: number };
  /** Bound of the local read cache of S3 lake files (default 2 GiB). */
  lakeCacheBytes?: number;
  /** How a failing flush or compaction waits before its worker tries again (default: the configuration's). */
  backoff?: BackoffSettings;
  /** Attempts of idempotent Postgres work on transient errors (default: the configuration's). */
  pgRetry?: PgRetrySettings;
  /** How often running jobs are checked for a holder that is gone (default: the configuration's). */
  jobCheckIntervalMs?: number;
  /** DuckDB's memory and threads, and the searches it runs at once (default: the configuration's defaults). */
  duckdb?: Partial<DuckDbSettings>;
  /** The pool searches read Postgres through (its statements bounded by STATEMENT_TIMEOUT_MS); default: oltp's. */
  requestPool?: PgPool;
  /** DuckDB tables of large lake files (default: DUCKDB_FILE_TABLES_BYTES, files of 10,000 rows and more). */
  fileTables?: Partial<FileTableSettings>;
  faults?: FlushFaults;
  compactFaults?: CompactFaults;
  queryFaults?: QueryFaults;
}

export interface Lakehouse {
  store: ObjectStore;
  duck: DuckDb;
  /** The process's metrics (the one given to openLakehouse, or its own). */
  metrics: GatewayMetrics;
  /** Local copies of S3 lake files (unused with a local lake). */
  cache: LakeReadCache;
  flushDeps: FlushDeps;
  compactDeps: CompactDeps;
  admin: AdminOperations;
  search: SearchService;
  /** The gate of searches into DuckDB (DUCKDB_MAX_QUERIES, DUCKDB_QUEUE_*): its load, for tests and metrics. */
  admission: Admission;
  /** Deletes replaced files and orphans past the grace period (what the GC worker runs). */
  collectGarbage(): Promise<void>;
  /** Starts the background flush, compaction and GC workers of this process. */
  startWorkers(): void;
  /** The workers' per-entity runs (backoff state; tests wait on them). */
  work: { flush: EntityWork; compaction: EntityWork };
  close(): Promise<void>;
}

/** GC lists the whole lake, so it runs far less often than the flush check. */
const GC_INTERVAL_MS = 60_000;

export async function openLakehouse(
  settings: LakehouseSettings,
  catalog: Catalog,
  oltp: OltpStore,
  log: Logger,
  metrics: GatewayMetrics = createMetrics({ processMetrics: false }),
): Promise<Lakehouse> {
  const store = openObjectStore(settings);
  try {
    await store.check();
  } catch (error) {
    store.close();
    throw error;
  }
  const workDir = path.join(settings.dataDir, 'tmp');
  await fs.mkdir(workDir, { recursive: true });
  const duckdb = { ...loadConfig({}).duckdb, ...settings.duckdb };
  // One connection beyond the searches' slots, so a flush or compaction need not wait for a search.
  const duck = await DuckDb.open({
    connections: duckdb.maxQueries + 1,
    tempDir: path.join(workDir, 'duckdb'),
    memoryLimit: duckdb.memoryLimit,
    threads: duckdb.threads,
    observeStatement: (seconds) => metrics.observeDuckDb(seconds),
  });
  // S3 lake files on local disk, shared by searches, flushes and compactions of this process.
  const cache = new LakeReadCache(store, path.join(workDir, 'cache'), settings.lakeCacheBytes ?? 2 * 1024 ** 3, metrics.cache);
  log.info(
    { httpfs: duck.extensions.httpfs, postgres: duck.extensions.postgres },
    `DuckDB (memory_limit ${duckdb.memoryLimit}, ${duckdb.threads} threads, ${duckdb.maxQueries} searches at once): lake files read ${store.localPath('probe') ? 'in place' : 'through the local read cache'}, the buffer copied from Postgres by COPY`,
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
    jobs: metrics.jobs,
  };
  const compaction = settings.compaction ?? loadConfig({}).compaction;
  const compactDeps: CompactDeps = { pool: oltp.pool, store, duck, cache, log, workDir, settings: compaction, faults: settings.compactFaults, jobs: metrics.jobs };
  let scheduler: Scheduler | undefined;
  const defaults = loadConfig({});
  const pgRetry = settings.pgRetry ?? DEFAULT_PG_RETRY;
  const backoff = settings.backoff ?? defaults.backoff;
  const work = { flush: new EntityWork('flush', log, backoff), compaction: new EntityWork('compaction', log, backoff) };
  /** Runs an admin flush or compaction and tells the entity's backoff state how it went (a success ends it). */
  const tracked = async <T>(runs: EntityWork, entity: EntitySchema, attempt: () => Promise<T>): Promise<T> => {
    try {
      const result = await attempt();
      runs.succeeded(entity);
      return result;
    } catch (error) {
      runs.failed(entity, error);
      throw error;
    }
  };
  const engine = new QueryEngine({
    pool: settings.requestPool ?? oltp.pool,
    duck,
    cache,
    timeoutMs: settings.query?.timeoutMs ?? defaults.query.timeoutMs,
    pgRetry,
    admission: { maxRunning: duckdb.maxQueries, queueLength: duckdb.queueLength, queueWaitMs: duckdb.queueWaitMs },
    fileTables: { ...FILE_TABLE_DEFAULTS, maxBytes: duckdb.fileTablesBytes, ...settings.fileTables },
    faults: settings.queryFaults,
  });
  // After this process's own writes, the mirror of what searches read is topped up (engine.topUp).
  const stopTopUps = oltp.writer.onCommit((entities) => engine.topUp(entities));

  const admin: AdminOperations = {
    async flush(entity, force): Promise<FlushReport> {
      // One attempt: the caller sees the error (and decides); the entity's backoff learns the outcome.
      const outcome = await tracked(work.flush, entity, () => flushSchema(flushDeps, entity, { force, trigger: 'admin' }));
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
      const outcome = await tracked(work.compaction, entity, () => compactSchema(compactDeps, entity, { force, trigger: 'admin' }));
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
    async lakeStatus(project): Promise<EntityLakeStatus[]> {
      const [buffers, totals, flushes, compactions, failures] = await retryTransient(
        () =>
          Promise.all([
            allBufferStats(oltp.pool),
            liveFileTotals(oltp.pool),
            lastFinished(oltp.pool, 'flush'),
            lastFinished(oltp.pool, 'compact'),
            jobFailures(oltp.pool),
          ]),
        pgRetry,
      );
      const now = Date.now();
      return catalog.entities.filter((entity) => entity.project === project).map((entity) => {
        const buffer = buffers.find((b) => b.project === entity.project && b.schemaId === entity.id)?.stats;
        const files = (kind: 'delta' | 'base') =>
          totals.find((t) => t.project === entity.project && t.schemaId === entity.id && t.kind === kind);
        // Failures come from the jobs table, so every replica reports the same; the retry time is this process's.
        const failed = failures.filter((f) => f.project === entity.project && f.schemaId === entity.id);
        const last = failed.reduce<(typeof failed)[number] | null>(
          (latest, f) => (f.lastErrorAt && (!latest?.lastErrorAt || f.lastErrorAt > latest.lastErrorAt) ? f : latest),
          null,
        );
        const retryAt = [work.flush.failure(entity)?.retryAt, work.compaction.failure(entity)?.retryAt]
          .filter((d): d is Date => d !== undefined && d.getTime() > now)
          .sort((a, b) => a.getTime() - b.getTime())[0];
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
          last_error: last?.lastError != null ? `${last.kind === 'compact' ? 'compaction' : last.kind}: ${last.lastError}` : null,
          last_error_at: last?.lastErrorAt ?? null,
          consecutive_failures: failed.reduce((sum, f) => sum + f.consecutive, 0),
          retry_at: retryAt ?? null,
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
    async jobs(limit, project) {
      const jobs = await recentJobs(oltp.pool, { limit, project });
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

  // Every defined entity gets a sample (0 when nothing is buffered), so an alert sees it drain.
  metrics.watchBuffers(async () => {
    const buffers = await allBufferStats(oltp.pool);
    const now = Date.now();
    return catalog.entities.map((entity) => {
      const stats = buffers.find((b) => b.project === entity.project && b.schemaId === entity.id)?.stats;
      return {
        project: entity.project,
        entity: entity.name,
        rows: stats?.rows ?? 0,
        // time_slots are commit times in epoch ms (DESIGN 4.3).
        oldestAgeSeconds: stats?.oldestSlot != null ? Math.max(0, now - Number(stats.oldestSlot)) / 1000 : 0,
      };
    });
  });

  const collectGarbage = async () => {
    await collectRemoved({ pool: oltp.pool, store, log, graceMs: settings.orphanGraceMs });
    await collectOrphans({ pool: oltp.pool, store, catalog, log, graceMs: settings.orphanGraceMs });
    await engine.forgetFilesExcept(await knownFileIds(oltp.pool));
  };

  return {
    store,
    duck,
    metrics,
    cache,
    flushDeps,
    compactDeps,
    admin,
    search: new SearchService(engine, new AggregateCache(duck, settings.query?.aggregateCacheEntries ?? defaults.query.aggregateCacheEntries)),
    admission: engine.admission,
    collectGarbage,
    work,
    startWorkers() {
      if (scheduler) return;
      scheduler = createScheduler(log);
      // Each entity runs on its own (EntityWork): the check only lists what is due and returns. A
      // flush or compaction is exactly-once by construction, so a transient error just runs it again.
      scheduler.every('flush', settings.flush.checkIntervalMs, async () => {
        const due = await retryTransient(() => schemasDueForFlush(oltp.pool, catalog, flushDeps.thresholds), pgRetry);
        work.flush.offer(due, (entity) => retryTransient(() => flushSchema(flushDeps, entity, { trigger: 'worker' }), pgRetry));
      });
      scheduler.every('compaction', compaction.checkIntervalMs, async () => {
        const due = await retryTransient(() => schemasDueForCompaction(oltp.pool, catalog, compaction), pgRetry);
        work.compaction.offer(due, (entity) => retryTransient(() => compactSchema(compactDeps, entity, { trigger: 'worker' }), pgRetry));
      });
      scheduler.every('gc', GC_INTERVAL_MS, () =>
        collectGarbage().catch((error: unknown) => {
          metrics.jobs.failed('gc', null);
          throw error;
        }),
      );
      // Jobs a dead process left 'running' are marked failed now and then, and once right away.
      const checkJobs = async () => {
        const dead = await failDeadJobs(oltp.pool);
        if (dead.length > 0) log.warn({ jobs: dead.map((j) => j.jobId.toString()) }, `marked ${dead.length} jobs failed: the process running them ended`);
      };
      void checkJobs().catch((error: Error) => log.warn({ err: error }, 'could not check for jobs of ended processes'));
      scheduler.every('jobs check', settings.jobCheckIntervalMs ?? defaults.jobCheckIntervalMs, checkJobs);
    },
    async close() {
      stopTopUps();
      await engine.stop();
      await scheduler?.stop();
      await Promise.all([work.flush.stop(), work.compaction.stop()]);
      duck.close();
      store.close();
    },
  };
}
