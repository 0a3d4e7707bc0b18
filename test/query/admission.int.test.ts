// A few searches run in DuckDB at once, a short queue waits, the rest are told BUSY at once; and
// point lookups, which read Postgres, answer while DuckDB is saturated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryFaults } from '../../src/query/index.js';
import { startTestGateway, type GraphQLResponse, type TestGateway } from '../support/gateway.js';

describe('admission of searches into DuckDB', () => {
  let gw: TestGateway;
  let held: Promise<void> | null = null;
  let release = () => {};
  const faults: QueryFaults = {
    // Holds every search between its snapshot and its statement while `held` is set: a search in flight.
    beforeStatement: () => held ?? Promise.resolve(),
  };
  const hold = () => {
    held = new Promise<void>((resolve) => (release = resolve));
  };
  const letGo = () => {
    held = null;
    release();
  };
  let customerId: string;

  beforeAll(async () => {
    gw = await startTestGateway({ lake: { queryFaults: faults, duckdb: { maxQueries: 1, queueLength: 1, queueWaitMs: 60_000, threads: 1 } } });
    const res = await gw.gql(`mutation { insert_customers_one(object: {name: "Ada", country: "DE", tier: PRO}) { row_id } }`);
    customerId = res.data.insert_customers_one.row_id;
  });
  afterAll(async () => {
    letGo();
    await gw?.close();
  });

  const search = () => gw.gql(`{ customers(limit: 5) { name } }`);
  const settled = async (p: Promise<GraphQLResponse>, ms: number) =>
    Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

  it('with the slot taken and the queue full, another search is refused BUSY at once; the others finish', async () => {
    hold();
    const running = search();
    await expect.poll(() => gw.lakehouse.admission.load.running).toBe(1);
    const queued = search();
    await expect.poll(() => gw.lakehouse.admission.load.waiting).toBe(1);

    const started = Date.now();
    const refused = await search();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(refused.errors?.[0]?.extensions?.code).toBe('BUSY');
    expect(refused.errors?.[0]?.message).toContain('DUCKDB_MAX_QUERIES');
    expect(refused.errors?.[0]?.message).toContain('DUCKDB_QUEUE_LENGTH');
    expect(await settled(queued, 100)).toBe(false);

    letGo();
    expect((await running).data.customers).toEqual([{ name: 'Ada' }]);
    expect((await queued).data.customers).toEqual([{ name: 'Ada' }]);
    expect(gw.lakehouse.admission.load).toEqual({ running: 0, waiting: 0 });
  });

  it('a point lookup answers promptly while a long DuckDB statement runs and the search queue is full', async () => {
    hold();
    const running = search();
    const queued = search();
    await expect.poll(() => gw.lakehouse.admission.load).toEqual({ running: 1, waiting: 1 });
    // A heavy aggregate of its own on DuckDB's spare connection, as a flush or compaction would be.
    let heavyDone = false;
    const heavy = gw.lakehouse.duck
      .use((c) => c.run('SELECT sum(hash(i)) FROM range(150000000) t(i)'))
      .finally(() => (heavyDone = true));
    try {
      const started = Date.now();
      const found = await gw.gql(`query($id: UUID!) { customers_by_pk(row_id: $id) { name } }`, { id: customerId });
      expect(found.data.customers_by_pk).toEqual({ name: 'Ada' });
      expect(Date.now() - started).toBeLessThan(500);
      expect(heavyDone).toBe(false);
    } finally {
      letGo();
      await heavy;
    }
    await Promise.all([running, queued]);
  });

  it('a search that waited DUCKDB_QUEUE_WAIT_MS for a slot is refused BUSY', async () => {
    const patient = await startTestGateway({
      databaseUrl: gw.databaseUrl,
      lake: { queryFaults: faults, duckdb: { maxQueries: 1, queueLength: 4, queueWaitMs: 200 } },
    });
    try {
      hold();
      const running = patient.gql(`{ customers(limit: 1) { name } }`);
      const started = Date.now();
      const waited = await patient.gql(`{ customers(limit: 1) { name } }`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(waited.errors?.[0]?.extensions?.code).toBe('BUSY');
      expect(waited.errors?.[0]?.message).toContain('within 200 ms (DUCKDB_QUEUE_WAIT_MS');
      letGo();
      expect((await running).errors).toBeUndefined();
    } finally {
      letGo();
      await patient.close();
    }
  });
});
