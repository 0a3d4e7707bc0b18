// What a request snapshot of N entities costs (graphql/request-snapshot.ts chose the operation's
// entities over the whole catalog on these figures): one search of one entity in a snapshot that
// covers N entities, (a) when the hot mirror already holds every entity's buffer, and (b) when each
// of the N entities got a few new buffered changes since the last search (the copy the snapshot
// then makes per entity).
// Usage: npx tsx bench/snapshot.ts  (BENCH_DATABASE_URL or DATABASE_URL to use a running Postgres)
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openLakehouse } from '../src/cli/lakehouse.js';
import { loadCatalog } from '../src/catalog/index.js';
import { openOltpStore } from '../src/oltp/index.js';
import { benchDatabase, median, percentile } from './support.js';

const SIZES = (process.env.BENCH_SNAPSHOT_SIZES ?? '1,2,8,32').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_SNAPSHOT_ROUNDS ?? 30);
const CHANGES_PER_ENTITY = 5;

const log = pino({ level: 'warn' });
const total = Math.max(...SIZES);
const schemaDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-bench-snapshot-schema-'));
await fs.writeFile(
  path.join(schemaDir, 'bench.json'),
  JSON.stringify({
    project: 'bench',
    entities: Array.from({ length: total }, (_, i) => ({
      id: i + 1,
      name: `e${i + 1}`,
      attributes: [
        { name: 'label', type: 'string' },
        { name: 'amount', type: 'float' },
      ],
    })),
  }),
);
const catalog = await loadCatalog(schemaDir);
const database = await benchDatabase('bench_snapshot');
const oltp = await openOltpStore({ databaseUrl: database.url, catalog, log });
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-bench-snapshot-'));
const lakehouse = await openLakehouse(
  {
    lakeUrl: `file://${path.join(dataDir, 'lake')}`,
    s3: { region: 'us-east-1', forcePathStyle: true },
    dataDir,
    flush: { maxRows: 20_000, maxAgeMs: 3_600_000, checkIntervalMs: 200 },
    orphanGraceMs: 600_000,
  },
  catalog,
  oltp,
  log,
);
const engine = lakehouse.search.engine;
const entities = catalog.entities;

try {
  // Every entity: 1,000 rows in one lake file and 100 buffered.
  for (const entity of entities) {
    await oltp.writer.insert(entity, Array.from({ length: 1_000 }, (_, i) => ({ label: `r${i}`, amount: i })));
    await lakehouse.admin.flush(entity, true);
    await oltp.writer.insert(entity, Array.from({ length: 100 }, (_, i) => ({ label: `b${i}`, amount: i })));
  }
  const searchOne = async (covered: number) => {
    const first = entities[0]!;
    const snapshot = engine.snapshot(entities.slice(0, covered));
    const started = performance.now();
    try {
      await snapshot.read([first], (view) => ({ sql: `SELECT count(*) AS n FROM ${view(first)} AS o`, params: [] }));
    } finally {
      snapshot.release();
    }
    return performance.now() - started;
  };
  const report = (label: string, times: number[]) => {
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`${label.padEnd(46)} median ${median(sorted).toFixed(1).padStart(6)} ms   p90 ${percentile(sorted, 90).toFixed(1).padStart(6)} ms`);
  };
  for (const covered of SIZES) {
    // Warm: the mirror holds every buffer, the changed sets and local files are known.
    await searchOne(covered);
    const clean: number[] = [];
    for (let i = 0; i < ROUNDS; i++) clean.push(await searchOne(covered));
    report(`(a) covers ${covered}, mirror up to date`, clean);
    const dirty: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      for (const entity of entities.slice(0, covered)) {
        await oltp.writer.insert(entity, Array.from({ length: CHANGES_PER_ENTITY }, () => ({ label: 'new', amount: 1 })));
      }
      dirty.push(await searchOne(covered));
    }
    report(`(b) covers ${covered}, ${CHANGES_PER_ENTITY} new changes in each`, dirty);
  }
} finally {
  await lakehouse.close();
  await oltp.close();
  await database.drop();
  await fs.rm(dataDir, { recursive: true, force: true });
  await fs.rm(schemaDir, { recursive: true, force: true });
}
