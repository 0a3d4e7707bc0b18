// What a snapshot lists of an entity and makes readable: its live files, each with the size of its
// changed set (the row_ids of its updates and deletes, loaded into DuckDB once per process), and
// the tiers a query's view reads (view.ts). Apart from snapshot.ts so that the parts a snapshot
// prepares (latest.ts, positions.ts) and the view depend on it, not on the snapshot.
import { listValue } from '@duckdb/node-api';
import type { EntitySchema } from '../catalog/index.js';
import { ConflictError } from '../errors/index.js';
import { changedRowIdsOf, type DuckDb } from '../lake/index.js';
import type { PgPool } from '../oltp/index.js';
import type { HotRead } from './hot.js';
import type { FileZones } from './zone-map.js';

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
  /** DuckDB table of its rows, read in its place (file-tables.ts); null: read from Parquet. */
  table?: string | null;
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
   * DuckDB table (_file_id, _pos, _slot) of the places in these files of rows with a newer version
   * (positions.ts): rows of a changed set (slot 0), and rows changed in the buffer (the slot of
   * their first change), complete through `hot.upTo`. Null: not prepared, the view anti-joins on row_id.
   */
  superseded?: string | null;
  /**
   * DuckDB table (_file_id, _pos, _slot, ...lake columns) of the rows at those places, complete
   * through `hot.upTo` (positions.ts), for a read by subtraction (view.ts, signedRowsSql). Null: not
   * asked for, not taken yet, or without rows added since they were.
   */
  supersededValues?: string | null;
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

  /**
   * The row_ids of the changed sets of those of `files` that have one (rows with an update or
   * delete version in the lake), as a relation (row_id); null when none has.
   */
  static rowIdsSql(files: readonly TierFile[]): string | null {
    const withChanges = files.filter((f) => f.changedRows > 0);
    return withChanges.length ? `(SELECT row_id FROM ${ChangedRowSets.TABLE} WHERE file_id IN (${withChanges.map((f) => f.fileId.toString()).join(', ')}))` : null;
  }

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
