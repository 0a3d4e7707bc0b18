// A snapshot that several statements share (engine.ts `snapshot`). It is taken at its first read,
// inside admission (a request waiting for a slot holds no Postgres connection and no lease), and
// lists every entity it covers in one Postgres snapshot; each entity's files are made readable when a statement first reads it. It is held
// between its statements without a Postgres connection or an admission slot, and its time bound
// (QUERY_TIMEOUT_MS) runs from its listing to its last statement, as a single statement's does:
// GC deletes a replaced file ORPHAN_GRACE_MS (at least twice the bound) after its removal, so no
// reader outlives a file it listed. At the bound the running statement is interrupted, later
// reads fail with TIMEOUT, and the snapshot is released, whether or not its holder ever releases it.
import type { EntitySchema } from '../catalog/index.js';
import { TimeoutError } from '../errors/index.js';
import { retryTransient } from '../oltp/index.js';
import type { Admission } from './admission.js';
import type { BuildStatement, QueryEngineDeps, ReadOptions, ResultRows, SnapshotHandle, SnapshotWork, Statement } from './engine-types.js';
import { SCANS } from './engine-types.js';
import type { FileTables } from './file-tables.js';
import { keyOf, type HotMirror } from './hot.js';
import type { LakeLatestVersions } from './latest.js';
import type { SupersededPositions } from './positions.js';
import { takeSnapshot, type QuerySnapshot } from './snapshot.js';
import type { ChangedRowSets } from './tiers.js';
import type { MirrorTopUps } from './top-up.js';
import type { ZoneMaps } from './zone-map.js';
import { currentRowsSql, signedRowsSql } from './view.js';

/** What an engine and its request-scoped views share. */
export interface EngineParts {
  hot: HotMirror;
  changed: ChangedRowSets;
  latest: LakeLatestVersions;
  positions: SupersededPositions;
  zones: ZoneMaps;
  fileTables: FileTables;
  admission: Admission;
  /** Snapshots taken and not yet released. */
  open: Set<HeldSnapshot>;
  /** The hot mirror's top-ups after this process's writes. */
  topUps: MirrorTopUps;
}

/** A snapshot of `entities` over the engine's parts, each entity prepared when a statement reads it. */
export function snapshotOf(deps: QueryEngineDeps, parts: EngineParts, changed: ChangedRowSets, entities: readonly EntitySchema[]): Promise<QuerySnapshot> {
  const { pool, cache, pgRetry } = deps;
  const { hot, latest, zones, positions, fileTables } = parts;
  // A snapshot only reads, so a lost connection or a serialization failure just takes it again.
  return retryTransient(() => takeSnapshot({ pool, hot, cache, changed, latest, zones, positions, fileTables }, entities, { prepare: 'onDemand' }), pgRetry);
}

export class HeldSnapshot implements SnapshotHandle {
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
        const snapshot = await snapshotOf(this.deps, this.parts, changed, [...this.wanted.values()]);
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
