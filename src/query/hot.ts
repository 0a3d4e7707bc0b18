// The hot tier, cheaply (DESIGN 4b): a DuckDB mirror of each schema's change_log buffer, refreshed
// per query and incrementally, in the query's own Postgres snapshot.
//
// Why it is safe: slot order is commit order (DESIGN 4.3), so once a snapshot shows slot M, every
// change with a smaller slot is visible too and none can appear later. The mirror therefore only
// ever fetches slots above what it already holds. A query reads the mirror rows in
// (flushedThrough, bufferMax] of its snapshot: below that the rows are in the files it lists,
// above it they committed after its snapshot. Rows are pruned only up to the smallest
// flushedThrough of the queries in flight, so no query loses a row its snapshot needs.
import { quoteIdent, type EntitySchema } from '../catalog/index.js';
import { bufferRowsSql, lakeColumns, loadBuffer, type DuckDb } from '../lake/index.js';
import type { PgClient } from '../oltp/index.js';

/** Per connection (TEMP), so refreshes of different schemas on other connections do not meet. */
const HOT_STAGING = { table: 'hot_staging', temporary: true } as const;

interface MirrorState {
  table: string;
  /** Every buffered change with a slot at or below this is in the mirror (or pruned). */
  copiedThrough: bigint;
  /** Rows at or below this slot have been deleted from the mirror. */
  prunedThrough: bigint;
  /** Serializes refreshes and prunes of this schema's mirror. */
  queue: Promise<void>;
}

/** A query's claim on the mirror: what it may still read. Pending (null) until its snapshot is known. */
export interface HotReader {
  release(): void;
}

export class HotMirror {
  private readonly states = new Map<string, MirrorState>();
  /** flushedThrough per schema of each query in flight; null while its snapshot is being taken. */
  private readonly readers = new Map<number, Map<string, bigint> | null>();
  private nextReader = 0;

  constructor(
    private readonly duck: DuckDb,
    private readonly workDir: string,
  ) {}

  /** Registers a query before it takes its snapshot; nothing is pruned while it is pending. */
  openReader(): { id: number; reader: HotReader } {
    const id = this.nextReader++;
    this.readers.set(id, null);
    return { id, reader: { release: () => void this.readers.delete(id) } };
  }

  /** States what a registered query will read: flushedThrough per schema (`project/schema_id`). */
  claim(readerId: number, flushedThrough: Map<string, bigint>): void {
    this.readers.set(readerId, flushedThrough);
  }

  /** Whether the mirror already holds every buffered change up to `bufferMax` (so a refresh copies nothing). */
  holds(entity: EntitySchema, bufferMax: bigint | null): boolean {
    return bufferMax === null || (this.states.get(`${entity.project}/${entity.id}`)?.copiedThrough ?? -1n) >= bufferMax;
  }

  /**
   * Brings the mirror of `entity` up to `bufferMax` of the caller's snapshot (read on `client`,
   * inside that snapshot) and returns the table to read, or null when the snapshot's buffer is
   * empty. `flushedThrough` is the highest slot in the snapshot's live files. Without a client
   * the mirror must already hold the changes (`holds`).
   */
  async refresh(
    readerId: number,
    client: PgClient | null,
    entity: EntitySchema,
    snapshot: { flushedThrough: bigint; bufferMax: bigint | null },
  ): Promise<string | null> {
    const key = `${entity.project}/${entity.id}`;
    if (this.readers.get(readerId)?.get(key) !== snapshot.flushedThrough) {
      throw new Error(`hot mirror: query ${readerId} reads ${key} without claiming it first`);
    }
    const state = this.stateOf(entity);
    await this.serialized(state, async () => {
      if (snapshot.bufferMax !== null && snapshot.bufferMax > state.copiedThrough) {
        if (!client) throw new Error(`hot mirror: ${key} needs changes up to ${snapshot.bufferMax} copied, and no snapshot to copy them in`);
        await this.copy(client, entity, state, snapshot.bufferMax);
      }
      await this.prune(key, state);
    });
    return snapshot.bufferMax === null ? null : state.table;
  }

  private stateOf(entity: EntitySchema): MirrorState {
    const key = `${entity.project}/${entity.id}`;
    let state = this.states.get(key);
    if (!state) {
      const table = quoteIdent(`hot_${entity.project}_${entity.id}`);
      const columns = lakeColumns(entity).map((c) => `${quoteIdent(c.name)} ${c.duckdb}`);
      // The table is created first in the schema's queue, before any refresh can run.
      const created = this.duck.use(async (connection) => {
        await connection.run(`CREATE OR REPLACE TABLE ${table} (${columns.join(', ')}, superseded_at BIGINT)`);
      });
      state = { table, copiedThrough: -1n, prunedThrough: -1n, queue: created };
      this.states.set(key, state);
    }
    return state;
  }

  private async serialized(state: MirrorState, work: () => Promise<void>): Promise<void> {
    const run = state.queue.then(work);
    state.queue = run.catch(() => undefined);
    await run;
  }

  private async copy(client: PgClient, entity: EntitySchema, state: MirrorState, upTo: bigint): Promise<void> {
    await this.duck.use(async (connection) => {
      // The rows come in binary (no text format) into a staging table of this connection; the
      // INSERT below types them. Few statements: each costs DuckDB milliseconds on every refresh.
      const rows = await loadBuffer(client, connection, entity, { aboveSlot: state.copiedThrough, upToSlot: upTo }, HOT_STAGING);
      // Each version records the slot of the row's next version (superseded_at), so a query
      // finds the newest version in its snapshot with a filter instead of a window.
      await connection.run('BEGIN');
      try {
        await connection.run(
          `UPDATE ${state.table} AS h SET superseded_at = b.first_slot
             FROM (SELECT row_id, min(time_slot) AS first_slot FROM ${HOT_STAGING.table} GROUP BY row_id) AS b
            WHERE h.row_id = b.row_id AND h.superseded_at IS NULL`,
        );
        await connection.run(
          `INSERT INTO ${state.table}
             SELECT *, lead(time_slot) OVER (PARTITION BY row_id ORDER BY time_slot) AS superseded_at
               FROM (${bufferRowsSql(HOT_STAGING.table, entity.attributes)}) AS buffered`,
        );
        await connection.run('COMMIT');
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
      // The next refresh replaces the staging table; only a large one is worth a statement now.
      if (rows > 10_000) await connection.run(`DROP TABLE ${HOT_STAGING.table}`);
    });
    state.copiedThrough = upTo;
  }

  /** Drops rows every query in flight finds in its files; none while a query takes its snapshot. */
  private async prune(key: string, state: MirrorState): Promise<void> {
    let floor: bigint | null = null;
    for (const claims of this.readers.values()) {
      if (claims === null) return;
      const flushedThrough = claims.get(key);
      if (flushedThrough === undefined) continue;
      if (floor === null || flushedThrough < floor) floor = flushedThrough;
    }
    if (floor === null || floor <= state.prunedThrough) return;
    await this.duck.use((connection) => connection.run(`DELETE FROM ${state.table} WHERE time_slot <= $1`, [floor]));
    state.prunedThrough = floor;
  }
}
