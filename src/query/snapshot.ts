// One consistent snapshot per query (DESIGN 4.5): the manifest listing and the hot buffer come
// from one REPEATABLE READ transaction, so a flush committing meanwhile neither hides nor doubles
// a row.
import { listValue } from '@duckdb/node-api';
import type { EntitySchema } from '../catalog/index.js';
import { ConflictError, UnavailableError } from '../errors/index.js';
import { changedRowIdsOf, listTiers, type DuckDb, type EntityTierListing, type LakeReadCache, type PinnedFiles } from '../lake/index.js';
import type { PgClient, PgPool } from '../oltp/index.js';
import type { HotMirror } from './hot.js';
import type { LakeLatestVersions, LatestLease } from './latest.js';

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
}

export interface EntityTiers {
  entity: EntitySchema;
  files: TierFile[];
  /** DuckDB table of the newest lake versions of the rows changed in these files (null: none). */
  latestChanged: string | null;
  /** Mirror rows in (above, upTo] are this snapshot's buffer; null when it is empty. */
  hot: { table: string; above: bigint; upTo: bigint } | null;
}

export interface QuerySnapshot {
  tiers(entity: EntitySchema): EntityTiers;
  /** Ends the query's claim on the hot mirror; call after its DuckDB statements ran. */
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

export async function takeSnapshot(
  deps: { pool: PgPool; hot: HotMirror; cache: LakeReadCache; changed: ChangedRowSets; latest: LakeLatestVersions; hooks?: SnapshotHooks },
  entities: readonly EntitySchema[],
): Promise<QuerySnapshot> {
  const { id, reader } = deps.hot.openReader();
  const tiers = new Map<EntitySchema, EntityTiers>();
  const hot = new Map<EntitySchema, EntityTiers['hot']>();
  const leases: LatestLease[] = [];
  // The local copies of the listed files stay in the read cache until the statement ends (cache.ts).
  const pins: PinnedFiles[] = [];
  const releaseAll = () => {
    reader.release();
    for (const lease of leases) lease.release();
    for (const pin of pins) pin.release();
  };
  const withFlushed = (listing: EntityTierListing[]) =>
    listing.map((l, i) => ({ ...l, entity: entities[i]!, flushedThrough: l.files.reduce((max, f) => (f.slotMax > max ? f.slotMax : max), -1n) }));
  const claimAndRefresh = async (listing: ReturnType<typeof withFlushed>, client: PgClient | null) => {
    deps.hot.claim(id, new Map(listing.map((l) => [`${l.entity.project}/${l.entity.id}`, l.flushedThrough])));
    for (const { entity, flushedThrough, bufferMax } of listing) {
      const table = await deps.hot.refresh(id, client, entity, { flushedThrough, bufferMax });
      hot.set(entity, table && bufferMax !== null ? { table, above: flushedThrough, upTo: bufferMax } : null);
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
    // Files are immutable once listed: their local copies and changed sets need no snapshot.
    for (const { entity, files } of listed) {
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
      const local = files.map((f, i) => ({
        fileId: f.fileId,
        changedRows: changedRows[i]!,
        rowCount: f.rowCount,
        rowIdMin: f.rowIdMin,
        rowIdMax: f.rowIdMax,
        columns: f.columns,
        localPath: pinned.paths[i]!,
      }));
      const lease = await deps.latest.lease(entity, local);
      leases.push(lease);
      tiers.set(entity, { entity, files: local, latestChanged: lease.table, hot: hot.get(entity) ?? null });
    }
  } catch (error) {
    releaseAll();
    throw error;
  }
  return {
    tiers(entity) {
      const found = tiers.get(entity);
      if (!found) throw new Error(`query snapshot: ${entity.name} was not part of it`);
      return found;
    },
    release: releaseAll,
  };
}
