// A search's whole life is bounded by QUERY_TIMEOUT_MS (the GC grace relies on it): a statement
// past the bound is interrupted with a clear error, and the DuckDB connection stays usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/errors/index.js';
import { QueryEngine, type QueryFaults } from '../../src/query/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('the query time bound', () => {
  let gw: TestGateway;
  let engine: QueryEngine;
  const faults: QueryFaults = {};
  beforeAll(async () => {
    gw = await startTestGateway();
    engine = new QueryEngine({
      pool: gw.oltp.pool,
      duck: gw.lakehouse.duck,
      cache: gw.lakehouse.cache,
      timeoutMs: 300,
      faults,
    });
  });
  afterAll(async () => {
    await gw?.close();
  });
  const orders = () => gw.catalog.entity('orders');

  it('a statement running past QUERY_TIMEOUT_MS is interrupted with a timeout error', async () => {
    const started = Date.now();
    const slow = engine.read([orders()], () => ({ sql: 'SELECT count(*) AS n FROM range(1000000000) a, range(1000) b', params: [] }));
    await expect(slow).rejects.toThrow(TimeoutError);
    await expect(slow).rejects.toThrow('ran longer than its limit of 300 ms (QUERY_TIMEOUT_MS)');
    expect(Date.now() - started).toBeLessThan(5_000);
    // Every pooled connection still answers (an interrupt does not stick to the connection).
    for (let i = 0; i < 4; i++) {
      expect(await engine.read([orders()], () => ({ sql: 'SELECT 42 AS n', params: [] }))).toEqual([{ n: 42 }]);
    }
  });

  it('a query whose snapshot took the whole bound does not run its statement', async () => {
    let ran = false;
    faults.beforeStatement = async () => {
      delete faults.beforeStatement;
      await new Promise((resolve) => setTimeout(resolve, 400));
    };
    await expect(
      engine.read([orders()], (view) => {
        ran = true;
        return { sql: `SELECT count(*) AS n FROM ${view(orders())}`, params: [] };
      }),
    ).rejects.toThrow(TimeoutError);
    expect(ran).toBe(true); // built, never run: no reader of DuckDB saw it
  });
});
