// The soak's short form (bench/soak-run.ts): ~20 s of writers, searches, flushes, compactions and
// rebuilds beside a child gateway on the loopback S3 server, with every kind of fault injected at
// least once; no acknowledged write may be lost and verify must pass on every entity.
// `npm run soak` runs the same for 30 minutes (SOAK_SECONDS lengthens this one).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runSoak } from '../../bench/soak-run.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const seconds = Number(process.env.SOAK_SECONDS ?? 25);

it(
  'a soak with child process kills, connection kills and S3 outages loses no row and ends with verify ok on every entity',
  async () => {
    const report = await runSoak({ durationMs: seconds * 1000, databaseUrl: database.url, faultEveryMs: Math.max(2_000, (seconds * 1000) / 6) });
    expect(report.lostExamples).toEqual([]);
    expect(report.rowsLost).toBe(0);
    expect(report.faults).toMatchObject({ 'kill the child gateway': expect.any(Number), 'kill Postgres connections': expect.any(Number), 'stop the S3 server': expect.any(Number) });
    expect(report.operations.insert).toBeGreaterThan(20);
    expect(report.operations.search).toBeGreaterThan(5);
    expect(report.operations['child insert'] ?? 0).toBeGreaterThan(0);
    expect(report.verify.map((v) => [v.entity, v.ok])).toEqual([
      ['customers', true],
      ['orders', true],
    ]);
    expect(report.rowsChecked).toBeGreaterThan(100);
  },
  (seconds + 120) * 1000,
);
