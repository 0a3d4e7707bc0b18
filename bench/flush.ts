// Flush throughput: 200,000 buffered demo orders -> one ZSTD Parquet delta file, into a local lake
// and into an S3 server on loopback. Compared in the same run with reading the same buffer through
// plain `pg` rows (the export path a flush avoids by streaming COPY into DuckDB).
// Usage: npm run bench:flush  (BENCH_DATABASE_URL or DATABASE_URL to use a running Postgres)
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openLakehouse } from '../src/cli/lakehouse.js';
import { demoCustomer, demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { loadCatalog } from '../src/catalog/index.js';
import { flushSchema } from '../src/ingest/index.js';
import { changeLogColumnsSql, openOltpStore } from '../src/oltp/index.js';
import { startTestS3 } from '../test/support/s3.js';
import { benchDatabase, median } from './support.js';

const ROWS = Number(process.env.BENCH_FLUSH_ROWS ?? 200_000);
const ROUNDS = 2;
const BATCH = 10_000;

const log = pino({ level: 'warn' });
const database = await benchDatabase('bench_flush');
const catalog = await loadCatalog('schema');
const oltp = await openOltpStore({ databaseUrl: database.url, catalog, log });
const s3 = await startTestS3();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-bench-flush-'));
const orders = catalog.entity('orders');
const random = seededRandom(1);

async function fillBuffer(customerIds: string[]): Promise<void> {
  for (let done = 0; done < ROWS; done += BATCH) {
    await oltp.writer.insert(orders, Array.from({ length: Math.min(BATCH, ROWS - done) }, () => demoOrder(random, customerIds)));
  }
}

/** Size of the buffered snapshots as JSON text: the flush's input volume, without the system columns. */
async function bufferedBytes(): Promise<number> {
  const { rows } = await oltp.pool.query<{ bytes: string }>(
    `SELECT sum(octet_length(snapshot::text)) AS bytes FROM change_log WHERE project = $1 AND schema_id = $2`,
    [orders.project, orders.id],
  );
  return Number(rows[0]!.bytes);
}

/** The alternative export: the typed buffer rows through `pg` into JS objects. */
async function readThroughPg(): Promise<number> {
  const started = performance.now();
  const { rows } = await oltp.pool.query(
    `SELECT ${changeLogColumnsSql(orders)} FROM change_log c WHERE c.project = $1 AND c.schema_id = $2`,
    [orders.project, orders.id],
  );
  if (rows.length !== ROWS) throw new Error(`expected ${ROWS} buffered rows, read ${rows.length}`);
  return performance.now() - started;
}

try {
  const customers = await oltp.writer.insert(catalog.entity('customers'), Array.from({ length: 1_000 }, () => demoCustomer(random)));
  const customerIds = customers.map((c) => c.row_id);
  console.log(`flush of ${ROWS.toLocaleString('en')} buffered orders, ${ROUNDS} rounds per lake`);
  for (const [name, settings] of [
    ['local lake', { lakeUrl: `file://${path.join(dataDir, 'lake')}`, s3: { region: 'us-east-1', forcePathStyle: true } }],
    ['S3 on loopback (s3rver)', s3.settings('bench')],
  ] as const) {
    const lakehouse = await openLakehouse(
      { ...settings, dataDir, flush: { maxRows: 20_000, maxAgeMs: 3_600_000, checkIntervalMs: 1_000 }, orphanGraceMs: 600_000 },
      catalog,
      oltp,
      log,
    );
    const rates: number[] = [];
    const throughputs: number[] = [];
    const inputRates: number[] = [];
    const pgReads: number[] = [];
    const exports: number[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await fillBuffer(customerIds);
        pgReads.push(await readThroughPg());
        const input = await bufferedBytes();
        const outcome = await flushSchema(lakehouse.flushDeps, orders, { force: true, trigger: 'bench' });
        if (outcome.status !== 'flushed' || outcome.rows !== ROWS) throw new Error(`flush did not take the buffer: ${JSON.stringify(outcome)}`);
        const seconds = outcome.durationMs / 1000;
        rates.push(outcome.rows / seconds);
        throughputs.push(outcome.bytes / 1e6 / seconds);
        inputRates.push(input / 1e6 / seconds);
        exports.push(outcome.phasesMs.export);
        console.log(
          `  ${name} round ${round + 1}: ${outcome.durationMs} ms, ${(outcome.bytes / 1e6).toFixed(1)} MB file; ` +
            `export ${outcome.phasesMs.export} ms, parquet ${outcome.phasesMs.parquet} ms, upload ${outcome.phasesMs.upload} ms, commit ${outcome.phasesMs.commit} ms`,
        );
      }
    } finally {
      await lakehouse.close();
    }
    console.log(
      `${name}: median ${Math.round(median(rates)).toLocaleString('en')} rows/s, ${median(inputRates).toFixed(1)} MB/s of buffered changes in (as JSON text), ${median(throughputs).toFixed(1)} MB/s of Parquet out; ` +
        `COPY export ${Math.round(median(exports))} ms vs pg rows ${Math.round(median(pgReads))} ms (${(median(pgReads) / median(exports)).toFixed(1)}x)`,
    );
  }
} finally {
  await oltp.close();
  await s3.close();
  await fs.rm(dataDir, { recursive: true, force: true });
  await database.drop();
}
