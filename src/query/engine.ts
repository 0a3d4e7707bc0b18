// Runs DuckDB statements over the merge-on-read views of the entities they read, each in one
// snapshot within a time bound: a statement's own snapshot (`read`), or one that several
// statements share (`snapshot`: one GraphQL request's searches, graphql/request-snapshot.ts).
//
// A shared snapshot is taken at its first read, inside admission (a request waiting for a slot
// holds no Postgres connection and no lease), and lists every entity it covers in one Postgres
// snapshot; each entity's files are made readable when a statement first reads it. It is held
// between its statements without a Postgres connection or an admission slot, and its time bound
// (QUERY_TIMEOUT_MS) runs from its listing to its last statement, as a single statement's does:
// GC deletes a replaced file ORPHAN_GRACE_MS (at least twice the bound) after its removal, so no
// reader outlives a file it listed. At the bound the running statement is interrupted, later
// reads fail with TIMEOUT, and the snapshot is released, whether or not its holder ever releases it.
import type { DuckDBType } from '@duckdb/node-api';
import type { EntitySchema } from '../catalog/index.js';
import { TimeoutError } from '../errors/index.js';
import type { DuckDb, LakeReadCache } from '../lake/index.js';
import { retryTransient, type PgPool, type PgRetrySettings } from '../oltp/index.js';
import { Admission, type AdmissionSettings } from './admission.js';
import type { Filter } from './filter.js';
import { HotMirror, keyOf } from './hot.js';
import { FileTables, type FileTableSettings } from './file-tables.js';
import { LakeLatestVersions } from './latest.js';
import { SupersededPositions } from './positions.js';
import { ZoneMaps } from './zone-map.js';
import { takeSnapshot, type PrepareOptions, type QuerySnapshot } from './snapshot.js';
import { ChangedRowSets, type EntityTiers } from './tiers.js';
import { currentRowsSql, signedRowsSql, type SignedRows } from './view.js';

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
const SCANS: ReadOptions = { positions: true };

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

/** What an engine and its request-scoped views share. */
interface EngineParts {
  hot: HotMirror;
  changed: ChangedRowSets;
  latest: LakeLatestVersions;
  positions: SupersededPositions;
  zones: ZoneMaps;
  fileTables: FileTables;
  admission: Admission;
  /** Snapshots taken and not yet released. */
  open: Set<HeldSnapshot>;
}


export class QueryEngine {
  readonly admission: Admission;
  private readonly parts: EngineParts;
  /** Set on a scoped view (`scoped`): where its reads go while it has a snapshot. */
  private readonly scope: (() => SnapshotHandle | null) | null;

  constructor(
    private readonly deps: QueryEngineDeps,
    /** Internal: a scoped view shares its engine's parts. */
    shared?: { parts: EngineParts; scope: () => SnapshotHandle | null },
  ) {
    this.parts = shared?.parts ?? {
      admission: new Admission(deps.admission ?? { maxRunning: 2, queueLength: 16, queueWaitMs: 10_000 }),
      hot: new HotMirror(deps.duck),
      changed: new ChangedRowSets(deps.pool, deps.duck),
      latest: new LakeLatestVersions(deps.duck),
      positions: new SupersededPositions(deps.duck),
      zones: new ZoneMaps(deps.duck),
      fileTables: new FileTables(deps.duck, deps.fileTables),
      open: new Set(),
    };
    this.admission = this.parts.admission;
    this.scope = shared?.scope ?? null;
  }

  /** The DuckDB tables of large lake files (tests and benches wait for their loads: `settled()`). */
  get fileTables(): FileTables {
    return this.parts.fileTables;
  }

  /** Drops what this process keeps about lake files the manifest no longer names (after GC). */
  async forgetFilesExcept(known: ReadonlySet<bigint>): Promise<void> {
    await this.parts.changed.retainOnly(known);
    this.parts.zones.retainOnly(known);
    this.parts.fileTables.retainOnly(known);
  }

  /**
   * Runs one statement, built with `view(entity)` standing for each entity's current rows, and
   * returns its rows as JS values (BIGINT as bigint, TIMESTAMPTZ and DATE as Date, UUID as string).
   * On a scoped view whose snapshot covers `entities`, it reads that snapshot; else one of its own.
   */
  async read(entities: readonly EntitySchema[], build: BuildStatement, options: ReadOptions = SCANS): Promise<ResultRows> {
    return this.readWith(entities, (reader) => reader.run(build(reader.view, reader.signed)), options);
  }

  /** Runs `work`, several statements in one admission slot, over one snapshot of `entities` (as `read`). */
  async readWith<T>(entities: readonly EntitySchema[], work: SnapshotWork<T>, options: ReadOptions = {}): Promise<T> {
    const shared = this.scope?.();
    if (shared?.cover(entities)) return shared.readWith(entities, work, options);
    const own = this.snapshot(entities, 'statement');
    try {
      return await own.readWith(entities, work, options);
    } finally {
      own.release();
    }
  }

  /** A snapshot of `entities` for several statements, taken at its first read (see the header). */
  snapshot(entities: readonly EntitySchema[], scope: 'request' | 'statement' = 'request'): SnapshotHandle {
    return new HeldSnapshot(this.deps, this.parts, entities, scope);
  }

  /** This engine, reading through `current()`'s snapshot whenever it returns one that covers a statement. */
  scoped(current: () => SnapshotHandle | null): QueryEngine {
    return new QueryEngine(this.deps, { parts: this.parts, scope: current });
  }

  /** What snapshots hold now (tests check that nothing stays held after a request). */
  held(): { snapshots: number; changedSetPins: number; hotReaders: number; cachePins: number } {
    return {
      snapshots: this.parts.open.size,
      changedSetPins: this.parts.changed.pinnedCount,
      hotReaders: this.parts.hot.readerCount,
      cachePins: this.deps.cache.pinnedCount,
    };
  }
}

class HeldSnapshot implements SnapshotHandle {
  private readonly wanted = new Map<string, EntitySchema>();
  /** Entities a statement read: the high-water slot is theirs. */
  private readonly readKeys = new Set<string>();
  private readonly missing = new Set<string>();
  private taking: Promise<QuerySnapshot> | null = null;
  private taken: QuerySnapshot | null = null;
  private changed: ChangedRowSets | null = null;
  private deadline = Number.POSITIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  /** Admitted statements in progress; the snapshot is freed once none is left after a release. */
  private running = 0;
  private state: 'open' | 'released' | 'expired' = 'open';
  private freed = false;

  constructor(
    private readonly deps: QueryEngineDeps,
    private readonly parts: EngineParts,
    entities: readonly EntitySchema[],
    private readonly scope: 'request' | 'statement',
  ) {
    for (const entity of entities) this.wanted.set(keyOf(entity), entity);
  }

  cover(entities: readonly EntitySchema[]): boolean {
    if (!this.taking) {
      for (const entity of entities) if (!this.wanted.has(keyOf(entity))) this.wanted.set(keyOf(entity), entity);
      return true;
    }
    const absent = entities.filter((e) => !this.wanted.has(keyOf(e)));
    for (const entity of absent) this.missing.add(entity.name);
    return absent.length === 0;
  }

  get uncovered(): readonly string[] {
    return [...this.missing];
  }

  get timeSlot(): bigint | null | undefined {
    if (!this.taken || this.readKeys.size === 0) return undefined;
    let max: bigint | null = null;
    for (const key of this.readKeys) {
      const slot = this.taken.highWater(this.wanted.get(key)!);
      if (slot !== null && (max === null || slot > max)) max = slot;
    }
    return max;
  }

  read(build: BuildStatement): Promise<ResultRows>;
  read(entities: readonly EntitySchema[], build: BuildStatement): Promise<ResultRows>;
  read(first: readonly EntitySchema[] | BuildStatement, second?: BuildStatement): Promise<ResultRows> {
    const entities = typeof first === 'function' ? [...this.wanted.values()] : first;
    const build = typeof first === 'function' ? first : second!;
    return this.readWith(entities, (reader) => reader.run(build(reader.view, reader.signed)), SCANS);
  }

  async readWith<T>(entities: readonly EntitySchema[], work: SnapshotWork<T>, options: ReadOptions = {}): Promise<T> {
    if (!this.cover(entities)) throw new Error(`query snapshot: ${[...this.missing].join(', ')} not part of it`);
    // Admitted before the snapshot: a search waiting here holds no Postgres connection and no lease.
    return this.parts.admission.run(async () => {
      // Only admitted statements hold the snapshot past a release: one still waiting for a slot
      // finds it gone when admitted, so it never outlives its request or its bound by a queue wait.
      this.running++;
      try {
        this.checkOpen();
        const snapshot = await this.take();
        await snapshot.prepare(entities, options);
        for (const entity of entities) this.readKeys.add(keyOf(entity));
        await this.deps.faults?.beforeStatement?.();
        // Past the bound, `run` refuses each statement before any DuckDB reader sees it.
        return await work({
          tiers: (entity) => snapshot.tiers(entity),
          view: (entity, rowIds, filter) => currentRowsSql(snapshot.tiers(entity), rowIds ?? null, filter ?? null),
          signed: (entity, filter) => signedRowsSql(snapshot.tiers(entity), filter ?? null),
          run: (statement) => this.run(statement),
          positioned: (wanted) => snapshot.prepare(wanted, SCANS),
        });
      } finally {
        this.running--;
        if (this.state !== 'open' && this.running === 0) this.free();
      }
    });
  }

  release(): void {
    if (this.state === 'open') this.state = 'released';
    if (this.running === 0) this.free();
  }

  private checkOpen(): void {
    if (this.state === 'expired') throw this.timedOut();
    if (this.state === 'released') throw new Error('query snapshot: read after release');
  }

  private take(): Promise<QuerySnapshot> {
    this.taking ??= (async () => {
      // The bound runs from before the listing: time spent on the snapshot or waiting for a connection counts.
      this.deadline = Date.now() + this.deps.timeoutMs;
      this.timer = setTimeout(() => this.expire(), this.deps.timeoutMs);
      this.timer.unref();
      // This snapshot's own handle: the changed-row sets it ensures stay pinned until it is released.
      const changed = this.parts.changed.forQuery();
      try {
        // A snapshot only reads, so a lost connection or a serialization failure just takes it again.
        const { pool, cache, pgRetry } = this.deps;
        const { hot, latest, zones, positions, fileTables } = this.parts;
        const snapshot = await retryTransient(
          () => takeSnapshot({ pool, hot, cache, changed, latest, zones, positions, fileTables }, [...this.wanted.values()], { prepare: 'onDemand' }),
          pgRetry,
        );
        this.changed = changed;
        this.taken = snapshot;
        this.parts.open.add(this);
        return snapshot;
      } catch (error) {
        // Nothing was read from it: a later read may take it afresh.
        changed.release();
        clearTimeout(this.timer);
        this.deadline = Number.POSITIVE_INFINITY;
        this.taking = null;
        throw error;
      }
    })();
    return this.taking;
  }

  private async run(statement: Statement): Promise<ResultRows> {
    return this.deps.duck.use(async (connection) => {
      const left = this.deadline - Date.now();
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
        return reader.getRowObjectsJS() as ResultRows;
      } catch (error) {
        throw interrupted ? this.timedOut(error) : error;
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /** At the bound: later reads fail, and the snapshot goes as soon as its running statements stop. */
  private expire(): void {
    if (this.state === 'open') this.state = 'expired';
    if (this.running === 0) this.free();
  }

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    clearTimeout(this.timer);
    this.taken?.release();
    this.changed?.release();
    this.parts.open.delete(this);
  }

  private timedOut(cause?: unknown): TimeoutError {
    const { timeoutMs } = this.deps;
    return new TimeoutError(
      this.scope === 'request'
        ? `the request's searches ran longer than their limit of ${timeoutMs} ms (QUERY_TIMEOUT_MS), counted from its first search, and were stopped; ask for less in one request or narrow the filters`
        : `the search ran longer than its limit of ${timeoutMs} ms (QUERY_TIMEOUT_MS) and was stopped; narrow the filter or ask for fewer rows`,
      { cause },
    );
  }
}
