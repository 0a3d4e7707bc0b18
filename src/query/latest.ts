// The newest lake version of every row changed in the lake, per entity, materialized in DuckDB once
// per set of live files with changes (that is, once per flush), instead of deduplicating those rows
// in every query. A row changed in the lake has an update or delete version, and its newest lake
// version is one, so only the files that list the row in their changed set are read for it.
import type { EntitySchema } from '../catalog/index.js';
import { quoteIdent } from '../catalog/index.js';
import { parquetScanSql, type DuckDb } from '../lake/index.js';
import { ChangedRowSets, type TierFile } from './tiers.js';

interface LatestTable {
  /** The table's name, once built. */
  built: Promise<string>;
  users: number;
  current: boolean;
  /** The highest file id of the listing it was built for: a later listing has a higher one. */
  newestFile: bigint;
}

export interface LatestLease {
  /** Table of the newest lake versions of changed rows, or null when no file has changes. */
  table: string | null;
  release(): void;
}

export class LakeLatestVersions {
  private readonly byKey = new Map<string, LatestTable>();
  private sequence = 0;

  constructor(private readonly duck: DuckDb) {}

  /** The table for these live files (built on first use), held until the lease is released. */
  async lease(entity: EntitySchema, files: readonly TierFile[]): Promise<LatestLease> {
    const withChanges = files.filter((f) => f.changedRows > 0);
    if (withChanges.length === 0) return { table: null, release: () => undefined };
    const key = `${entity.project}/${entity.id}:${withChanges.map((f) => f.fileId.toString()).join(',')}`;
    let entry = this.byKey.get(key);
    if (!entry) {
      // Every change to the live files adds one (a flush, a compaction's output), so the highest id
      // tells listings apart by age. A request's snapshot may lease long after its listing
      // (engine.ts): its older set must not push out a newer one that later queries use.
      const newestFile = files.reduce((max, f) => (f.fileId > max ? f.fileId : max), -1n);
      const created: LatestTable = { built: this.build(entity, withChanges), users: 0, current: true, newestFile };
      created.built.catch(() => {
        if (this.byKey.get(key) === created) this.byKey.delete(key);
      });
      this.byKey.set(key, created);
      entry = created;
      // A newer file set replaces older ones of the entity; those go once their last user is done.
      for (const [otherKey, other] of this.byKey) {
        if (otherKey !== key && otherKey.startsWith(`${entity.project}/${entity.id}:`) && other.newestFile <= newestFile) {
          this.byKey.delete(otherKey);
          other.current = false;
          void this.dropIfUnused(other);
        }
      }
    }
    // Counted before any await: a newer file set arriving while this one builds cannot drop it
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
      return { table: await held.built, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  private async build(entity: EntitySchema, files: readonly TierFile[]): Promise<string> {
    const name = quoteIdent(`lake_latest_${entity.project}_${entity.id}_${++this.sequence}`);
    const scan = parquetScanSql(entity, files);
    const ids = files.map((f) => f.fileId.toString()).join(', ');
    await this.duck.use((connection) =>
      connection.run(
        `CREATE TABLE ${name} AS
           SELECT * FROM ${scan} AS lake
            SEMI JOIN (SELECT row_id FROM ${ChangedRowSets.TABLE} WHERE file_id IN (${ids})) AS changed USING (row_id)
          QUALIFY row_number() OVER (PARTITION BY row_id ORDER BY time_slot DESC) = 1`,
      ),
    );
    return name;
  }

  private async dropIfUnused(table: LatestTable): Promise<void> {
    if (table.current || table.users > 0) return;
    const name = await table.built.catch(() => null);
    if (name === null) return;
    await this.duck.use((connection) => connection.run(`DROP TABLE IF EXISTS ${name}`));
  }
}
