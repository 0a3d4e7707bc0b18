// The newest lake version of every row changed in the lake, per entity, materialized in DuckDB once
// per set of live files with changes (that is, once per flush), instead of deduplicating those rows
// in every query. A row changed in the lake has an update or delete version, and its newest lake
// version is one, so only the files that list the row in their changed set are read for it.
import type { EntitySchema } from '../catalog/index.js';
import { quoteIdent } from '../catalog/index.js';
import { parquetScanSql, type DuckDb } from '../lake/index.js';
import { ChangedRowSets, type TierFile } from './snapshot.js';

interface LatestTable {
  name: string;
  users: number;
  current: boolean;
}

export interface LatestLease {
  /** Table of the newest lake versions of changed rows, or null when no file has changes. */
  table: string | null;
  release(): void;
}

export class LakeLatestVersions {
  private readonly byKey = new Map<string, Promise<LatestTable>>();
  private sequence = 0;

  constructor(private readonly duck: DuckDb) {}

  /** The table for these live files (built on first use), held until the lease is released. */
  async lease(entity: EntitySchema, files: readonly TierFile[]): Promise<LatestLease> {
    const withChanges = files.filter((f) => f.changedRows > 0);
    if (withChanges.length === 0) return { table: null, release: () => undefined };
    const key = `${entity.project}/${entity.id}:${withChanges.map((f) => f.fileId.toString()).join(',')}`;
    let building = this.byKey.get(key);
    if (!building) {
      building = this.build(entity, withChanges);
      building.catch(() => this.byKey.delete(key));
      this.byKey.set(key, building);
      // A newer file set replaces older ones of the entity; those go once their last user is done.
      for (const [otherKey, other] of this.byKey) {
        if (otherKey !== key && otherKey.startsWith(`${entity.project}/${entity.id}:`)) {
          this.byKey.delete(otherKey);
          void other.then((table) => {
            table.current = false;
            return this.dropIfUnused(table);
          });
        }
      }
    }
    const table = await building;
    table.users++;
    let released = false;
    return {
      table: table.name,
      release: () => {
        if (released) return;
        released = true;
        table.users--;
        void this.dropIfUnused(table);
      },
    };
  }

  private async build(entity: EntitySchema, files: readonly TierFile[]): Promise<LatestTable> {
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
    return { name, users: 0, current: true };
  }

  private async dropIfUnused(table: LatestTable): Promise<void> {
    if (table.current || table.users > 0) return;
    await this.duck.use((connection) => connection.run(`DROP TABLE IF EXISTS ${table.name}`));
  }
}
