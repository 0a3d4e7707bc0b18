// One consistent snapshot per query (DESIGN 4.5): the manifest listing and the hot buffer come
// from one REPEATABLE READ transaction, so a flush committing meanwhile neither hides nor doubles
// a row.
import { listValue } from '@duckdb/node-api';
import type { EntitySchema } from '../catalog/index.js';
import { ConflictError, UnavailableError } from '../errors/index.js';
import { changedRowIdsOf, listTiers, type DuckDb, type EntityTierListing, type LakeReadCache, type PinnedFiles } from '../lake/index.js';
import type { PgClient, PgPool } from '../oltp/index.js';
import { keyOf, type HotMirror, type HotRead } from './hot.js';
import type { LakeLatestVersions, LatestLease } from './latest.js';
import type { PositionsLease, SupersededPositions } from './positions.js';
import type { FileZones, ZoneMaps } from './zone-map.js';

export interface TierFile {
  fileId: bigint;
  /** How many rows of this file are updates or deletes (its changed set). */
  changedRows: number;
  rowCount: number;
  rowIdMin: string;
  rowIdMax: string;
  /** Local path DuckDB reads (the lake directory, or the read cache for S3). */
  localPath: string;
  columns: readonly string[];
  /** Its columns' ranges, to skip it for a filter none of its rows meets (null: unknown, never skipped). */
  zones: FileZones | null;
}

export interface EntityTiers {
  entity: EntitySchema;
  files: TierFile[];
  /** DuckDB table of the newest lake versions of the rows changed in these files (null: none). */
  latestChanged: string | null;
  /**
   * Mirror rows in (above, upTo] are this snapshot's buffer; null when it is empty. Without
   * `supersedesLake` the buffer holds only rows inserted in it, which the older tiers lack.
   */
  hot: (HotRead & { above: bigint; upTo: bigint }) | null;
  /**
   * DuckDB table (file_id, pos, slot) of the places in these files of rows with a newer version
   * (positions.ts): rows of a changed set (slot 0), and rows changed in the buffer (the slot of
   * their first change), complete through `hot.upTo`. Null: not prepared, the view anti-joins on row_id.
   */
  superseded?: string | null;
}

export interface QuerySnapshot {
  /**
   * Makes the entities' tiers readable (`tiers`): local copies pinned, changed sets loaded, newest
   * lake versions leased, each once. Listed files are immutable, so this needs no Postgres snapshot
   * and may come later than the listing: a request's snapshot prepares an entity when a statement
   * first reads it, so an entity it covers but never reads costs only its listing.
   */
  prepare(entities: readonly EntitySchema[], options?: { positions?: boolean }): Promise<void>;
  tiers(entity: EntitySchema): EntityTiers;
  /**
   * The highest time_slot of the entity that this snapshot shows committed: its newest buffered
   * change, else the newest change its live files hold (null: none). Slot order is commit order
   * (DESIGN 4.3), so every change of the entity at or below it is in the snapshot, none above.
   */
  highWater(entity: EntitySchema): bigint | null;
  /** Ends the query's claim on the hot mirror and its pins; call after its DuckDB statements ran. */
  release(): void;
}

/** What every handle of a process's ChangedRowSets shares. */
interface SharedSets {
  loaded: Map<bigint, Promise<number>>;
  /** Per file id, how many queries in flight hold its set. */
  pins: Map<bigint, number>;
  created?: Promise<void>;
  /** The last DuckDB delete of forgotten sets: a set loaded again afterwards is inserted after it. */
  forgetting?: Promise<void>;
}

/**
 * Per lake file, the row_ids of its updates and deletes, kept in DuckDB once loaded: a file's set
 * never changes, so each is read from Postgres once per process.
 *
 * A query anti-joins against the sets of the files it listed until its statement ends, so GC may
 * not drop them meanwhile (the file's newest versions in latest.ts stay, and the query would read
 * both versions of a row). Each query therefore ensures its sets through a handle of its own,
 * `forQuery()`, which pins them until `release()`; `retainOnly` skips pinned sets.
 */
export class ChangedRowSets {
  private readonly shared: SharedSets;
  /** Set on a query's handle: the file ids it pinned. */
  private readonly held: bigint[] | null;

  constructor(
    private readonly pool: PgPool,
    private readonly duck: DuckDb,
    handleOf?: { shared: SharedSets },
  ) {
    this.shared = handleOf?.shared ?? { loaded: new Map(), pins: new Map() };
    this.held = handleOf ? [] : null;
  }

  static readonly TABLE = 'lake_changed';

  /** Files whose sets a query in flight holds (tests check that none is left behind). */
  get pinnedCount(): number {
    return this.shared.pins.size;
  }

  /** A handle for one query: what it ensures stays loaded until it calls `release()`. */
  forQuery(): ChangedRowSets {
    return new ChangedRowSets(this.pool, this.duck, { shared: this.shared });
  }

  /** Ends a query handle's pins (idempotent); the sets are dropped by a later `retainOnly`. */
  release(): void {
    if (!this.held) return;
    for (const id of this.held.splice(0)) {
      const count = (this.shared.pins.get(id) ?? 1) - 1;
      if (count > 0) this.shared.pins.set(id, count);
      else this.shared.pins.delete(id);
    }
  }

  /** Loads the sets of these files (once each) and returns their sizes, in order; a query's handle pins them first. */
  async ensure(fileIds: readonly bigint[]): Promise<number[]> {
    if (this.held) {
      for (const id of fileIds) {
        this.held.push(id);
        this.shared.pins.set(id, (this.shared.pins.get(id) ?? 0) + 1);
      }
    }
    this.shared.created ??= this.duck.use(async (c) => {
      await c.run(`CREATE TABLE IF NOT EXISTS ${ChangedRowSets.TABLE} (file_id BIGINT, row_id UUID)`);
    });
    await this.shared.created;
    return Promise.all(
      fileIds.map((fileId) => {
        let loading = this.shared.loaded.get(fileId);
        if (!loading) {
          loading = this.load(fileId);
          loading.catch(() => this.shared.loaded.delete(fileId));
          this.shared.loaded.set(fileId, loading);
        }
        return loading;
      }),
    );
  }

  /**
   * Forgets the sets of files the manifest no longer names at all (removed and past the GC grace
   * period), except those a query in flight still holds.
   */
  async retainOnly(known: ReadonlySet<bigint>): Promise<void> {
    const gone = [...this.shared.loaded.keys()].filter((id) => !known.has(id) && !this.shared.pins.has(id));
    if (gone.length === 0) return;
    for (const id of gone) this.shared.loaded.delete(id);
    const previous = this.shared.forgetting;
    const forgetting = (async () => {
      await previous?.catch(() => undefined);
      await this.duck.use((c) => c.run(`DELETE FROM ${ChangedRowSets.TABLE} WHERE file_id IN (${gone.map(String).join(', ')})`));
    })();
    this.shared.forgetting = forgetting;
    await forgetting;
  }

  private async load(fileId: bigint): Promise<number> {
    const rowIds = await changedRowIdsOf(this.pool, fileId);
    // The manifest forgot the file: a query listed it longer ago than the GC grace (QUERY_TIMEOUT_MS
    // keeps that from happening), and answering with an empty set would double its changed rows.
    if (rowIds === null) throw new ConflictError(`lake file ${fileId} was garbage-collected while a query still listed it; retry the query`);
    if (rowIds.length === 0) return 0;
    await this.shared.forgetting?.catch(() => undefined);
    await this.duck.use((c) => c.run(`INSERT INTO ${ChangedRowSets.TABLE} SELECT $1, unnest($2::UUID[])`, [fileId, listValue(rowIds)]));
    return rowIds.length;
  }
}

/** Test hooks to run work between a snapshot's steps (deterministic interleavings). */
export interface SnapshotHooks {
  /** After a manifest and buffer listing, before the mirror is checked or refreshed for it. */
  afterListing?(path: 'statement' | 'transaction'): Promise<void>;
}


/**
 * Lists `entities`' tiers and claims their buffered changes in the hot mirror, all in one Postgres
 * snapshot. With `prepare: 'all'` (the default) every entity is also made readable at once;
 * with `'onDemand'` the caller prepares the ones it reads (`QuerySnapshot.prepare`).
 */
export async function takeSnapshot(
  deps: {
    pool: PgPool;
    hot: HotMirror;
    cache: LakeReadCache;
    changed: ChangedRowSets;
    latest: LakeLatestVersions;
    zones?: ZoneMaps;
    /** Without it, the view always anti-joins on row_id. */
    positions?: SupersededPositions;
    hooks?: SnapshotHooks;
  },
  entities: readonly EntitySchema[],
  options: { prepare?: 'all' | 'onDemand' } = {},
): Promise<QuerySnapshot> {
  const { id, reader } = deps.hot.openReader();
  const tiers = new Map<string, EntityTiers>();
  const preparing = new Map<string, Promise<void>>();
  const hot = new Map<string, EntityTiers['hot']>();
  const leases: (LatestLease | PositionsLease)[] = [];
  // The local copies of the listed files stay in the read cache until the statement ends (cache.ts).
  const pins: PinnedFiles[] = [];
  let released = false;
  const releaseAll = () => {
    released = true;
    reader.release();
    for (const lease of leases.splice(0)) lease.release();
    for (const pin of pins.splice(0)) pin.release();
  };
  const withFlushed = (listing: EntityTierListing[]) =>
    listing.map((l, i) => ({ ...l, entity: entities[i]!, flushedThrough: l.files.reduce((max, f) => (f.slotMax > max ? f.slotMax : max), -1n) }));
  const claimAndRefresh = async (listing: ReturnType<typeof withFlushed>, client: PgClient | null) => {
    deps.hot.claim(id, new Map(listing.map((l) => [keyOf(l.entity), l.flushedThrough])));
    for (const { entity, flushedThrough, bufferMax } of listing) {
      const read = await deps.hot.refresh(id, client, entity, { flushedThrough, bufferMax });
      hot.set(keyOf(entity), read && bufferMax !== null ? { ...read, above: flushedThrough, upTo: bufferMax } : null);
    }
  };
  let listed: ReturnType<typeof withFlushed>;
  try {
    // One statement is one snapshot: enough when the shared mirror already holds every buffered
    // change it shows, with no gap (hot.ts), the common case of a read-mostly API. Once true this
    // stays true: no later copy or prune takes a change of the range away.
    listed = withFlushed(await listTiers(deps.pool, entities));
    await deps.hooks?.afterListing?.('statement');
    if (listed.every((l) => deps.hot.holds(l.entity, l))) {
      await claimAndRefresh(listed, null);
    } else {
      // New changes to copy: the listing and the copy must share one snapshot, so a flush
      // committing between them can neither hide nor double a row.
      const client = await deps.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        listed = withFlushed(await listTiers(client, entities));
        await deps.hooks?.afterListing?.('transaction');
        await claimAndRefresh(listed, client);
        await client.query('COMMIT');
      } catch (error) {
        broken = error instanceof Error ? error : new Error(String(error));
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release(broken);
      }
    }
  } catch (error) {
    releaseAll();
    throw error;
  }
  const byKey = new Map(listed.map((l) => [keyOf(l.entity), l]));
  const listingOf = (entity: EntitySchema) => {
    const found = byKey.get(keyOf(entity));
    if (!found) throw new Error(`query snapshot: ${entity.name} was not part of it`);
    return found;
  };

  // Files are immutable once listed: their local copies and changed sets need no snapshot.
  const prepareOne = async (entity: EntitySchema): Promise<void> => {
    const { files } = listingOf(entity);
    const changedRows = await deps.changed.ensure(files.map((f) => f.fileId));
    const pinned = await deps.cache.pinned(files).catch((error: unknown) => {
      // Only a file this process has not cached needs the store; the buffer and cached files do not.
      throw new UnavailableError(
        `this search needs a lake file of ${entity.name} that is not cached here, and the lake store cannot be read ` +
          `(${error instanceof Error ? error.message : String(error)}); retry once the store answers`,
        { cause: error },
      );
    });
    pins.push(pinned);
    const local: TierFile[] = files.map((f, i) => ({
      fileId: f.fileId,
      changedRows: changedRows[i]!,
      rowCount: f.rowCount,
      rowIdMin: f.rowIdMin,
      rowIdMax: f.rowIdMax,
      columns: f.columns,
      localPath: pinned.paths[i]!,
      zones: null,
    }));
    if (deps.zones) {
      const zones = deps.zones.known(entity, local);
      local.forEach((f, i) => (f.zones = zones[i]!));
    }
    const lease = await deps.latest.lease(entity, local);
    leases.push(lease);
    // Released meanwhile (the caller's bound ran out): what this call took must not outlive it.
    if (released) {
      releaseAll();
      throw new Error(`query snapshot: released while ${entity.name} was being prepared`);
    }
    tiers.set(keyOf(entity), { entity, files: local, latestChanged: lease.table, hot: hot.get(keyOf(entity)) ?? null });
  };
  // The positions of superseded rows, for statements that read every file row (the view's part 1
  // without a row_id condition); a statement about a few rows is better off without the lookup.
  const positioning = new Map<string, Promise<void>>();
  const positionOne = async (entity: EntitySchema): Promise<void> => {
    const key = keyOf(entity);
    const lease = await deps.positions!.lease(tiers.get(key)!);
    if (!lease) return;
    leases.push(lease);
    if (released) {
      releaseAll();
      throw new Error(`query snapshot: released while ${entity.name} was being prepared`);
    }
    tiers.set(key, { ...tiers.get(key)!, superseded: lease.table });
  };
  const memoized = (memo: Map<string, Promise<void>>, entity: EntitySchema, make: (entity: EntitySchema) => Promise<void>): Promise<void> => {
    const key = keyOf(entity);
    let ready = memo.get(key);
    if (!ready) {
      ready = make(entity);
      // A failed preparation (e.g. the store unreachable) may be tried again by a later statement.
      ready.catch(() => memo.delete(key));
      memo.set(key, ready);
    }
    return ready;
  };
  const prepare = async (wanted: readonly EntitySchema[], options: { positions?: boolean } = {}): Promise<void> => {
    if (released) throw new Error('query snapshot: read after release');
    for (const entity of wanted) {
      listingOf(entity);
      await memoized(preparing, entity, prepareOne);
      if (options.positions && deps.positions) await memoized(positioning, entity, positionOne);
    }
  };

  if (options.prepare !== 'onDemand') {
    try {
      await prepare(entities, { positions: true });
    } catch (error) {
      releaseAll();
      throw error;
    }
  }
  return {
    prepare,
    tiers(entity) {
      const found = tiers.get(keyOf(entity));
      if (!found) throw new Error(`query snapshot: ${entity.name} was not ${byKey.has(keyOf(entity)) ? 'prepared' : 'part of it'}`);
      return found;
    },
    highWater(entity) {
      const { files, bufferMax } = listingOf(entity);
      let max = bufferMax ?? -1n;
      for (const file of files) if (file.slotMax > max) max = file.slotMax;
      return max < 0n ? null : max;
    },
    release: releaseAll,
  };
}
