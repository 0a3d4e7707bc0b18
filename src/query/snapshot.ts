// One consistent snapshot per query (DESIGN 4.5): the manifest listing and the hot buffer come
// from one REPEATABLE READ transaction, so a flush committing meanwhile neither hides nor doubles
// a row.
import type { EntitySchema } from '../catalog/index.js';
import { UnavailableError } from '../errors/index.js';
import { listTiers, type EntityTierListing, type LakeReadCache, type PinnedFiles } from '../lake/index.js';
import type { ListedChangesLimit, PgClient, PgPool } from '../oltp/index.js';
import type { FileTables } from './file-tables.js';
import { keyOf, LACKING, type HotMirror } from './hot.js';
import type { LakeLatestVersions } from './latest.js';
import type { PositionsLease, SupersededPositions } from './positions.js';
import type { ChangedRowSets, EntityTiers, TierFile } from './tiers.js';
import type { ZoneMaps } from './zone-map.js';

export interface QuerySnapshot {
  /**
   * Makes the entities' tiers readable (`tiers`): local copies pinned, changed sets loaded, newest
   * lake versions leased, each once. Listed files are immutable, so this needs no Postgres snapshot
   * and may come later than the listing: a request's snapshot prepares an entity when a statement
   * first reads it, so an entity it covers but never reads costs only its listing.
   */
  prepare(entities: readonly EntitySchema[], options?: PrepareOptions): Promise<void>;
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

/**
 * `positions`: the superseded rows' positions too (positions.ts); `values`: and, of these entities,
 * the values of those rows (for a read by subtraction).
 */
export interface PrepareOptions {
  positions?: boolean;
  values?: readonly EntitySchema[];
}

/**
 * The buffered changes a listing carries at most (rows, stored bytes): a dashboard's few writes
 * since the mirror's last copy come with it, without a transaction and a COPY of their own.
 */
const LISTED_CHANGES = { rows: 1_000, bytes: 1 << 20 };

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
    /** Without it, every file is read from Parquet. */
    fileTables?: FileTables;
    /** The buffered changes a listing carries at most (default LISTED_CHANGES; rows 0: none, every copy in a transaction). */
    listedChanges?: ListedChangesLimit;
    hooks?: SnapshotHooks;
  },
  entities: readonly EntitySchema[],
  options: { prepare?: 'all' | 'onDemand' } = {},
): Promise<QuerySnapshot> {
  const { id, reader } = deps.hot.openReader();
  const tiers = new Map<string, EntityTiers>();
  const preparing = new Map<string, Promise<void>>();
  const hot = new Map<string, EntityTiers['hot']>();
  const leases: { release(): void }[] = [];
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
  // Claims the listed ranges and brings the mirror up to them; false when a range needs a
  // snapshot transaction after all (a gap only a copy on a client could fill).
  const claimAndRefresh = async (listing: ReturnType<typeof withFlushed>, client: PgClient | null): Promise<boolean> => {
    deps.hot.claim(id, new Map(listing.map((l) => [keyOf(l.entity), l.flushedThrough])));
    for (const { entity, flushedThrough, bufferMax, changes } of listing) {
      const source = client ? { client } : changes ? { listed: changes } : null;
      const read = await deps.hot.refresh(id, source, entity, { flushedThrough, bufferMax });
      if (read === LACKING) return false;
      hot.set(keyOf(entity), read && bufferMax !== null ? { ...read, above: flushedThrough, upTo: bufferMax } : null);
    }
    return true;
  };
  let listed: ReturnType<typeof withFlushed>;
  try {
    // One statement is one snapshot: enough when the shared mirror already holds every buffered
    // change it shows, with no gap (hot.ts), the common case of a read-mostly API, or when the
    // listing carried the few changes it lacks (a dashboard between writes): once true this stays
    // true, no later copy or prune takes a change of the range away.
    const changesAbove = entities.map((e) => deps.hot.copiedThrough(e));
    listed = withFlushed(await listTiers(deps.pool, entities, { changesAbove, changesLimit: deps.listedChanges ?? LISTED_CHANGES }));
    await deps.hooks?.afterListing?.('statement');
    const inStatement = listed.every((l) => deps.hot.holds(l.entity, l) || l.changes !== null) && (await claimAndRefresh(listed, null));
    if (!inStatement) {
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

  /** Holds `lease` until release; released meanwhile (the caller's bound ran out), what this took must not outlive it. */
  const keep = <L extends { release(): void }>(lease: L, entity: EntitySchema): L => {
    leases.push(lease);
    if (released) {
      releaseAll();
      throw new Error(`query snapshot: released while ${entity.name} was being prepared`);
    }
    return lease;
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
    // Tables of the large files, read in their place (file-tables.ts).
    if (deps.fileTables) keep({ release: deps.fileTables.hold(keyOf(entity), local) }, entity);
    const lease = keep(await deps.latest.lease(entity, local), entity);
    tiers.set(keyOf(entity), { entity, files: local, latestChanged: lease.table, hot: hot.get(keyOf(entity)) ?? null });
  };
  // The positions of superseded rows, for statements that read every file row (the view's part 1
  // without a row_id condition); a statement about a few rows is better off without the lookup.
  const positioning = new Map<string, Promise<void>>();
  const positionLeases = new Map<string, PositionsLease>();
  const positionOne = async (entity: EntitySchema): Promise<void> => {
    const key = keyOf(entity);
    const lease = await deps.positions!.lease(tiers.get(key)!);
    if (!lease) return;
    positionLeases.set(key, keep(lease, entity));
    tiers.set(key, { ...tiers.get(key)!, superseded: lease.table });
  };
  // Their rows' values, for a count, sum or avg read by subtraction (positions.ts).
  const valuing = new Map<string, Promise<void>>();
  const valueOne = async (entity: EntitySchema): Promise<void> => {
    const key = keyOf(entity);
    const lease = positionLeases.get(key);
    if (lease) tiers.set(key, { ...tiers.get(key)!, supersededValues: await lease.values() });
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
  const prepare = async (wanted: readonly EntitySchema[], options: PrepareOptions = {}): Promise<void> => {
    if (released) throw new Error('query snapshot: read after release');
    for (const entity of wanted) {
      listingOf(entity);
      await memoized(preparing, entity, prepareOne);
      if (!options.positions || !deps.positions) continue;
      await memoized(positioning, entity, positionOne);
      if (options.values?.some((e) => keyOf(e) === keyOf(entity))) await memoized(valuing, entity, valueOne);
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
