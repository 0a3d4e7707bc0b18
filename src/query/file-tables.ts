// DuckDB's own tables of the lake's large files. A search over a compacted base file spends most
// of its time decoding Parquet (ZSTD pages, every time): read from a DuckDB table instead, the
// lab's questions over 1M orders took 0.55-0.77 of their time (state B, first asks, same run;
// README). Lake files never change once written, so a table loaded from one stays exact for as long
// as the file is listed; the view reads it in the file's place (lake/scan.ts, `table`).
// Uncompressed: compressed by DuckDB (ATTACH ... (COMPRESS), then CHECKPOINT) 1M orders took ~31 MB
// instead of ~150 MB, but a merge-on-read scan decoded every column of every row group again and
// gained nothing over Parquet (a selective search 38.9 ms against 35.5 from Parquet, 21.7 uncompressed).
// Bounded by DUCKDB_FILE_TABLES_BYTES, least recently read first out. Files of at least `minRows`
// rows: a flush's delta files of FLUSH_MAX_ROWS (20,000) changes are loaded too, which took a
// never-compacted lake's questions from 1.20-1.67x of raw to 0.83-1.67x (1M orders in fifty delta
// files, same session; README), but not the small ones an age-triggered flush writes: each table
// costs the plan one more scan and DuckDB a few MB at least. A table goes when its file does: once
// a newer listing of its entity leaves the file out (compaction retired it), or GC forgot it.
import fs from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent } from '../catalog/index.js';
import { sqlString, type DuckDb } from '../lake/index.js';
import type { TierFile } from './tiers.js';

export interface FileTableSettings {
  /** Bytes of all tables held, as DuckDB counts them (0: none is loaded). */
  maxBytes: number;
  /** Files with fewer rows are read from Parquet. */
  minRows: number;
  /**
   * A table read more recently than this is never dropped to make room for another: when an
   * entity's files do not all fit, the ones loaded stay and the rest are read from Parquet, instead
   * of every search's loads evicting the tables the search before it read.
   */
  evictableAfterMs: number;
}

export const FILE_TABLE_DEFAULTS: FileTableSettings = { maxBytes: 512 * 1024 * 1024, minRows: 10_000, evictableAfterMs: 60_000 };

const DATABASE = 'lake_file_tables';
/** A table's bytes before it is loaded: the lab's orders took 6x their Parquet bytes. */
const ESTIMATED_BYTES_PER_FILE_BYTE = 6;
/** Loads of one file that may fail (say, its local copy evicted meanwhile) before it is left to Parquet. */
const MAX_ATTEMPTS = 3;

/** The bytes of DuckDB's in-memory tables now (its own count; loads run one at a time). */
async function tableBytes(connection: DuckDBConnection): Promise<number> {
  const reader = await connection.runAndReadAll(`SELECT coalesce(sum(memory_usage_bytes), 0)::DOUBLE AS bytes FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'`);
  return Number(reader.getRowObjectsJS()[0]!.bytes);
}

interface Entry {
  fileId: bigint;
  /** Its entity (hot.ts keyOf): a listing of the entity that leaves the file out retires it. */
  entity: string;
  table: string;
  bytes: number;
  ready: boolean;
  /** Snapshots reading it now: it is not dropped meanwhile. */
  readers: number;
  /** When a search last held it, or it was loaded (ms). */
  lastRead: number;
  /** No longer held here: its table goes once its last reader is done. */
  retired: boolean;
}

/** Different instances (tests open several engines on one DuckDB) never share a table name. */
let instances = 0;

export class FileTables {
  private readonly entries = new Map<bigint, Entry>();
  private readonly failures = new Map<bigint, number>();
  private readonly instance = ++instances;
  /** One load at a time, outside the searches' admission (as zone maps are computed). */
  private tail: Promise<unknown> = Promise.resolve();
  private attached: Promise<void> | null = null;
  private bytes = 0;

  constructor(
    private readonly duck: DuckDb,
    private readonly settings: FileTableSettings = FILE_TABLE_DEFAULTS,
  ) {}

  /**
   * Sets each file's `table` where one is loaded, held until the returned release; starts loading
   * (in the background: the first search after a compaction does not wait) the large files without one.
   */
  hold(entity: string, files: TierFile[]): () => void {
    this.retireUnlisted(entity, files);
    const held: Entry[] = [];
    for (const file of files) {
      const entry = this.entries.get(file.fileId);
      if (entry?.ready) {
        entry.readers++;
        entry.lastRead = Date.now();
        held.push(entry);
        file.table = entry.table;
      } else if (!entry && this.wanted(file)) {
        this.load(entity, file);
      }
    }
    return () => {
      for (const entry of held.splice(0)) if (--entry.readers === 0 && entry.retired) void this.dropTable(entry);
    };
  }

  /** Waits for the loads started so far (tests, benches). */
  async settled(): Promise<void> {
    await this.tail;
  }

  /** The bytes of the tables held now (benches). */
  get bytesHeld(): number {
    return this.bytes;
  }

  /** The files held as tables now (tests). */
  get loaded(): bigint[] {
    return [...this.entries.values()].filter((e) => e.ready).map((e) => e.fileId);
  }

  /** Drops the tables of files the manifest no longer lists as live (their ids never come back). */
  retainOnly(live: ReadonlySet<bigint>): void {
    for (const entry of [...this.entries.values()]) if (!live.has(entry.fileId)) this.drop(entry, false);
    for (const fileId of this.failures.keys()) if (!live.has(fileId)) this.failures.delete(fileId);
  }

  /**
   * Drops (once no search reads them) the tables of the entity's files this listing leaves out that
   * are older than its newest file: compaction retired them. A newer file a listing taken before it
   * lacks is kept; a file whose id came before a newer one's commit is at worst loaded again.
   */
  private retireUnlisted(entity: string, files: readonly TierFile[]): void {
    if (files.length === 0) return;
    const listed = new Set(files.map((f) => f.fileId));
    const newest = files.reduce((max, f) => (f.fileId > max ? f.fileId : max), files[0]!.fileId);
    for (const entry of [...this.entries.values()]) {
      if (entry.entity === entity && entry.fileId < newest && !listed.has(entry.fileId)) this.drop(entry, false);
    }
  }

  private wanted(file: TierFile): boolean {
    return this.settings.maxBytes > 0 && file.rowCount >= this.settings.minRows && (this.failures.get(file.fileId) ?? 0) < MAX_ATTEMPTS;
  }

  private load(entity: string, file: TierFile): void {
    const entry: Entry = { fileId: file.fileId, entity, table: `${DATABASE}.${quoteIdent(`file_${this.instance}_${file.fileId.toString()}`)}`, bytes: 0, ready: false, readers: 0, lastRead: 0, retired: false };
    this.entries.set(file.fileId, entry);
    const run = this.tail.then(async () => {
      if (this.entries.get(file.fileId) !== entry) return; // dropped while waiting
      // Room for it first, by the estimate, then its bytes as DuckDB counts them.
      const fileBytes = (await fs.stat(file.localPath)).size;
      const estimate = fileBytes * ESTIMATED_BYTES_PER_FILE_BYTE;
      if (!this.evict(estimate)) throw new Error('no room');
      entry.bytes = estimate;
      this.bytes += estimate;
      const grown = await this.duck.use(async (connection) => {
        this.attached ??= connection.run(`ATTACH IF NOT EXISTS ':memory:' AS ${DATABASE}`).then(() => undefined);
        await this.attached;
        const before = await tableBytes(connection);
        await connection.run(`CREATE OR REPLACE TABLE ${entry.table} AS SELECT * FROM read_parquet(${sqlString(file.localPath)}, file_row_number = true)`);
        return (await tableBytes(connection)) - before;
      });
      if (this.entries.get(file.fileId) === entry) {
        const measured = Math.max(grown, fileBytes); // another table dropped meanwhile: at least the file's
        this.bytes += measured - estimate;
        entry.bytes = measured;
        // The estimate falls short for a small file (its table takes DuckDB's blocks, ~30 KB a column
        // at least): past the bound, older tables make room or this one goes.
        if (this.bytes > this.settings.maxBytes && !this.evict(0)) throw new Error('no room');
      }
      entry.ready = true;
      entry.lastRead = Date.now();
      if (entry.retired) await this.dropNow(entry); // no longer live while loading
    });
    this.tail = run.catch(async () => {
      // A failure costs this file its table: it is read from Parquet, and loaded again on a later search.
      this.drop(entry, true);
      await this.dropNow(entry);
    });
  }

  /**
   * Makes room for `bytes` more by dropping the least recently read tables no search holds and none
   * read for `evictableAfterMs`; false when it cannot.
   */
  private evict(bytes: number): boolean {
    if (bytes > this.settings.maxBytes) return false;
    const before = Date.now() - this.settings.evictableAfterMs;
    const idle = [...this.entries.values()].filter((e) => e.ready && e.readers === 0 && e.lastRead <= before).sort((a, b) => a.lastRead - b.lastRead);
    while (this.bytes + bytes > this.settings.maxBytes) {
      const oldest = idle.shift();
      if (!oldest) return false;
      this.drop(oldest, false);
    }
    return true;
  }

  private drop(entry: Entry, failed: boolean): void {
    if (failed) this.failures.set(entry.fileId, (this.failures.get(entry.fileId) ?? 0) + 1);
    if (this.entries.get(entry.fileId) !== entry) return;
    this.entries.delete(entry.fileId);
    this.bytes -= entry.bytes;
    entry.retired = true;
    if (entry.ready && entry.readers === 0) void this.dropTable(entry);
  }

  /** In turn with the loads (a drop beside a load's checkpoint would keep it from compressing). */
  private dropTable(entry: Entry): void {
    this.tail = this.tail.then(() => this.dropNow(entry));
  }

  /** A failed drop (DuckDB closing, say) leaves only memory a closed DuckDB frees. */
  private dropNow(entry: Entry): Promise<void> {
    return this.duck.use((connection) => connection.run(`DROP TABLE IF EXISTS ${entry.table}`)).then(
      () => undefined,
      () => undefined,
    );
  }
}
