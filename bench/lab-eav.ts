// The EAV baseline at its strongest: a copy of the store's tables in schema eav_lab with the
// product's indexes plus, per value type, an index on (attribute_id, value) INCLUDE (row_id) (the
// product schema has only the ref index: its writes never need the others). Each question is asked
// in every form once (the answer checked against raw DuckDB), then the fastest form is timed.
import pg from 'pg';
import type { OltpStore } from '../src/oltp/index.js';
import { difference } from './vocabulary-questions.js';
import type { LabQuestion, Rows } from './lab-suite.js';
import type { EavLayout } from './vocabulary-sql.js';
import { timed, type Timing } from './support.js';

/** The value columns the demo schema uses; one (attribute_id, value) index each in the copy. */
const VALUE_COLUMNS = ['v_text', 'v_int', 'v_float', 'v_bool', 'v_ts', 'v_uuid'] as const;
/** Indexes the lab adds to its copy only (the product schema lacks them). */
export const ADDED_INDEXES = VALUE_COLUMNS.map((c) => `eav_value (attribute_id, ${c}) INCLUDE (row_id) WHERE ${c} IS NOT NULL`);

/** A Postgres session on the copy (search_path eav_lab), each statement bounded by `timeoutMs`. */
export interface EavCopy {
  sql(text: string, params?: unknown[]): Promise<Rows>;
  seconds: number;
  close(): Promise<void>;
}

export async function copyEav(oltp: OltpStore, databaseUrl: string, timeoutMs: number): Promise<EavCopy> {
  const started = performance.now();
  const admin = await oltp.pool.connect();
  try {
    await admin.query('DROP SCHEMA IF EXISTS eav_lab CASCADE');
    await admin.query('CREATE SCHEMA eav_lab');
    await admin.query('CREATE TABLE eav_lab.eav_entity AS SELECT * FROM public.eav_entity');
    await admin.query('CREATE TABLE eav_lab.eav_value AS SELECT * FROM public.eav_value');
    // The product's keys and indexes (src/oltp/migrations.ts) ...
    await admin.query('ALTER TABLE eav_lab.eav_entity ADD PRIMARY KEY (row_id)');
    await admin.query('CREATE INDEX ON eav_lab.eav_entity (project, schema_id, row_id)');
    await admin.query('ALTER TABLE eav_lab.eav_value ADD PRIMARY KEY (row_id, attribute_id)');
    await admin.query('CREATE INDEX ON eav_lab.eav_value (attribute_id, v_uuid) WHERE v_uuid IS NOT NULL');
    // ... and the value indexes an EAV store tuned for search would have.
    for (const index of ADDED_INDEXES) await admin.query(`CREATE INDEX ON eav_lab.${index}`);
    // Statistics and the visibility map (index-only scans), what autovacuum gives in time.
    await admin.query('VACUUM ANALYZE eav_lab.eav_entity, eav_lab.eav_value');
  } finally {
    admin.release();
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('SET search_path = eav_lab, public');
  await client.query(`SET statement_timeout = ${Math.round(timeoutMs)}`);
  return {
    sql: async (text, params) => (await client.query(text, params)).rows,
    seconds: (performance.now() - started) / 1000,
    close: () => client.end(),
  };
}

export interface EavResult extends Timing {
  fastest: string;
  /** Each form's one timed run (null: past the statement timeout). */
  forms_once_ms: Record<string, number | null>;
  answers: string;
}

/** Every form once after a checking run, then the fastest `runs` times. */
export async function measureEav(copy: EavCopy, question: LabQuestion, layout: EavLayout, truth: readonly unknown[], runs: number): Promise<EavResult> {
  const forms: Record<string, number | null> = {};
  const checks: string[] = [];
  for (const [form, ask] of Object.entries(question.eav)) {
    try {
      const answer = await ask(copy.sql, layout);
      checks.push(`${form}: ${difference(answer, truth) ?? 'agrees'}`);
      forms[form] = (await timed(() => ask(copy.sql, layout), 1, 0)).p50;
    } catch (error) {
      if (!/statement timeout/.test((error as Error).message)) throw error;
      checks.push(`${form}: past the statement timeout`);
      forms[form] = null;
    }
  }
  const ranked = Object.entries(forms).filter((e): e is [string, number] => e[1] !== null).sort(([, a], [, b]) => a - b);
  if (!ranked.length) return { fastest: 'none within the timeout', p50: Number.NaN, p95: Number.NaN, forms_once_ms: forms, answers: checks.join('; ') };
  const fastest = ranked[0]![0];
  const t = await timed(() => question.eav[fastest]!(copy.sql, layout), runs, 0);
  return { fastest, ...t, forms_once_ms: forms, answers: checks.join('; ') };
}
