// Runs DuckDB statements over the merge-on-read views of the entities they read, each in one
// snapshot within a time bound: a statement's own snapshot (`read`), or one that several
// statements share (`snapshot`: one GraphQL request's searches, graphql/request-snapshot.ts; the
// snapshot itself in held-snapshot.ts, what the engine's callers see of it in engine-types.ts).
import type { EntitySchema } from '../catalog/index.js';
import { Admission } from './admission.js';
import type { BuildStatement, QueryEngineDeps, ReadOptions, ResultRows, SnapshotHandle, SnapshotWork } from './engine-types.js';
import { SCANS } from './engine-types.js';
import { FileTables } from './file-tables.js';
import { HeldSnapshot, snapshotOf, type EngineParts } from './held-snapshot.js';
import { HotMirror } from './hot.js';
import { LakeLatestVersions } from './latest.js';
import { SupersededPositions } from './positions.js';
import { ChangedRowSets } from './tiers.js';
import { MirrorTopUps } from './top-up.js';
import { ZoneMaps } from './zone-map.js';

export type {
  BuildStatement,
  QueryEngineDeps,
  QueryFaults,
  ReadOptions,
  ResultRows,
  SignedViewOf,
  SnapshotHandle,
  SnapshotReader,
  SnapshotWork,
  Statement,
  ViewOf,
} from './engine-types.js';

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
    this.parts = shared?.parts ?? this.newParts();
    this.admission = this.parts.admission;
    this.scope = shared?.scope ?? null;
  }

  /** What a root engine owns and its scoped views share. */
  private newParts(): EngineParts {
    const { duck, pool } = this.deps;
    const hot = new HotMirror(duck);
    return {
      admission: new Admission(this.deps.admission ?? { maxRunning: 2, queueLength: 16, queueWaitMs: 10_000 }),
      hot,
      changed: new ChangedRowSets(pool, duck),
      latest: new LakeLatestVersions(duck),
      positions: new SupersededPositions(duck),
      zones: new ZoneMaps(duck),
      fileTables: new FileTables(duck, this.deps.fileTables),
      open: new Set(),
      topUps: new MirrorTopUps(hot, (entity) => this.topUpOnce(entity)),
    };
  }

  /** The DuckDB tables of large lake files (tests and benches wait for their loads: `settled()`). */
  get fileTables(): FileTables {
    return this.parts.fileTables;
  }

  /** After this process's own writes commit: tops up the mirror of those of `entities` that searches read (top-up.ts). */
  topUp(entities: readonly EntitySchema[]): void {
    this.parts.topUps.request(entities);
  }

  /** A snapshot of the entity taken and released: the mirror's top-up in it is all it does. */
  private async topUpOnce(entity: EntitySchema): Promise<void> {
    const changed = this.parts.changed.forQuery();
    try {
      (await snapshotOf(this.deps, this.parts, changed, [entity])).release();
    } finally {
      changed.release();
    }
  }

  /** The slot up to which the hot mirror of `entity` holds the buffer (-1: searches have not read it). */
  mirroredThrough(entity: EntitySchema): bigint {
    return this.parts.hot.copiedThrough(entity);
  }

  /** Waits for the top-ups in flight (tests, before they check what is held). */
  toppedUp(): Promise<void> {
    return this.parts.topUps.settled();
  }

  /** Starts no more top-ups and waits for those in flight (before DuckDB closes). */
  stop(): Promise<void> {
    return this.parts.topUps.stop();
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

  /** A snapshot of `entities` for several statements, taken at its first read (held-snapshot.ts). */
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
