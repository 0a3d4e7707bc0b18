// Where, in an entity's lake files, the rows with a newer version elsewhere sit: a positional
// exclusion list (deletion vectors, in Delta's words) kept in DuckDB per listing of live files.
//
// The view's first part reads every file row that has no newer version (view.ts). Said as an
// anti-join on row_id, every query reads the row_id column of every file (16 bytes a row) and probes
// a hash table with each row. Said by position, the scan's own file_index and file_row_number are
// the key: the row_id column is not read, and the probe is on two integers. At 1M orders with
// 20,000 lake changes and 10,000 buffered updates this took 16-18% off a full aggregate, a
// reverse-relation filter, a ref search and a group-by through a ref, and added 8% to a selective
// search of few rows (same statements, same process, same answers; README).
//
// A listing's table holds, per file that may hold single-version rows (`changedRows < rowCount`):
//  - the positions of rows in a listed file's changed set, with slot 0 (they always go);
//  - the positions of rows changed in the buffer above the files, with the slot of the row's first
//    buffered change: a query at `upTo` drops those at or below it, so one table serves every
//    query of the listing, however far its buffer reaches.
// The buffer's part is covered through a slot (`covered`); a query above it first looks up the
// rows first changed in between (the mirror's log names them: an update of a row inserted in the
// buffer has no lake version and needs no lookup), one semi-join of their ids against the files.
//
// For a count, sum or avg over every row, a listing's table also gets a values table once reads
// asked for it often enough (VALUES_AFTER_ASKS): the lake columns of the row at each position it
// holds then. Such a read takes every file row and subtracts the superseded ones (view.ts,
// signedRowsSql) instead of probing each file row. Taking the values reads every column of the
// files (at 1M orders ~85 ms, the positions alone ~30), so searches, which need positions
// only, never pay for it. Rows an extension adds afterwards have no values: a query whose slot
// reaches one excludes by position again.
//
// Their columns start with "_", which no attribute name does (catalog NAME_PATTERN).
import type { EntitySchema } from '../catalog/index.js';
import { quoteIdent } from '../catalog/index.js';
import { lakeColumns, parquetScanSql, type DuckDb } from '../lake/index.js';
import { ListingTables, type ListingTable } from './listing-tables.js';
import { filesHolding, rowIdsConditionSql, rowLookupGroups } from './row-lookup.js';
import { ChangedRowSets, type EntityTiers, type TierFile } from './tiers.js';

/** More rows first changed since the covered slot than this: look up all of the range's rows instead of a list. */
const MAX_LISTED_ROWS = 5_000;

/**
 * The values of a listing's superseded rows are taken on the this-many-th read that asks for them.
 * At 1M orders (1 file of 1M, 50,000 superseded rows) taking them cost ~85 ms, about 1.7 full
 * reads of a group-by, and subtraction saved ~10% of each: as in ski rental, buying after renting
 * about as much as buying costs keeps a listing's total within twice the best choice in hindsight,
 * however often it is read before the next flush replaces it.
 */
export const VALUES_AFTER_ASKS = 16;
/** Rows of a listing's files read from Parquet, beside files held as tables, up to which values are taken at the first ask. */
const VALUES_AT_ONCE_PARQUET_ROWS = 100_000;

/** The files of a listing that may hold rows with one version, which part 1 of the view reads. */
export const mayHoldSingles = (f: TierFile) => f.changedRows < f.rowCount;

interface PositionsTable extends ListingTable {
  /** The buffer slot through which the table holds every row's first buffered change. */
  covered: bigint;
  /** The last extension of `covered` or the values' build (they run one after another). */
  extending: Promise<void>;
  /** The values table, once a read asked for it: the rows the table held when it was built. */
  values: Promise<string> | null;
  /** How many reads asked for the values before they were taken. */
  askedForValues: number;
  /** Whether the values are being taken or were (extensions after that add rows without them). */
  valuesTaken: boolean;
  /** The least slot of a row added after the values were taken (null: none). */
  unvaluedFrom: bigint | null;
  /** Dropped with the table: its values table. */
  also: string[];
}

export interface PositionsLease {
  /** Table (_file_id, _pos, _slot) of the positions to exclude, complete through the lease's slot. */
  table: string;
  /**
   * Table (_file_id, _pos, _slot, ...lake columns) of the rows at those positions, taken on the
   * first ask; null when rows added since reach the lease's slot.
   */
  values(): Promise<string | null>;
  release(): void;
}

export class SupersededPositions {
  private readonly tables: ListingTables<PositionsTable>;
  private sequence = 0;

  /** `valuesAfterAsks`: VALUES_AFTER_ASKS, lowered by tests that check every read by subtraction. */
  constructor(
    private readonly duck: DuckDb,
    private readonly valuesAfterAsks = VALUES_AFTER_ASKS,
  ) {
    this.tables = new ListingTables(duck);
  }

  /**
   * The positions table of this listing, built on first use and complete through `tiers.hot.upTo`,
   * held until the lease is released. Null when no file may hold single-version rows.
   */
  async lease(tiers: Pick<EntityTiers, 'entity' | 'files' | 'hot'>): Promise<PositionsLease | null> {
    const { entity, files, hot } = tiers;
    const candidates = files.filter(mayHoldSingles);
    if (candidates.length === 0) return null;
    const { table, name, release } = await this.tables.hold(entity, files, files, () => {
      // Without a buffer, nothing above the files is covered yet (extend starts from the buffer's `above`).
      const covered = hot?.upTo ?? 0n;
      const built = this.build(entity, files, candidates, hot, covered);
      // A failed build fails the leases that wait for it; the chain of extensions only goes on.
      return { built, covered, extending: built.then(() => undefined, () => undefined), values: null, askedForValues: 0, valuesTaken: false, unvaluedFrom: null, also: [] };
    });
    try {
      if (hot && hot.upTo > table.covered) {
        // Chained: each extension starts from the slot the one before it covered.
        const extension = table.extending.then(() => this.extend(table, name, entity, candidates, hot));
        table.extending = extension.catch(() => undefined);
        await extension;
      }
      const upTo = hot?.upTo ?? 0n;
      return { table: name, values: () => this.valuesOf(table, name, entity, candidates, upTo), release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** The values table of `table` (taken on the first ask) if it holds every row at or below `upTo`, else null. */
  private async valuesOf(table: PositionsTable, name: string, entity: EntitySchema, candidates: readonly TierFile[], upTo: bigint): Promise<string | null> {
    if (!table.values) {
      // Not before the listing proved to be read so often that subtraction pays for the values;
      // from files held as DuckDB tables (file-tables.ts) they cost little, and are taken at once
      // (beside a few rows still in Parquet: a flush's delta files).
      const inParquet = candidates.reduce((rows, f) => rows + (f.table ? 0 : f.rowCount), 0);
      const after = candidates.some((f) => f.table) && inParquet <= VALUES_AT_ONCE_PARQUET_ROWS ? 1 : this.valuesAfterAsks;
      if (++table.askedForValues < after) return null;
      // After the extensions in flight: it takes every row the table holds by then.
      const taken = table.extending.then(() => this.takeValues(table, name, entity, candidates));
      table.extending = taken.then(() => undefined, () => undefined);
      table.values = taken;
      // A failed build may be tried again by a later read.
      taken.catch(() => {
        if (table.values === taken) table.values = null;
      });
    }
    // The values only spare work: a read whose take failed (DuckDB out of memory, say) goes by position.
    const values = await table.values.catch(() => null);
    // Rows added later have slots above every lease leased before: only later leases may reach them.
    return values !== null && (table.unvaluedFrom === null || upTo < table.unvaluedFrom) ? values : null;
  }

  private async takeValues(table: PositionsTable, name: string, entity: EntitySchema, candidates: readonly TierFile[]): Promise<string> {
    // Every row the table holds now: none is without values (a retry after a failed take starts over).
    table.valuesTaken = true;
    table.unvaluedFrom = null;
    const values = quoteIdent(`lake_superseded_values_${entity.project}_${entity.id}_${++this.sequence}`);
    const scan = parquetScanSql(entity, candidates, entity.attributes, { positions: true });
    const columns = lakeColumns(entity)
      .map((c) => `s.${quoteIdent(c.name)}`)
      .join(', ');
    table.also.push(values);
    await this.duck.use((connection) =>
      connection.run(
        `CREATE TABLE ${values} AS
           SELECT p._file_id, p._pos, p._slot, ${columns}
             FROM ${name} AS p
             JOIN (SELECT m.file_id, s.* FROM ${scan} AS s JOIN ${fileIndexSql(candidates)} ON m.file_index = s.file_index) AS s
               ON s.file_id = p._file_id AND s.file_row_number = p._pos`,
      ),
    );
    return values;
  }

  private async build(entity: EntitySchema, files: readonly TierFile[], candidates: readonly TierFile[], hot: EntityTiers['hot'], covered: bigint): Promise<string> {
    const name = quoteIdent(`lake_superseded_${entity.project}_${entity.id}_${++this.sequence}`);
    const changed = ChangedRowSets.rowIdsSql(files);
    const buffered = hot && covered > hot.above ? bufferedRowsSql(hot, hot.above) : null;
    const sources = [...(changed ? [`SELECT row_id, 0::BIGINT AS slot FROM ${changed} AS c`] : []), ...(buffered ? [`SELECT * FROM ${buffered.rows} AS b`] : [])];
    await this.duck.use(async (connection) => {
      await connection.run(`CREATE TABLE ${name} (_file_id BIGINT, _pos BIGINT, _slot BIGINT)`);
      if (sources.length) await connection.run(`INSERT INTO ${name} ${positionsSql(entity, candidates, `(${sources.join(' UNION ALL ')})`)}`);
    });
    return name;
  }

  /** Adds the rows first changed in (covered, hot.upTo], with that slot, and moves `covered` to hot.upTo. */
  private async extend(table: PositionsTable, name: string, entity: EntitySchema, candidates: readonly TierFile[], hot: NonNullable<EntityTiers['hot']>): Promise<void> {
    // A table built without a buffer covers nothing above the listing's files yet.
    const since = table.covered > hot.above ? table.covered : hot.above;
    if (hot.upTo <= since) return;
    const source = bufferedRowsSql(hot, since);
    if (source) {
      // Extensions and the values run one after another: the first to add rows after the values sets the least slot without.
      if (table.valuesTaken) table.unvaluedFrom ??= since + 1n;
      await this.duck.use((connection) => connection.run(`INSERT INTO ${name} ${positionsSql(entity, candidates, source.rows, source.rowIds)}`));
    }
    table.covered = hot.upTo;
  }
}

/**
 * (row_id, slot) of the rows first changed in (since, upTo] of the reader's buffer that may have a
 * lake version, or null when the mirror's log says there are none (new rows only: the common case
 * of a write-mostly-inserts entity costs no lookup). Rows with a version in (above, since] are in
 * the table already, if they have a lake version; a row inserted in the buffer has none. Unknown to
 * the log (or too many): every update or delete of the range, some rows again (a second entry with
 * a later slot changes nothing), and rows inserted earlier in the buffer (no file holds them).
 */
function bufferedRowsSql(hot: NonNullable<EntityTiers['hot']>, since: bigint): { rows: string; rowIds: readonly string[] | null } | null {
  const changed = hot.changedSince(since, MAX_LISTED_ROWS);
  const fresh = changed && changed.length <= MAX_LISTED_ROWS ? changed.filter((r) => r.sinceSlot === null && !r.born).map((r) => r.rowId) : null;
  if (fresh !== null && fresh.length === 0) return null;
  const rows = fresh ? rowIdsConditionSql(fresh) : 'NOT coalesce(inserted, false)';
  return { rows: `(SELECT row_id, time_slot AS slot FROM ${hot.table} WHERE time_slot > ${since} AND time_slot <= ${hot.upTo} AND ${rows})`, rowIds: fresh };
}

/** `files` by their index in a scan of them (the scan's file_index) and their file_id, as a relation m(file_index, file_id). */
export function fileIndexSql(files: readonly TierFile[]): string {
  // Typed as the scan's own columns: an INTEGER file_index made DuckDB join both sides as HUGEINT.
  return `(VALUES ${files.map((f, i) => `(${i}::UBIGINT, ${f.fileId.toString()}::BIGINT)`).join(', ')}) AS m(file_index, file_id)`;
}

/**
 * (_file_id, _pos, _slot) of the rows of `candidates` whose row_id `source` (row_id, slot) lists,
 * each with its least slot. `rowIds`, when known, are all the row_ids `source` lists: then only the
 * files that may hold them are read, by row key where they have it (row-lookup.ts).
 */
function positionsSql(entity: EntitySchema, candidates: readonly TierFile[], source: string, rowIds: readonly string[] | null = null): string {
  const groups = rowIds ? rowLookupGroups(filesHolding(candidates, rowIds), rowIds) : [{ files: candidates, where: undefined }];
  const wanted = `(SELECT row_id, min(slot) AS slot FROM ${source} AS x GROUP BY row_id) AS c`;
  if (groups.length === 0) return `SELECT NULL::BIGINT, NULL::BIGINT, NULL::BIGINT WHERE false`;
  // Only row_id and the scan's position columns are read.
  return groups
    .map(({ files, where }) => {
      const scan = parquetScanSql(entity, files, [], { positions: true, where });
      return `SELECT m.file_id, s.file_row_number, c.slot
                FROM ${scan} AS s
                JOIN ${fileIndexSql(files)} ON m.file_index = s.file_index
                JOIN ${wanted} ON c.row_id = s.row_id`;
    })
    .join(' UNION ALL ');
}
