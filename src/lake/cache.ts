// Read-through cache of lake objects on local disk, keyed by object key and ETag, bounded in bytes.
// DuckDB reads Parquet from local paths: S3 objects are downloaded once and reused (httpfs cannot
// be installed offline, FIELD-NOTES). Local-lake objects are read in place.
// A query pins every file its snapshot lists until its statement ends (a compaction its inputs until
// it ends): DuckDB opens a file only when the statement reaches it, so a file evicted between the
// listing and that moment would be missing. Eviction skips pinned files; the bound may be passed
// while they are pinned, and is restored when they are released.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { uuidv7 } from 'uuidv7';
import type { ObjectStore } from './store/index.js';

interface Entry {
  file: string;
  bytes: number;
  lastUsed: number;
}

/** Local paths of pinned lake files; `release` ends the pins (idempotent). */
export interface PinnedFiles {
  paths: string[];
  release(): void;
}

export class LakeReadCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<string>>();
  /** Per entry id, how many holders pinned it (counted before its download starts). */
  private readonly pins = new Map<string, number>();
  private totalBytes = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly dir: string,
    private readonly maxBytes: number,
    /** Told of each read served from disk (hit) or downloaded (miss); local-lake reads are neither. */
    private readonly observer?: { hit(): void; miss(): void },
  ) {}

  /** A local path holding the object's content as of `etag`. */
  async localFile(key: string, etag: string | null): Promise<string> {
    const direct = this.store.localPath(key);
    if (direct) return direct;
    const id = this.idOf(key, etag);
    const entry = this.entries.get(id);
    if (entry) {
      entry.lastUsed = Date.now();
      this.observer?.hit();
      return entry.file;
    }
    this.observer?.miss();
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.download(id, key).finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  /**
   * Local paths of `files`, each pinned until `release()`: not evicted meanwhile. On any failure
   * (e.g. the store cannot be reached for a file not cached) nothing stays pinned.
   */
  async pinned(files: readonly { path: string; etag: string | null }[]): Promise<PinnedFiles> {
    const ids: string[] = [];
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const id of ids) {
        const count = (this.pins.get(id) ?? 1) - 1;
        if (count > 0) this.pins.set(id, count);
        else this.pins.delete(id);
      }
      if (this.totalBytes > this.maxBytes) void this.evict(null).catch(() => undefined);
    };
    // Pinned before any download starts, so a concurrent eviction cannot take a file in between.
    for (const file of files) {
      if (this.store.localPath(file.path)) continue;
      const id = this.idOf(file.path, file.etag);
      ids.push(id);
      this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
    }
    try {
      return { paths: await Promise.all(files.map((f) => this.localFile(f.path, f.etag))), release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * Takes a local file just uploaded as `key` (with `etag`) into the cache, so this process's next
   * read of it needs no download. The file is moved; with no cache directory for the store (a
   * local lake is read in place) it is left alone.
   */
  async adopt(key: string, etag: string | null, localFile: string): Promise<void> {
    if (this.store.localPath(key)) return;
    const id = this.idOf(key, etag);
    if (this.entries.has(id)) return;
    await this.keep(id, localFile);
  }

  private idOf(key: string, etag: string | null): string {
    return createHash('sha256').update(`${key}\0${etag ?? ''}`).digest('hex').slice(0, 32);
  }

  private async download(id: string, key: string): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true });
    const temp = path.join(this.dir, `${id}.parquet.${uuidv7()}.part`);
    await this.store.getToFile(key, temp);
    return this.keep(id, temp);
  }

  /** Moves a complete local file into the cache as entry `id`, then evicts to stay in bounds. */
  private async keep(id: string, localFile: string): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, `${id}.parquet`);
    await fs.rename(localFile, file);
    const { size } = await fs.stat(file);
    this.entries.set(id, { file, bytes: size, lastUsed: Date.now() });
    this.totalBytes += size;
    await this.evict(id);
    return file;
  }

  /** Drops least recently used files that no one pins until the cache fits (`keep`: the entry just added). */
  private async evict(keep: string | null): Promise<void> {
    if (this.totalBytes <= this.maxBytes) return;
    const candidates = [...this.entries]
      .filter(([id]) => id !== keep && !this.pins.has(id))
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [id, entry] of candidates) {
      if (this.totalBytes <= this.maxBytes) break;
      // Pinned (or dropped) while an earlier candidate was being removed.
      if (this.pins.has(id) || this.entries.get(id) !== entry) continue;
      this.entries.delete(id);
      this.totalBytes -= entry.bytes;
      await fs.rm(entry.file, { force: true });
    }
  }

  /** Files currently pinned (for tests). */
  get pinnedCount(): number {
    return this.pins.size;
  }

  /** Bytes currently cached (for status and tests). */
  get bytes(): number {
    return this.totalBytes;
  }
}
