// /readyz and /metrics through yoga.fetch, on a real database: readiness follows Postgres, and the
// metrics show a search, a flush and a compaction.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReadiness } from '../../src/oltp/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { createTestDatabase } from '../support/postgres.js';
import { startTestS3 } from '../support/s3.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw?.close());

async function get(path: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await gw.yoga.fetch(`http://test${path}`);
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The value of one sample line of the Prometheus text, e.g. `name{label="x"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('shows request time by operation, DuckDB time, flush and compaction durations and bytes, and the buffer per entity', async () => {
    // given two buffered orders
    const inserted = await gw.gql(`mutation AddOrders { insert_orders(objects: [{total: 5}, {total: 7}]) { affected_rows } }`);
    expect(inserted.errors).toBeUndefined();
    let metrics = await get('/metrics');
    expect(sample(metrics.text, 'ltbase_buffer_rows{project="demo",entity="orders"}')).toBe(2);
    expect(sample(metrics.text, 'ltbase_buffer_oldest_age_seconds{project="demo",entity="orders"}')).toBeGreaterThanOrEqual(0);
    expect(sample(metrics.text, 'ltbase_buffer_rows{project="demo",entity="customers"}')).toBe(0);

    // when a search, a flush and a compaction run
    const found = await gw.gql(`query FindOrders { orders(where: {total: {_gte: 6}}) { total } }`);
    expect(found.data.orders).toEqual([{ total: 7 }]);
    const flushed = await gw.gql(`mutation { flush(entity: "orders", force: true) { flushed bytes } }`, undefined, { admin: true });
    expect(flushed.data.flush.flushed).toBe(true);
    const compacted = await gw.gql(`mutation { compact(entity: "orders", force: true) { compacted added { bytes } } }`, undefined, { admin: true });
    expect(compacted.data.compact.compacted).toBe(true);

    // then
    metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain('text/plain');
    const text = metrics.text;
    expect(sample(text, 'ltbase_graphql_request_duration_seconds_count{operation_type="query",operation_name="FindOrders"}')).toBe(1);
    expect(sample(text, 'ltbase_graphql_request_duration_seconds_count{operation_type="mutation",operation_name="AddOrders"}')).toBe(1);
    expect(sample(text, 'ltbase_graphql_request_duration_seconds_count{operation_type="mutation",operation_name="anonymous"}')).toBe(2);
    expect(sample(text, 'ltbase_duckdb_statement_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'ltbase_lake_job_duration_seconds_count{kind="flush",project="demo",entity="orders"}')).toBe(1);
    expect(sample(text, 'ltbase_lake_job_bytes_total{kind="flush",project="demo",entity="orders"}')).toBe(flushed.data.flush.bytes);
    expect(sample(text, 'ltbase_lake_job_rows_total{kind="flush",project="demo",entity="orders"}')).toBe(2);
    expect(sample(text, 'ltbase_lake_job_duration_seconds_count{kind="compact",project="demo",entity="orders"}')).toBe(1);
    expect(sample(text, 'ltbase_lake_job_bytes_total{kind="compact",project="demo",entity="orders"}')).toBe(compacted.data.compact.added[0].bytes);
    expect(sample(text, 'ltbase_buffer_rows{project="demo",entity="orders"}')).toBe(0);
    // A local lake is read in place, so the read cache (S3 only) neither hits nor misses.
    expect(sample(text, 'ltbase_lake_cache_hits_total')).toBe(0);
    expect(sample(text, 'ltbase_lake_cache_misses_total')).toBe(0);
    expect(text).toContain('# TYPE ltbase_lake_jobs_failed_total counter');
  });

  it('counts a failed flush among the failed jobs', async () => {
    await gw.gql(`mutation { insert_orders_one(object: {total: 1}) { row_id } }`);
    // A flush whose manifest commit fails: the lake_file table refuses every insert for a moment.
    await gw.oltp.pool.query(`ALTER TABLE lake_file ADD CONSTRAINT probe_refuses CHECK (false) NOT VALID`);
    try {
      const failed = await gw.gql(`mutation { flush(entity: "orders", force: true) { flushed } }`, undefined, { admin: true });
      expect(failed.errors).toBeDefined();
    } finally {
      await gw.oltp.pool.query(`ALTER TABLE lake_file DROP CONSTRAINT probe_refuses`);
    }
    expect(sample((await get('/metrics')).text, 'ltbase_lake_jobs_failed_total{kind="flush",project="demo",entity="orders"}')).toBe(1);
  });

  it('counts read-cache misses (downloads) and hits of an S3 lake', async () => {
    const s3 = await startTestS3();
    const lake = s3.settings('metrics');
    const writer = await startTestGateway({ lake });
    try {
      // a second process, with its own read cache, on the same database and lake
      const reader = await startTestGateway({ lake, databaseUrl: writer.databaseUrl });
      try {
        await writer.gql(`mutation { insert_orders(objects: [{total: 5}, {total: 7}]) { affected_rows } }`);
        const flushed = await writer.gql(`mutation { flush(entity: "orders", force: true) { flushed } }`, undefined, { admin: true });
        expect(flushed.data.flush.flushed).toBe(true);

        for (let i = 0; i < 2; i++) expect((await reader.gql(`{ orders { total } }`)).data.orders).toHaveLength(2);

        const text = await reader.metrics.scrape();
        expect(sample(text, 'ltbase_lake_cache_misses_total')).toBe(1); // downloaded once
        expect(sample(text, 'ltbase_lake_cache_hits_total')).toBeGreaterThanOrEqual(1);
      } finally {
        await reader.close();
      }
    } finally {
      await writer.close();
      await s3.close();
    }
  });
});

describe('/readyz', () => {
  it('says not ready, naming why, on a database the migrations have not reached', async () => {
    const empty = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: empty.url });
    try {
      expect(await checkReadiness(pool, 2_000)).toEqual({ ready: false, reason: expect.stringContaining('migrations have not run') });
    } finally {
      await pool.end();
      await empty.drop();
    }
  });

  // Last in the file: it drops the gateway's database.
  it('answers 200 while Postgres answers, 503 with the reason once it does not, while /healthz stays 200', async () => {
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ status: 'ready' });

    // The database goes away under the running gateway (its connections are terminated).
    const admin = new pg.Client({ connectionString: gw.databaseUrl.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE "${new URL(gw.databaseUrl).pathname.slice(1)}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }

    const down = await get('/readyz');
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toEqual({ status: 'not ready', reason: expect.stringMatching(/^Postgres is unreachable: .*does not exist/) });
    expect((await get('/healthz')).status).toBe(200);
  });
});
