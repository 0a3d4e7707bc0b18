// The hot tier, cheaply (DESIGN 4b): a DuckDB mirror of each schema's change_log buffer, refreshed
// per query and incrementally, in the query's own Postgres snapshot.
//
// Why it is safe: slot order is commit order (DESIGN 4.3), so once a snapshot shows slot M, every
// change with a smaller slot is visible too and none can appear later. A snapshot whose live files
// reach slot F (flushedThrough) buffers exactly the changes above F: a flush deletes every change up
// to its file's newest slot, and compaction keeps that slot. A query reads the mirror rows in
// (F, M] of its snapshot: below that the rows are in the files it lists, above it they committed
// after its snapshot.
//
// A copy fetches the changes above copiedThrough C in the snapshot of the query that needs them:
// carried by its listing statement when they are few (snapshot.ts), else by a COPY in its snapshot
// transaction. If that snapshot's F is above C, the changes in (C, F] have left change_log for a
// file the copy cannot fetch them from: the mirror records (C, F] as a gap (before copying, so a
// failed copy errs on the safe side). The query that copied lists that file; an older query, whose
// snapshot predates the flush, may buffer changes in the gap while C already covers its M (issue
// 10, defect 5). So a query reads the shared mirror only if it holds the whole range: C >= M, no
// gap meets (F, M], nothing in it pruned. Otherwise it copies its range in its own snapshot into a
// table of its own, dropped on release; without a snapshot transaction (`holds` false, or a
// listing that carried the changes: LACKING) the caller takes one. Once C >= M no later
// gap can meet the range (each starts at the C of its copy), and nothing in it is pruned (below), so
// the check made at refresh holds until the query releases.
//
// Across a gap, a version whose next version is in the gap is marked superseded (superseded_at) by
// the first version after it. A query whose range meets no gap still reads the mark right: if that
// missing version were at or below its M, the gap would meet its range.
//
// Rows are pruned only up to the smallest F of the queries in flight, and not at all while one is
// taking its snapshot; F never decreases, so every later snapshot's F is at least that floor.
//
// Inserts supersede nothing (DESIGN 4.4 anti-join): an insert's row_id is new to the store
// (eav_entity's key), so a row whose range holds its insert has no version at or below F. The
// mirror keeps change_log.op per version (`inserted`), and per update or delete the slot of its
// row's insert when the mirror saw it (`born`); a query's range (F, M] needs the anti-join only
// if one of its updates or deletes has no insert in (F, M]. An insert flushed since (born <= F) or
// never seen (null: pruned, in a gap, copied before the mirror started) counts as a lake row.
//
// Beside the table, the versions its updates and deletes replaced, as each change was captured with
// them (change_log.previous_slot, previous_values), each with the slot of the change that replaced it
// (`replaced`): of a row whose earlier version lies in a lake file, a kept aggregate's correction
// takes that version away from here instead of looking it up in the file. Pruned with the table.
//
// The log (hot-log.ts) keeps each change the table holds, with its row and op, up to a bound: a
// kept aggregate asks it which rows changed since its slot, and a copy asks it whether the mirror
// holds any version of the rows it changes (if not, nothing is superseded: no UPDATE). Past its
// bound, or for a range below where it starts again, it answers null and the table is asked.
import { quoteIdent, type EntitySchema } from '../catalog/index.js';
import { bufferRowsSql, lakeColumns, loadChanges, replacedVersionsSql, type DuckDb, type ListedChanges } from '../lake/index.js';
import { readBufferChanges, type ChangeBatch, type PgClient } from '../oltp/index.js';
import { listedAbove, MAX_SUPERSEDED_BY_SLOT, nextVersions, supersedeBySlotSql, tapChanges } from './hot-copy.js';
import { firstAbove, MirrorLog, type ChangedRow, type LoggedChange } from './hot-log.js';

/** An entity's key across projects (schema ids are unique within a project only). */
export const keyOf = (entity: Pick<EntitySchema, 'project' | 'id'>) => `${entity.project}/${entity.id}`;

/** Per connection (TEMP), so refreshes of different schemas on other connections do not meet. */
const HOT_STAGING = { table: 'hot_staging', temporary: true } as const;

/** Inserts whose slot the mirror remembers per schema (~100 bytes each), a lagging flush included. */
const BORN_LIMIT = 200_000;
/** Changes the mirror's log holds per schema (~100 bytes each); past it the log starts again empty. */
const LOG_LIMIT = 200_000;

/** The slots (above, upTo] of a range of changes. */
interface SlotRange {
  above: bigint;
  upTo: bigint;
}

interface MirrorState {
  table: string;
  /**
   * The versions the table's updates and deletes replaced, with the slot of the change that did
   * (superseded_at), as captured with each change: where a version in a lake file is replaced, a
   * kept aggregate's correction takes it away from here. Null for a query's own table.
   */
  replaced: string | null;
  /** Every buffered change with a slot at or below this is in the mirror, unless pruned or in a gap. */
  copiedThrough: bigint;
  /** Rows at or below this slot have been deleted from the mirror. */
  prunedThrough: bigint;
  /** Slot ranges the mirror lacks: flushed before a copy in a newer snapshot went past them. */
  gaps: SlotRange[];
  /** Serializes refreshes and prunes of this schema's mirror. */
  queue: Promise<void>;
  /** Each update or delete in the mirror, by ascending slot, with the slot of its row's insert if seen. */
  lakeChanges: LakeChange[];
  /** Slot of each row's insert the mirror holds (row_id as a 128-bit integer); pruned with the rows. */
  born: Map<bigint, bigint>;
  /** Every change the table holds, with its row and op, while within its limit (hot-log.ts). */
  log: MirrorLog;
}

/** An update or delete, and the slot of its row's insert when the mirror copied it (else null). */
interface LakeChange {
  slot: bigint;
  born: bigint | null;
}

/** What a query reads of the mirror. */
export interface HotRead {
  table: string;
  /**
   * Whether a change in the range may supersede a lake version (an update or delete of a row not
   * inserted in the range): without one, the older tiers need no anti-join against the buffer.
   */
  supersedesLake: boolean;
  /**
   * The rows with a change in (since, upTo] of the query's range, from the mirror's log, at most
   * `limit` + 1 of them (more means more than `limit`); null when the log lacks part of the range.
   */
  changedSince(since: bigint, limit: number): ChangedRow[] | null;
  /** The versions replaced (MirrorState.replaced): those of the rows `changedSince` says `replaced` are in it. */
  replaced: string | null;
}

/** The part of its snapshot a query reads from the mirror: (flushedThrough, bufferMax]. */
export interface HotRange {
  /** The highest slot in the snapshot's live files. */
  flushedThrough: bigint;
  /** The highest buffered slot in the snapshot; null when its buffer is empty. */
  bufferMax: bigint | null;
}

/** A query's claim on the mirror: what it may still read. Pending (null) until its snapshot is known. */
export interface HotReader {
  release(): void;
}

export class HotMirror {
  private readonly states = new Map<string, MirrorState>();
  /** flushedThrough per schema of each query in flight; null while its snapshot is being taken. */
  private readonly readers = new Map<number, Map<string, bigint> | null>();
  /** Tables a query copied its range into because the shared mirror lacked part of it. */
  private readonly ownTables = new Map<number, string[]>();
  private nextReader = 0;

  constructor(
    private readonly duck: DuckDb,
    /** Changes the log holds per schema (tests lower it to see the log start again). */
    private readonly logLimit = LOG_LIMIT,
  ) {}

  /** Queries registered and not yet released (tests check that none is left behind). */
  get readerCount(): number {
    return this.readers.size;
  }

  /** Registers a query before it takes its snapshot; nothing is pruned while it is pending. */
  openReader(): { id: number; reader: HotReader } {
    const id = this.nextReader++;
    this.readers.set(id, null);
    return { id, reader: { release: () => this.release(id) } };
  }

  /** States what a registered query will read: flushedThrough per schema (`project/schema_id`). */
  claim(readerId: number, flushedThrough: Map<string, bigint>): void {
    this.readers.set(readerId, flushedThrough);
  }

  /**
   * Whether the shared mirror already holds every change of `range` (so a refresh needs no
   * snapshot transaction): copied up to its bufferMax, no gap in it, nothing in it pruned.
   */
  holds(entity: EntitySchema, range: HotRange): boolean {
    if (range.bufferMax === null) return true;
    const state = this.states.get(keyOf(entity));
    return state !== undefined && state.copiedThrough >= range.bufferMax && !lacksPartOf(state, range);
  }

  /** Whether searches read the mirror of `entity` (it has a table): the only ones worth keeping current. */
  mirrors(entity: EntitySchema): boolean {
    return this.states.has(keyOf(entity));
  }

  /** The slot up to which the shared mirror of `entity` holds every buffered change (unless pruned or in a gap); -1 before its first copy. */
  copiedThrough(entity: EntitySchema): bigint {
    return this.states.get(keyOf(entity))?.copiedThrough ?? -1n;
  }

  /**
   * Brings the mirror of `entity` up to `bufferMax` of the caller's snapshot and returns the table
   * to read, or null when the snapshot's buffer is empty. The changes come from `source`: read on
   * a client inside that snapshot, or carried by its listing (`listed`: every change above a slot
   * at or below copiedThrough, which never decreases). When the shared mirror lacks part of the
   * range (a gap), the range is copied into a table of the query's own, which needs the client:
   * without one the answer is LACKING, and the caller takes a snapshot transaction. Without either
   * source the mirror must already hold the range (`holds`).
   */
  async refresh(readerId: number, source: { client: PgClient } | { listed: ListedChanges } | null, entity: EntitySchema, range: HotRange): Promise<HotRead | null | typeof LACKING> {
    const key = keyOf(entity);
    if (this.readers.get(readerId)?.get(key) !== range.flushedThrough) {
      throw new Error(`hot mirror: query ${readerId} reads ${key} without claiming it first`);
    }
    const { bufferMax, flushedThrough } = range;
    if (bufferMax === null) return null;
    const state = this.stateOf(entity);
    let read: HotRead | null | typeof LACKING = null;
    await this.serialized(state, async () => {
      if (bufferMax > state.copiedThrough) {
        if (!source) throw new Error(`hot mirror: ${key} needs changes up to ${bufferMax} copied, and no snapshot to copy them in`);
        const changes =
          'client' in source ? readBufferChanges(source.client, entity, { aboveSlot: state.copiedThrough, upToSlot: bufferMax }) : listedAbove(source.listed, state.copiedThrough, key);
        // This snapshot no longer buffers what its files hold: a copy in it cannot fetch (C, F].
        if (flushedThrough > state.copiedThrough) state.gaps.push({ above: state.copiedThrough, upTo: flushedThrough });
        await this.copy(changes, entity, state, bufferMax);
      }
      await this.prune(key, state);
      if (lacksPartOf(state, range)) {
        if (!source || !('client' in source)) {
          read = LACKING;
          return;
        }
        const own = await this.copyOwn(readerId, source.client, entity, { flushedThrough, bufferMax });
        read = readOf(own, { flushedThrough, bufferMax });
      } else {
        // Read inside the queue: a later copy only appends above bufferMax, a later prune only
        // drops entries at or below the floor, which is at most this query's flushedThrough.
        read = readOf(state, { flushedThrough, bufferMax });
      }
    });
    return read;
  }

  private stateOf(entity: EntitySchema): MirrorState {
    const key = keyOf(entity);
    let state = this.states.get(key);
    if (!state) {
      const table = quoteIdent(`hot_${entity.project}_${entity.id}`);
      const replaced = quoteIdent(`hot_${entity.project}_${entity.id}_replaced`);
      // The tables are created first in the schema's queue, before any refresh can run.
      const queue = this.createTable(entity, table, replaced);
      state = { table, replaced, copiedThrough: -1n, prunedThrough: -1n, gaps: [], queue, lakeChanges: [], born: new Map(), log: new MirrorLog(-1n, this.logLimit) };
      this.states.set(key, state);
    }
    return state;
  }

  private async createTable(entity: EntitySchema, table: string, replaced: string | null): Promise<void> {
    const columns = lakeColumns(entity).map((c) => `${quoteIdent(c.name)} ${c.duckdb}`);
    await this.duck.use(async (connection) => {
      await connection.run(`CREATE OR REPLACE TABLE ${table} (${columns.join(', ')}, inserted BOOLEAN, superseded_at BIGINT)`);
      if (replaced) await connection.run(`CREATE OR REPLACE TABLE ${replaced} (${columns.join(', ')}, superseded_at BIGINT)`);
    });
  }

  /**
   * Copies the query's whole range, in its snapshot, into a table only it reads. Run in the
   * schema's queue like any copy. Rare: the query's snapshot predates a flush that a newer
   * query's copy went past.
   */
  private async copyOwn(readerId: number, client: PgClient, entity: EntitySchema, range: { flushedThrough: bigint; bufferMax: bigint }): Promise<MirrorState> {
    const table = quoteIdent(`hot_${entity.project}_${entity.id}_q${readerId}`);
    await this.createTable(entity, table, null);
    this.ownTables.set(readerId, [...(this.ownTables.get(readerId) ?? []), table]);
    const own: MirrorState = {
      table,
      replaced: null,
      copiedThrough: range.flushedThrough,
      prunedThrough: range.flushedThrough,
      gaps: [],
      queue: Promise.resolve(),
      lakeChanges: [],
      born: new Map(),
      log: new MirrorLog(range.flushedThrough, this.logLimit),
    };
    await this.copy(readBufferChanges(client, entity, { aboveSlot: own.copiedThrough, upToSlot: range.bufferMax }), entity, own, range.bufferMax);
    return own;
  }

  private release(readerId: number): void {
    this.readers.delete(readerId);
    const tables = this.ownTables.get(readerId);
    if (!tables) return;
    this.ownTables.delete(readerId);
    // The query's statements have run (release comes after them); a failed drop only leaves a table.
    void this.duck.use(async (connection) => {
      for (const table of tables) await connection.run(`DROP TABLE IF EXISTS ${table}`);
    }).catch(() => undefined);
  }

  private async serialized(state: MirrorState, work: () => Promise<void>): Promise<void> {
    const run = state.queue.then(work);
    state.queue = run.catch(() => undefined);
    await run;
  }

  /** Appends `changes`, every buffered change in (copiedThrough, upTo] of a snapshot, to the mirror `state`. */
  private async copy(changes: AsyncIterable<ChangeBatch>, entity: EntitySchema, state: MirrorState, upTo: bigint): Promise<void> {
    await this.duck.use(async (connection) => {
      // The rows come (by binary COPY, or with the listing) into a staging table of this
      // connection by the appender; the INSERT below types them. Few statements: each costs
      // DuckDB milliseconds on every refresh.
      const copied: LoggedChange[] = [];
      const rows = await loadChanges(connection, tapChanges(changes, copied, state.replaced !== null), HOT_STAGING);
      const updates = copied.filter((c) => !c.inserted);
      // Each version records the slot of its row's next version (superseded_at), so a query finds
      // the newest version in its snapshot with a filter instead of a window. The copy knows them:
      // the version each changed row has in the mirror (the log's), and the batch's own when a row
      // comes more than once; one UPDATE by slot after the INSERT marks them (a window over the
      // batch cost DuckDB 1.7 ms a refresh, measured alone). Only an update or delete can follow
      // a version the mirror holds: an insert's row_id is new to the store. A batch of inserts,
      // or of changes to rows the mirror holds no version of (updates of lake rows), is one statement.
      const held = updates.length === 0 ? new Map<bigint, bigint>() : state.log.heldVersions(new Set(updates.map((c) => c.rowId)), state.prunedThrough);
      const next = held && nextVersions(held, copied);
      const insert = (superseded: string) =>
        `INSERT INTO ${state.table} SELECT *, ${superseded} AS superseded_at FROM (${bufferRowsSql(HOT_STAGING.table, entity.attributes, ['inserted'])}) AS buffered`;
      let statements: string[];
      if (next && next.size === 0) statements = [insert('NULL::BIGINT')];
      else if (next && next.size <= MAX_SUPERSEDED_BY_SLOT) statements = [insert('NULL::BIGINT'), supersedeBySlotSql(state.table, next)];
      else {
        // Unknown to the log, or many: the rows the mirror holds are joined, and the batch windowed.
        statements = [
          `UPDATE ${state.table} AS h SET superseded_at = b.first_slot
             FROM (SELECT row_id, min(time_slot) AS first_slot FROM ${HOT_STAGING.table} GROUP BY row_id) AS b
            WHERE h.row_id = b.row_id AND h.superseded_at IS NULL`,
          insert('lead(time_slot) OVER (PARTITION BY row_id ORDER BY time_slot)'),
        ];
      }
      if (state.replaced && copied.some((c) => c.replaces)) statements.push(`INSERT INTO ${state.replaced} ${replacedVersionsSql(HOT_STAGING.table, entity.attributes)}`);
      if (statements.length === 1) {
        await connection.run(statements[0]!);
      } else {
        // One call for the transaction: each call is a round trip to DuckDB's thread.
        try {
          await connection.run(`BEGIN; ${statements.join('; ')}; COMMIT`);
        } catch (error) {
          await connection.run('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
      // Only once the rows are in: a failed copy leaves the JS side as it was, like the table.
      // Bounded: past the cap an insert goes unrecorded, and a later update of it counts as a lake row.
      for (const { rowId, slot, inserted } of copied) if (inserted && state.born.size < BORN_LIMIT) state.born.set(rowId, slot);
      const added = updates.map(({ rowId, slot }): LakeChange => ({ slot, born: state.born.get(rowId) ?? null }));
      // COPY gives no order; every slot here is above the ones already listed (copiedThrough).
      added.sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0));
      state.lakeChanges.push(...added);
      state.log.append(copied, upTo);
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
    await this.duck.use(async (connection) => {
      await connection.run(`DELETE FROM ${state.table} WHERE time_slot <= $1`, [floor]);
      // A correction takes away versions replaced after its kept slot, at or above its reader's
      // flushedThrough, so above the floor.
      if (state.replaced) await connection.run(`DELETE FROM ${state.replaced} WHERE superseded_at <= $1`, [floor]);
    });
    state.prunedThrough = floor;
    // No query in flight or to come reads at or below the floor, so gaps there no longer matter.
    state.gaps = state.gaps.filter((gap) => gap.upTo > floor);
    // Nor its changes; an insert forgotten here reads as unseen (null) for a later update: a lake row.
    state.lakeChanges.splice(0, firstAbove(state.lakeChanges, floor));
    for (const [rowId, slot] of state.born) if (slot <= floor) state.born.delete(rowId);
    state.log.prune(floor);
  }
}

/** What `refresh` answers when the mirror lacks part of a range and only a client could copy it. */
export const LACKING = Symbol('the hot mirror lacks part of the range');

/** What a query whose range (flushedThrough, bufferMax] the mirror `state` holds reads of it. */
function readOf(state: MirrorState, range: { flushedThrough: bigint; bufferMax: bigint }): HotRead {
  const { flushedThrough, bufferMax } = range;
  return {
    table: state.table,
    supersedesLake: supersedesLake(state, flushedThrough, bufferMax),
    // Asked later, while the query holds its claim: a copy since only appended above bufferMax, a
    // prune only dropped entries at or below flushedThrough, and a restarted log is caught here.
    changedSince: (since, limit) => state.log.changedSince(flushedThrough, since, bufferMax, limit),
    replaced: state.replaced,
  };
}

/**
 * Whether a change in (flushedThrough, bufferMax] may supersede a version in the query's files:
 * an update or delete whose row's insert is not in that range.
 */
function supersedesLake(state: MirrorState, flushedThrough: bigint, bufferMax: bigint): boolean {
  const changes = state.lakeChanges;
  // Entries are by ascending slot.
  for (let i = firstAbove(changes, flushedThrough); i < changes.length && changes[i]!.slot <= bufferMax; i++) {
    const born = changes[i]!.born;
    if (born === null || born <= flushedThrough) return true;
  }
  return false;
}

/**
 * Whether the shared mirror may lack a change of the range (flushedThrough, bufferMax]: one in a
 * gap, or pruned (which the prune floor rules out; checked so that no reader depends on it).
 */
function lacksPartOf(state: MirrorState, range: HotRange): boolean {
  const { flushedThrough, bufferMax } = range;
  if (bufferMax === null || bufferMax <= flushedThrough) return false;
  if (flushedThrough < state.prunedThrough) return true;
  return state.gaps.some((gap) => gap.above < bufferMax && flushedThrough < gap.upTo);
}
