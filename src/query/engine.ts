// Runs one DuckDB statement over the merge-on-read views of the entities it reads, in one snapshot,
// within a time bound.
import path from 'node:path';
import type { DuckDBType } from '@duckdb/node-api';
import type { EntitySchema } from '../catalog/index.js';
import { TimeoutError } from '../errors/index.js';
import type { DuckDb, LakeReadCache } from '../lake/index.js';
import { retryTransient, type PgPool, type PgRetrySettings } from '../oltp/index.js';
import { Admission, type AdmissionSettings } from './admission.js';
import { HotMirror } from './hot.js';
import { LakeLatestVersions } from './latest.js';
import { ChangedRowSets, takeSnapshot } from './snapshot.js';
import { currentRowsSql } from './view.js';

export interface Statement {
  sql: string;
  params: unknown[];
  /** The DuckDB type of each parameter (else @duckdb/node-api guesses it from the JS value). */
  types?: DuckDBType[];
}

/** Test hooks to stop a query between its steps (fault injection). */
export interface QueryFaults {
  /** After the snapshot is taken, before its statement runs. */
  beforeStatement?(): Promise<void>;
}

export interface QueryEngineDeps {
  pool: PgPool;
  duck: DuckDb;
  /** Scratch space: buffer exports. */
  workDir: string;
  /** Local copies of S3 lake files (shared with compaction). */
  cache: LakeReadCache;
  /**
   * A query's whole life, from its manifest listing to its last row, is bounded by this: GC deletes
   * a replaced file ORPHAN_GRACE_MS after its removal, and the configuration keeps the grace well
   * above this bound, so no query outlives a file it listed (compaction/gc.ts).
   */
  timeoutMs: number;
  /** Retries of the snapshot (a read, so idempotent) on transient Postgres errors. */
  pgRetry?: PgRetrySettings;
  /** How many searches run at once and how many may wait (default: 2 running, 16 waiting up to 10 s). */
  admission?: AdmissionSettings;
  faults?: QueryFaults;
}

export class QueryEngine {
  private readonly hot: HotMirror;
  private readonly cache: LakeReadCache;
  private readonly changed: ChangedRowSets;
  private readonly latest: LakeLatestVersions;
  readonly admission: Admission;

  constructor(private readonly deps: QueryEngineDeps) {
    this.admission = new Admission(deps.admission ?? { maxRunning: 2, queueLength: 16, queueWaitMs: 10_000 });
    this.hot = new HotMirror(deps.duck, path.join(deps.workDir, 'hot'));
    this.cache = deps.cache;
    this.changed = new ChangedRowSets(deps.pool, deps.duck);
    this.latest = new LakeLatestVersions(deps.duck);
  }

  /** Drops what this process keeps about lake files the manifest no longer names (after GC). */
  async forgetFilesExcept(known: ReadonlySet<bigint>): Promise<void> {
    await this.changed.retainOnly(known);
  }

  /**
   * Takes a snapshot of `entities`, builds the statement with `view(entity)` standing for each
   * one's current rows (`view(entity, rowIds)` when only those rows are read), runs it and returns the rows as JS values (BIGINT as bigint, TIMESTAMPTZ
   * and DATE as Date, UUID as string).
   */
  async read(
    entities: readonly EntitySchema[],
    build: (view: (entity: EntitySchema, rowIds?: readonly string[] | null) => string) => Statement,
  ): Promise<Record<string, unknown>[]> {
    // Admitted before the snapshot: a search waiting here holds no Postgres connection and no lease.
    return this.admission.run(() => this.readAdmitted(entities, build));
  }

  private async readAdmitted(
    entities: readonly EntitySchema[],
    build: (view: (entity: EntitySchema, rowIds?: readonly string[] | null) => string) => Statement,
  ): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + this.deps.timeoutMs;
    // This query's own handle: the changed-row sets it ensures stay pinned until it is done.
    const changed = this.changed.forQuery();
    try {
      // A snapshot only reads, so a lost connection or a serialization failure just takes it again.
      const snapshot = await retryTransient(
        () => takeSnapshot({ pool: this.deps.pool, hot: this.hot, cache: this.cache, changed, latest: this.latest }, [...new Set(entities)]),
        this.deps.pgRetry,
      );
      try {
        await this.deps.faults?.beforeStatement?.();
        const statement = build((entity, rowIds) => currentRowsSql(snapshot.tiers(entity), rowIds ?? null));
        return await this.deps.duck.use(async (connection) => {
          // The bound runs from before the listing: time spent on the snapshot or waiting for a connection counts.
          const left = deadline - Date.now();
          if (left <= 0) throw this.timedOut();
          let interrupted = false;
          const timer = setTimeout(() => {
            interrupted = true;
            connection.interrupt();
          }, left);
          try {
            // With parameters DuckDB plans twice (prepare, then again once they are bound): measured
            // +3 ms on a 1M-row aggregate, so a statement without any is run directly.
            const reader = statement.params.length
              ? await connection.runAndReadAll(statement.sql, statement.params as never, statement.types)
              : await connection.runAndReadAll(statement.sql);
            return reader.getRowObjectsJS() as Record<string, unknown>[];
          } catch (error) {
            throw interrupted ? this.timedOut(error) : error;
          } finally {
            clearTimeout(timer);
          }
        });
      } finally {
        snapshot.release();
      }
    } finally {
      changed.release();
    }
  }

  private timedOut(cause?: unknown): TimeoutError {
    return new TimeoutError(
      `the search ran longer than its limit of ${this.deps.timeoutMs} ms (QUERY_TIMEOUT_MS) and was stopped; narrow the filter or ask for fewer rows`,
      { cause },
    );
  }
}
