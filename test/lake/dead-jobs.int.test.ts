// Jobs of a process that died (or lost its session) are marked failed instead of staying 'running'.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import type { CompactFaults } from '../../src/compaction/index.js';
import type { FlushFaults } from '../../src/ingest/index.js';
import { DEAD_JOB_ERROR, failDeadJobs } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { changeLedger } from '../support/lake.js';

const random = seededRandom(11);

async function writeOrders(gw: TestGateway, count: number): Promise<string[]> {
  const rows = await gw.oltp.writer.insert(gw.catalog.entity('orders'), Array.from({ length: count }, () => demoOrder(random, [])));
  return rows.map((r) => `${r.row_id}@${r.time_slot}`);
}

async function jobRow(gw: TestGateway, jobId: bigint | string) {
  const { rows } = await gw.oltp.pool.query<{ status: string; error: string | null; holder_pid: number | null }>(
    'SELECT status, error, holder_pid FROM lake_job WHERE job_id = $1',
    [jobId.toString()],
  );
  return rows[0]!;
}

describe('jobs of ended processes', () => {
  let gw: TestGateway;
  const faults: FlushFaults = {};
  const compactFaults: CompactFaults = {};
  beforeAll(async () => {
    gw = await startTestGateway({ lake: { faults, compactFaults, jobCheckIntervalMs: 100_000 } });
  });
  afterAll(async () => {
    await gw?.close();
  });
  const orders = () => gw.catalog.entity('orders');

  it('a flush whose process was killed mid-job is marked failed when the workers start, and the next flush completes', async () => {
    const written = await writeOrders(gw, 40);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.resolve('test/support/flush-child.ts'), gw.databaseUrl, gw.lakeSettings.lakeUrl, gw.lakeSettings.dataDir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');
    const { rows } = await gw.oltp.pool.query<{ job_id: string }>(`SELECT job_id::text FROM lake_job WHERE status = 'running'`);
    expect(rows).toHaveLength(1); // what the base left forever
    const jobId = rows[0]!.job_id;

    gw.lakehouse.startWorkers(); // checks for dead jobs right away
    await expect.poll(async () => (await jobRow(gw, jobId)).status, { timeout: 5_000 }).toBe('failed');
    expect((await jobRow(gw, jobId)).error).toBe(DEAD_JOB_ERROR);

    const status = await gw.gql('{ lake_status { entity consecutive_failures last_error last_error_at } }', undefined, { admin: true });
    const ordersStatus = status.data.lake_status.find((s: { entity: string }) => s.entity === 'orders');
    expect(ordersStatus).toMatchObject({ consecutive_failures: 1, last_error: `flush: ${DEAD_JOB_ERROR}` });
    expect(ordersStatus.last_error_at).not.toBeNull();

    expect((await gw.lakehouse.admin.flush(orders(), true)).rows).toBe(40);
    const ledger = await changeLedger(gw, orders());
    expect(ledger.duplicates).toEqual([]);
    expect(ledger.all).toEqual(expect.arrayContaining(written));
    const after = await gw.gql('{ lake_status { entity consecutive_failures last_error } }', undefined, { admin: true });
    expect(after.data.lake_status.find((s: { entity: string }) => s.entity === 'orders')).toMatchObject({
      consecutive_failures: 0,
      last_error: `flush: ${DEAD_JOB_ERROR}`,
    });
  });

  it('a running job is left alone while its session holds the lock, and marked failed once that session is terminated', async () => {
    const written = await writeOrders(gw, 30);
    let reached!: (key: string) => void;
    const uploaded = new Promise<string>((resolve) => (reached = resolve));
    let resume!: () => void;
    const held = new Promise<void>((resolve) => (resume = resolve));
    faults.afterUpload = async (key) => {
      reached(key);
      await held;
    };
    const flushing = gw.lakehouse.admin.flush(orders(), true);
    flushing.catch(() => undefined);
    await uploaded;
    const { rows } = await gw.oltp.pool.query<{ job_id: string; holder_pid: number }>(
      `SELECT job_id::text, holder_pid FROM lake_job WHERE status = 'running'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.holder_pid).toEqual(expect.any(Number));

    expect(await failDeadJobs(gw.oltp.pool)).toEqual([]);
    expect((await jobRow(gw, rows[0]!.job_id)).status).toBe('running');

    const killer = new pg.Client({ connectionString: gw.databaseUrl });
    await killer.connect();
    await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.holder_pid]);
    await killer.end();
    await expect.poll(async () => (await failDeadJobs(gw.oltp.pool)).map((j) => j.jobId.toString()), { timeout: 5_000 }).toEqual([rows[0]!.job_id]);
    expect(await jobRow(gw, rows[0]!.job_id)).toMatchObject({ status: 'failed', error: DEAD_JOB_ERROR });

    resume();
    await expect(flushing).rejects.toThrow();
    delete faults.afterUpload;
    expect((await gw.lakehouse.admin.flush(orders(), true)).rows).toBe(30);
    const ledger = await changeLedger(gw, orders());
    expect(ledger.duplicates).toEqual([]);
    expect(ledger.buffer).toEqual([]);
    expect(ledger.all).toEqual(expect.arrayContaining(written));
  });

  it('a compaction whose session is terminated mid-job is marked failed, and the next compaction loses nothing', async () => {
    await writeOrders(gw, 20);
    await gw.lakehouse.admin.flush(orders(), true);
    let reached!: () => void;
    const uploaded = new Promise<void>((resolve) => (reached = resolve));
    let resume!: () => void;
    const held = new Promise<void>((resolve) => (resume = resolve));
    compactFaults.afterUpload = async () => {
      reached();
      await held;
    };
    const compacting = gw.lakehouse.admin.compact(orders(), true);
    compacting.catch(() => undefined);
    await uploaded;
    const { rows } = await gw.oltp.pool.query<{ job_id: string; holder_pid: number }>(
      `SELECT job_id::text, holder_pid FROM lake_job WHERE status = 'running' AND kind = 'compact'`,
    );
    expect(rows).toHaveLength(1);
    expect(await failDeadJobs(gw.oltp.pool)).toEqual([]);

    const killer = new pg.Client({ connectionString: gw.databaseUrl });
    await killer.connect();
    await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.holder_pid]);
    await killer.end();
    await expect.poll(async () => (await failDeadJobs(gw.oltp.pool)).map((j) => `${j.kind} ${j.jobId}`), { timeout: 5_000 }).toEqual([`compact ${rows[0]!.job_id}`]);
    expect(await jobRow(gw, rows[0]!.job_id)).toMatchObject({ status: 'failed', error: DEAD_JOB_ERROR });

    resume();
    await expect(compacting).rejects.toThrow();
    delete compactFaults.afterUpload;
    expect((await gw.lakehouse.admin.compact(orders(), true)).compacted).toBe(true);
    const { rows: truth } = await gw.oltp.pool.query<{ count: string }>(
      'SELECT count(*) FROM eav_entity WHERE project = $1 AND schema_id = $2 AND deleted_at IS NULL',
      [orders().project, orders().id],
    );
    const counted = await gw.gql('{ orders_aggregate { aggregate { count } } }');
    expect(counted.data.orders_aggregate.aggregate.count).toBe(Number(truth[0]!.count));
    expect((await changeLedger(gw, orders())).duplicates).toEqual([]);
  });
});
