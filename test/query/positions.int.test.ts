// The view excludes superseded file rows by position where a snapshot prepared them (positions.ts):
// one table per listing, its buffer part extended as queries reach further. Every read by position
// must equal the read by row_id and the rows written, also for a snapshot taken before changes a
// newer snapshot has already added to the table (their slots keep them out of its read).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EntitySchema } from '../../src/catalog/index.js';
import { seededRandom } from '../../src/cli/demo-data.js';
import { parquetScanSql, type DuckDb } from '../../src/lake/index.js';
import { fileIndexSql } from '../../src/query/positions.js';
import { takeSnapshot, type QuerySnapshot } from '../../src/query/snapshot.js';
import { ChangedRowSets, type EntityTiers } from '../../src/query/tiers.js';
import { currentRowsSql, SIGN, signedRowsSql } from '../../src/query/view.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { openSnapshotParts, type SnapshotParts } from '../support/snapshot-parts.js';

describe('superseded rows by position', () => {
  let gw: TestGateway;
  let parts: SnapshotParts;
  let duck: DuckDb;
  let customers: EntitySchema;

  beforeEach(async () => {
    gw = await startTestGateway();
    customers = gw.catalog.entity('customers');
    // Values taken on the first ask: every step's read by subtraction is checked too.
    parts = await openSnapshotParts(gw, 'positions-', undefined, 1);
    duck = parts.duck;
  });
  afterEach(async () => {
    duck?.close();
    await gw?.close();
  });

  /** `id:name` of each row a read of the view shows, sorted. */
  const read = (sql: string) =>
    duck.use(async (c) => {
      const reader = await c.runAndReadAll(`SELECT row_id::VARCHAR AS row_id, name FROM ${sql} AS current ORDER BY row_id, name`);
      return reader.getRowObjectsJS().map((r) => `${String(r.row_id)}:${String(r.name)}`);
    });
  const expected = (names: ReadonlyMap<string, string>) => [...names].map(([id, name]) => `${id}:${name}`).sort();
  /** The rows signed rows add up to (view.ts, signedRowsSql), `id:name` as `read` gives them; a sum of signs other than 0 or 1 shows as such. */
  const readSigned = (sql: string) =>
    duck.use(async (c) => {
      const reader = await c.runAndReadAll(
        `SELECT row_id::VARCHAR AS row_id, name, sum(${SIGN})::INTEGER AS n FROM ${sql} AS signed GROUP BY ALL HAVING sum(${SIGN}) <> 0 ORDER BY row_id, name`,
      );
      return reader.getRowObjectsJS().map((r) => `${String(r.row_id)}:${String(r.name)}${r.n === 1 ? '' : ` x${String(r.n)}`}`);
    });
  /** The deleted rows in the listed files, and how many of them their file's changed set does not list. */
  const tombstones = async (tiers: EntityTiers) => {
    if (tiers.files.length === 0) return { deleted: 0, unlisted: 0 };
    return duck.use(async (c) => {
      const reader = await c.runAndReadAll(
        `SELECT count(*)::INTEGER AS deleted, count(*) FILTER (WHERE l.row_id IS NULL)::INTEGER AS unlisted
           FROM ${parquetScanSql(customers, tiers.files, [], { positions: true })} AS s
           JOIN ${fileIndexSql(tiers.files)} ON m.file_index = s.file_index
           LEFT JOIN ${ChangedRowSets.TABLE} AS l ON l.file_id = m.file_id AND l.row_id = s.row_id
          WHERE coalesce(s.deleted_at, 0) <> 0`,
      );
      return reader.getRowObjectsJS()[0] as { deleted: number; unlisted: number };
    });
  };

  it('reads what the row_id anti-join reads and what was written, also in snapshots older than the table', async () => {
    // Seeded, so a failure repeats.
    const next = seededRandom(23);
    const live: string[] = [];
    const names = new Map<string, string>();
    // Snapshots kept open over later steps, with the rows they must show.
    const held: { snapshot: QuerySnapshot; names: Map<string, string>; step: number }[] = [];
    let byPosition = 0;
    let olderReads = 0;
    let deletedInFiles = 0;
    let signedReads = 0;
    try {
      for (let step = 0; step < 70; step++) {
        const roll = next();
        if (roll < 0.25 || live.length < 3) {
          const rows = await gw.oltp.writer.insert(customers, Array.from({ length: 1 + Math.floor(next() * 4) }, (_, i) => ({ name: `n${step}_${i}` })));
          live.push(...rows.map((r) => r.row_id));
          for (const row of rows) names.set(row.row_id, String(row.values.name));
        } else if (roll < 0.7) {
          // Updates of rows likely flushed already: their lake versions must go.
          const id = live[Math.floor(next() * live.length)]!;
          await gw.oltp.writer.update(customers, id, { name: `u${step}` });
          names.set(id, `u${step}`);
        } else if (roll < 0.8) {
          const [id] = live.splice(Math.floor(next() * live.length), 1);
          await gw.oltp.writer.softDelete(customers, id!);
          names.delete(id!);
        } else if (roll < 0.95) {
          await gw.lakehouse.admin.flush(customers, true);
        } else {
          await gw.lakehouse.admin.flush(customers, true);
          await gw.lakehouse.admin.compact(customers, true);
        }
        const snapshot = await takeSnapshot(parts.deps, [customers]);
        const tiers = snapshot.tiers(customers);
        const positional = currentRowsSql(tiers);
        if (positional.includes('file_row_number')) byPosition++;
        // The view reads file rows without a soft-delete filter (view.ts): every deleted row in a
        // file must be listed in its file's changed set, which part 1 leaves out.
        const { deleted, unlisted } = await tombstones(tiers);
        expect(unlisted, `step ${step}: deleted rows in files outside their changed sets`).toBe(0);
        deletedInFiles = Math.max(deletedInFiles, deleted);
        const seen = await read(positional);
        expect(seen, `step ${step}: by position`).toEqual(expected(names));
        expect(await read(currentRowsSql({ ...tiers, superseded: null })), `step ${step}: by row_id`).toEqual(seen);
        // By subtraction: every file row, the superseded ones taken away again by their values.
        await snapshot.prepare([customers], { positions: true, values: [customers] });
        const signed = signedRowsSql(snapshot.tiers(customers))?.all ?? null;
        if (signed) {
          expect(await readSigned(signed), `step ${step}: by subtraction`).toEqual(seen);
          signedReads++;
        }
        // Older snapshots read again after newer ones extended the table past their slot.
        for (const older of held) {
          expect(await read(currentRowsSql(older.snapshot.tiers(customers))), `step ${step}: the snapshot of step ${older.step}`).toEqual(expected(older.names));
          olderReads++;
        }
        held.push({ snapshot, names: new Map(names), step });
        if (held.length > 3) held.shift()!.snapshot.release();
      }
    } finally {
      for (const { snapshot } of held) snapshot.release();
    }
    expect(byPosition).toBeGreaterThan(20);
    expect(olderReads).toBeGreaterThan(150);
    expect(deletedInFiles).toBeGreaterThan(0);
    // Fewer: once an update of a lake row follows the values, reads go by position until the next flush.
    expect(signedReads).toBeGreaterThan(5);
  });

  it("keeps a listing's table while a snapshot holds it and drops it once a newer listing replaced it", async () => {
    const tables = () =>
      duck.use(async (c) => (await c.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'lake_superseded_%' ORDER BY 1`)).getRowsJS().map((r) => String(r[0])));
    const rows = await gw.oltp.writer.insert(customers, [{ name: 'a' }, { name: 'b' }]);
    await gw.lakehouse.admin.flush(customers, true);
    await gw.oltp.writer.update(customers, rows[0]!.row_id, { name: 'a2' });
    const first = await takeSnapshot(parts.deps, [customers]);
    const [firstTable] = await tables();
    expect(firstTable).toBeDefined();
    await gw.lakehouse.admin.flush(customers, true);
    const second = await takeSnapshot(parts.deps, [customers]);
    try {
      // The older listing's table stays for the snapshot still reading it.
      expect(await tables()).toHaveLength(2);
      expect(await read(currentRowsSql(first.tiers(customers)))).toEqual(expected(new Map([[rows[0]!.row_id, 'a2'], [rows[1]!.row_id, 'b']])));
      first.release();
      await expect.poll(tables, { timeout: 10_000 }).not.toContain(firstTable);
      expect(await tables()).toHaveLength(1);
    } finally {
      first.release();
      second.release();
    }
  });

  it('an older snapshot still shows the lake version of a row first updated after it', async () => {
    const [row, other] = await gw.oltp.writer.insert(customers, [{ name: 'before' }, { name: 'other' }]);
    await gw.lakehouse.admin.flush(customers, true);
    // An update of a lake row, so that the older snapshot excludes by position too.
    await gw.oltp.writer.update(customers, other!.row_id, { name: 'other2' });
    const older = await takeSnapshot(parts.deps, [customers]);
    try {
      await gw.oltp.writer.update(customers, row!.row_id, { name: 'after' });
      // The newer snapshot extends the listing's table with the row's position, at its update's slot.
      const newer = await takeSnapshot(parts.deps, [customers]);
      try {
        const newerTiers = newer.tiers(customers);
        expect(newerTiers.superseded).toBe(older.tiers(customers).superseded);
        expect(currentRowsSql(newerTiers)).toContain('file_row_number');
        expect(await read(currentRowsSql(newerTiers))).toContain(`${row!.row_id}:after`);
      } finally {
        newer.release();
      }
      const olderSql = currentRowsSql(older.tiers(customers));
      expect(olderSql).toContain('file_row_number');
      const seen = await read(olderSql);
      expect(seen).toEqual([`${row!.row_id}:before`, `${other!.row_id}:other2`].sort());
      expect(seen).not.toContain(`${row!.row_id}:after`);
    } finally {
      older.release();
    }
  });

  it('a failed take of the values leaves the read by position, and a later ask takes them', async () => {
    const [row, other] = await gw.oltp.writer.insert(customers, [{ name: 'a' }, { name: 'b' }]);
    await gw.lakehouse.admin.flush(customers, true);
    await gw.oltp.writer.update(customers, row!.row_id, { name: 'a2' });
    const first = await takeSnapshot(parts.deps, [customers]);
    try {
      const table = first.tiers(customers).superseded!;
      // The take reads the positions table: gone (a fault), it fails.
      await duck.use((c) => c.run(`ALTER TABLE ${table} RENAME TO lake_superseded_away`));
      await first.prepare([customers], { positions: true, values: [customers] });
      expect(first.tiers(customers).supersededValues ?? null).toBeNull();
      expect(signedRowsSql(first.tiers(customers))).toBeNull();
      await duck.use((c) => c.run(`ALTER TABLE lake_superseded_away RENAME TO ${table}`));
      const second = await takeSnapshot(parts.deps, [customers]);
      try {
        await second.prepare([customers], { positions: true, values: [customers] });
        const signed = signedRowsSql(second.tiers(customers))?.all ?? null;
        expect(signed).not.toBeNull();
        expect(await readSigned(signed!)).toEqual(expected(new Map([[row!.row_id, 'a2'], [other!.row_id, 'b']])));
      } finally {
        second.release();
      }
    } finally {
      first.release();
    }
  });
});
