// verify: compares an entity's merge-on-read answer with the OLTP truth (every live row's current
// version, read from the EAV tables) and reports drift: counts, an order-independent hash of each
// side, and example row_ids missing from the lake, extra in it, different or doubled.
//
// Both sides are compared in DuckDB in the lake's own types: the truth is loaded in the snapshot
// form of the buffer and typed by the same derivation (lake/buffer.ts), so a value compares equal
// exactly when the lake holds what the truth holds (JSON as DuckDB re-serializes jsonb, floats as
// doubles, timestamps to the microsecond). Per row: row_id, the current version's time_slot and
// every attribute of this process's definition.
//
// One moment under concurrent writes: the truth is read in a REPEATABLE READ snapshot T1 at clock
// slot S; the lake is read afterwards in its own snapshot (the search's). A row no change touched
// after T1 (its current slot is still <= S when re-read after the lake read) has one version over
// that whole time, which the lake must show; a row changed since may legitimately differ and is
// counted as `concurrent`, not as drift. So a verify beside live writers reports only real drift.
import { quoteIdent, type EntitySchema } from '../catalog/index.js';
import { bufferRowsSql, lakeColumns, loadChanges, type DuckDb } from '../lake/index.js';
import { committedSlot, currentSlots, readTruthRows, type PgPool } from '../oltp/index.js';
import type { QueryEngine } from './engine.js';

export interface VerifyReport {
  entity: string;
  ok: boolean;
  truthRows: number;
  lakeRows: number | null;
  /** Live in the truth, absent from the lake. */
  missing: number;
  /** In the lake, not live in the truth (a deleted row resurrected, or a row written to the lake only). */
  extra: number;
  /** In both, with another time_slot or value. */
  different: number;
  /** row_ids the lake answers more than once. */
  duplicated: number;
  /** Mismatches explained by changes committed while verify ran (not drift). */
  concurrent: number;
  examples: { missing: string[]; extra: string[]; different: string[]; duplicated: string[] };
  /** Sum of per-row hashes (order-independent), as decimal text. */
  truthHash: string;
  lakeHash: string | null;
  /** The slot the truth was read at. */
  truthSlot: bigint;
  /** Set when the lake could not be read at all (a file gone from the store, say). */
  error: string | null;
  durationMs: number;
}

/** Mismatched row_ids fetched per kind to tell drift from concurrent changes and to show examples. */
const MISMATCH_CAP = 10_000;
const EXAMPLES = 10;

type Kind = 'missing' | 'extra' | 'different' | 'duplicated';

export async function verifyEntity(deps: { pool: PgPool; duck: DuckDb; engine: QueryEngine }, entity: EntitySchema): Promise<VerifyReport> {
  const started = performance.now();
  const truth = quoteIdent(`verify_truth_${crypto.randomUUID().replaceAll('-', '')}`);
  const staging = quoteIdent(`verify_staging_${crypto.randomUUID().replaceAll('-', '')}`);
  const columns = lakeColumns(entity).filter((c) => c.name !== 'schema_id' && c.name !== 'deleted_at');
  const names = columns.map((c) => quoteIdent(c.name));
  // -0.0 and 0.0 compare equal; + 0.0 gives them one hash too.
  const hashOf = (alias: string) => `hash(${columns.map((c) => (c.duckdb === 'DOUBLE' ? `${alias}.${quoteIdent(c.name)} + 0.0` : `${alias}.${quoteIdent(c.name)}`)).join(', ')})`;
  try {
    const client = await deps.pool.connect();
    let truthSlot: bigint;
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        truthSlot = await committedSlot(client, entity);
        await deps.duck.use(async (connection) => {
          await loadChanges(connection, readTruthRows(client, entity), { table: staging });
          await connection.run(`CREATE TABLE ${truth} AS SELECT ${names.join(', ')} FROM (${bufferRowsSql(staging, entity.attributes)}) AS t`);
          await connection.run(`DROP TABLE ${staging}`);
        });
      } finally {
        await client.query('COMMIT');
      }
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }

    const differs = columns
      .filter((c) => c.name !== 'row_id')
      .map((c) => `t.${quoteIdent(c.name)} IS DISTINCT FROM l.${quoteIdent(c.name)}`)
      .join(' OR ');
    const ids = (kind: Kind) => `(SELECT coalesce(list(row_id ORDER BY row_id), [])[1:${MISMATCH_CAP}] FROM diff WHERE kind = '${kind}')`;
    const count = (kind: Kind) => `(SELECT count(*) FROM diff WHERE kind = '${kind}')`;
    let rows: Record<string, unknown>[];
    let lakeError: string | null = null;
    try {
      rows = await deps.engine.read([entity], (view) => ({
        sql: `WITH l AS MATERIALIZED (SELECT ${names.join(', ')} FROM ${view(entity)} AS v),
                  diff AS MATERIALIZED (
                    SELECT coalesce(t.row_id, l.row_id)::VARCHAR AS row_id,
                           CASE WHEN l.row_id IS NULL THEN 'missing' WHEN t.row_id IS NULL THEN 'extra' ELSE 'different' END AS kind
                      FROM ${truth} AS t FULL OUTER JOIN l ON t.row_id = l.row_id
                     WHERE t.row_id IS NULL OR l.row_id IS NULL${differs ? ` OR ${differs}` : ''}
                    UNION ALL
                    SELECT row_id::VARCHAR, 'duplicated' FROM l GROUP BY row_id HAVING count(*) > 1)
              SELECT (SELECT count(*) FROM ${truth}) AS truth_rows,
                     (SELECT coalesce(sum(${hashOf('t')}), 0)::VARCHAR FROM ${truth} AS t) AS truth_hash,
                     (SELECT count(*) FROM l) AS lake_rows,
                     (SELECT coalesce(sum(${hashOf('l')}), 0)::VARCHAR FROM l) AS lake_hash,
                     ${(['missing', 'extra', 'different', 'duplicated'] as const).map((k) => `${count(k)} AS ${k}, ${ids(k)} AS ${k}_ids`).join(', ')}`,
        params: [],
      }));
    } catch (error) {
      lakeError = (error as Error).message;
      rows = await deps.duck.use(async (c) =>
        (await c.runAndReadAll(`SELECT count(*) AS truth_rows, coalesce(sum(${hashOf('t')}), 0)::VARCHAR AS truth_hash FROM ${truth} AS t`)).getRowObjectsJS(),
      );
    }
    const r = rows[0]!;
    const truthRows = Number(r.truth_rows);
    if (lakeError !== null) {
      return {
        entity: entity.name,
        ok: false,
        truthRows,
        lakeRows: null,
        missing: 0,
        extra: 0,
        different: 0,
        duplicated: 0,
        concurrent: 0,
        examples: { missing: [], extra: [], different: [], duplicated: [] },
        truthHash: String(r.truth_hash),
        lakeHash: null,
        truthSlot,
        error: `the lake could not be read: ${lakeError}`,
        durationMs: Math.round(performance.now() - started),
      };
    }
    // Re-read after the lake's snapshot: a mismatched row changed since T1 is not drift.
    const kinds = ['missing', 'extra', 'different', 'duplicated'] as const;
    const fetched = Object.fromEntries(kinds.map((k) => [k, (r[`${k}_ids`] as string[]) ?? []])) as Record<Kind, string[]>;
    const slots = await currentSlots(deps.pool, kinds.flatMap((k) => fetched[k]));
    const moved = (id: string) => (slots.get(id) ?? 0n) > truthSlot;
    let concurrent = 0;
    const stable = {} as Record<Kind, number>;
    const examples = {} as Record<Kind, string[]>;
    for (const kind of kinds) {
      const still = fetched[kind].filter((id) => !moved(id));
      const movedHere = fetched[kind].length - still.length;
      concurrent += movedHere;
      stable[kind] = Number(r[kind]) - movedHere;
      examples[kind] = still.slice(0, EXAMPLES);
    }
    return {
      entity: entity.name,
      ok: kinds.every((k) => stable[k] === 0),
      truthRows,
      lakeRows: Number(r.lake_rows),
      ...stable,
      concurrent,
      examples,
      truthHash: String(r.truth_hash),
      lakeHash: String(r.lake_hash),
      truthSlot,
      error: null,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await deps.duck.use(async (c) => {
      await c.run(`DROP TABLE IF EXISTS ${truth}`);
      await c.run(`DROP TABLE IF EXISTS ${staging}`);
    }).catch(() => undefined);
  }
}
