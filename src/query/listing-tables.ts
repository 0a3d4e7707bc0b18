// DuckDB tables derived from one listing of an entity's live files (latest.ts, positions.ts): each
// built once on first use, held by the queries that read it, replaced by a newer listing's table
// and dropped once no query holds it.
import type { EntitySchema } from '../catalog/index.js';
import type { DuckDb } from '../lake/index.js';
import type { TierFile } from './tiers.js';

export interface ListingTable {
  /** The table's name, once built. */
  built: Promise<string>;
  /** Tables made from it later, dropped with it. */
  also?: readonly string[];
}

interface Held<T> {
  table: T;
  users: number;
  current: boolean;
  /** The highest file id of the listing it was built for: a later listing has a higher one. */
  newestFile: bigint;
}

export class ListingTables<T extends ListingTable> {
  private readonly byKey = new Map<string, Held<T>>();

  constructor(private readonly duck: DuckDb) {}

  /**
   * The table of `entity` for the listing `files`, keyed by the file ids of `keyFiles` (`create`d
   * on first use), held until `release()`; when building it fails, it is forgotten and its holder
   * released. A newer listing's table replaces older ones of the entity, which go once their last
   * holder releases them.
   */
  async hold(entity: EntitySchema, files: readonly TierFile[], keyFiles: readonly TierFile[], create: () => T): Promise<{ table: T; name: string; release(): void }> {
    const prefix = `${entity.project}/${entity.id}:`;
    const key = prefix + keyFiles.map((f) => f.fileId.toString()).join(',');
    let entry = this.byKey.get(key);
    if (!entry) {
      // Every change to the live files adds one (a flush, a compaction's output), so the highest id
      // tells listings apart by age. A request's snapshot may lease long after its listing
      // (engine.ts): its older listing must not push out a newer one that later queries use.
      const newestFile = files.reduce((max, f) => (f.fileId > max ? f.fileId : max), -1n);
      const created: Held<T> = { table: create(), users: 0, current: true, newestFile };
      created.table.built.catch(() => {
        if (this.byKey.get(key) === created) this.byKey.delete(key);
      });
      this.byKey.set(key, created);
      entry = created;
      for (const [otherKey, other] of this.byKey) {
        if (otherKey !== key && otherKey.startsWith(prefix) && other.newestFile <= newestFile) {
          this.byKey.delete(otherKey);
          other.current = false;
          void this.dropIfUnused(other);
        }
      }
    }
    // Counted before any await: a newer listing arriving while this one builds cannot drop it
    // under a query in flight.
    const held = entry;
    held.users++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      held.users--;
      void this.dropIfUnused(held);
    };
    try {
      return { table: held.table, name: await held.table.built, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  private async dropIfUnused(held: Held<T>): Promise<void> {
    if (held.current || held.users > 0) return;
    const name = await held.table.built.catch(() => null);
    if (name === null) return;
    await this.duck.use(async (connection) => {
      for (const table of [name, ...(held.table.also ?? [])]) await connection.run(`DROP TABLE IF EXISTS ${table}`);
    });
  }
}
