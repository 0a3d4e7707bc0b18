// The newest lake version of every row changed in the lake, per entity, materialized in DuckDB once
// per set of live files with changes (that is, once per flush), instead of deduplicating those rows
// in every query. A row changed in the lake has an update or delete version, and its newest lake
// version is one, so only the files that list the row in their changed set are read for it.
import type { EntitySchema } from '../catalog/index.js';
import { quoteIdent } from '../catalog/index.js';
import { parquetScanSql, type DuckDb } from '../lake/index.js';
import { ListingTables, type ListingTable } from './listing-tables.js';
import { ChangedRowSets, type TierFile } from './tiers.js';

export interface LatestLease {
  /** Table of the newest lake versions of changed rows, or null when no file has changes. */
  table: string | null;
  release(): void;
}

export class LakeLatestVersions {
  private readonly tables: ListingTables<ListingTable>;
  private sequence = 0;

  constructor(private readonly duck: DuckDb) {
    this.tables = new ListingTables(duck);
  }

  /** The table for these live files (built on first use), held until the lease is released. */
  async lease(entity: EntitySchema, files: readonly TierFile[]): Promise<LatestLease> {
    const withChanges = files.filter((f) => f.changedRows > 0);
    if (withChanges.length === 0) return { table: null, release: () => undefined };
    const { name, release } = await this.tables.hold(entity, files, withChanges, () => ({ built: this.build(entity, withChanges) }));
    return { table: name, release };
  }

  private async build(entity: EntitySchema, files: readonly TierFile[]): Promise<string> {
    const name = quoteIdent(`lake_latest_${entity.project}_${entity.id}_${++this.sequence}`);
    const scan = parquetScanSql(entity, files);
    await this.duck.use((connection) =>
      connection.run(
        `CREATE TABLE ${name} AS
           SELECT * FROM ${scan} AS lake
            SEMI JOIN ${ChangedRowSets.rowIdsSql(files)} AS changed USING (row_id)
          QUALIFY row_number() OVER (PARTITION BY row_id ORDER BY time_slot DESC) = 1`,
      ),
    );
    return name;
  }
}
