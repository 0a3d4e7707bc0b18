// The engine's face (engine.ts): statements, the views they read through, and the snapshots they share.
import type { DuckDBType } from '@duckdb/node-api';
import type { EntitySchema } from '../catalog/index.js';
import type { DuckDb, LakeReadCache } from '../lake/index.js';
import type { PgPool, PgRetrySettings } from '../oltp/index.js';
import type { AdmissionSettings } from './admission.js';
import type { FileTableSettings } from './file-tables.js';
import type { Filter } from './filter.js';
import type { PrepareOptions } from './snapshot.js';
import type { EntityTiers } from './tiers.js';
import type { SignedRows } from './view.js';

export interface Statement {
  sql: string;
  params: unknown[];
  /** The DuckDB type of each parameter (else @duckdb/node-api guesses it from the JS value). */
  types?: DuckDBType[];
}

/**
 * `view(entity)` stands for the entity's current rows (`view(entity, rowIds)` when only those rows
 * are read; with `filter`, the caller promises to keep only the rows it holds true for).
 */
export type ViewOf = (entity: EntitySchema, rowIds?: readonly string[] | null, filter?: Filter | null) => string;
/**
 * An entity's current rows as signed rows (view.ts, signedRowsSql) for a statement that reads
 * every row of it (and the filter's match), or null where the snapshot cannot give them.
 */
export type SignedViewOf = (entity: EntitySchema, filter?: Filter | null) => SignedRows | null;
export type BuildStatement = (view: ViewOf, signed: SignedViewOf) => Statement;
export type ResultRows = Record<string, unknown>[];

/** What one unit of work sees of a snapshot: several statements in one admission slot. */
export interface SnapshotReader {
  /** The tiers of an entity the work was admitted for (made readable first). */
  tiers(entity: EntitySchema): EntityTiers;
  /** The current rows of each entity, as `read` passes them to a statement's builder. */
  view: ViewOf;
  signed: SignedViewOf;
  run(statement: Statement): Promise<ResultRows>;
  /** Makes `view` leave superseded file rows out by position for a statement that reads every row (ReadOptions). */
  positioned(entities: readonly EntitySchema[]): Promise<void>;
}
export type SnapshotWork<T> = (reader: SnapshotReader) => Promise<T>;

/**
 * `positions`: the work reads every file row of its entities (a search or an aggregate read in
 * full), so the snapshot also looks up where the superseded rows sit (positions.ts), and the view
 * excludes them by position. Work about rows changed since a kept state (aggregate-cache.ts) goes
 * without (the lookup of newly updated rows would cost it more than it saves), and asks for them
 * (`SnapshotReader.positioned`) only when it reads every row after all. `values`: a count, sum or
 * avg read by subtraction also needs those rows' values, of its own entity (SignedViewOf).
 */
export type ReadOptions = PrepareOptions;
/** What `read` asks: its statement reads the entities' rows through the view. */
export const SCANS: ReadOptions = { positions: true };

/** Test hooks to stop a query between its steps (fault injection). */
export interface QueryFaults {
  /** After the snapshot is taken, before its statement runs. */
  beforeStatement?(): Promise<void>;
}

export interface QueryEngineDeps {
  pool: PgPool;
  duck: DuckDb;
  /** Local copies of S3 lake files (shared with compaction). */
  cache: LakeReadCache;
  /**
   * A snapshot's whole life, from its manifest listing to its last row, is bounded by this: GC
   * deletes a replaced file ORPHAN_GRACE_MS after its removal, and the configuration keeps the grace
   * well above this bound, so no query outlives a file it listed (compaction/gc.ts).
   */
  timeoutMs: number;
  /** Retries of the snapshot (a read, so idempotent) on transient Postgres errors. */
  pgRetry?: PgRetrySettings;
  /** How many searches run at once and how many may wait (default: 2 running, 16 waiting up to 10 s). */
  admission?: AdmissionSettings;
  /** DuckDB tables of the large lake files (default FILE_TABLE_DEFAULTS; maxBytes 0: none). */
  fileTables?: FileTableSettings;
  faults?: QueryFaults;
}

/** A snapshot that several statements read; taken at the first read, held until `release()` or its bound. */
export interface SnapshotHandle {
  /**
   * Whether reads of `entities` can go through this snapshot. Before it is taken, it grows to
   * cover them; once taken, it covers what it listed (the others are remembered in `uncovered`).
   */
  cover(entities: readonly EntitySchema[]): boolean;
  /** Runs a statement over every entity the snapshot covers. */
  read(build: BuildStatement): Promise<ResultRows>;
  /** Runs a statement over `entities` (made readable first); `view` of any other entity it covers works once read. */
  read(entities: readonly EntitySchema[], build: BuildStatement): Promise<ResultRows>;
  /** Runs `work` (several statements, in one admission slot) over `entities` of this snapshot. */
  readWith<T>(entities: readonly EntitySchema[], work: SnapshotWork<T>, options?: ReadOptions): Promise<T>;
  /**
   * The high-water slot: the highest time_slot committed and visible in this snapshot across the
   * entities its statements read (QuerySnapshot.highWater). Null when none of them holds a change;
   * undefined before any statement read.
   */
  readonly timeSlot: bigint | null | undefined;
  /** Entities a read asked for after the snapshot was taken without them (read in their own snapshot). */
  readonly uncovered: readonly string[];
  /** Ends the snapshot once its running statements are done (idempotent); later reads fail. */
  release(): void;
}
