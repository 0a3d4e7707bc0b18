// Postgres restarted under load: the gateway runs on its own embedded Postgres (never the shared
// server), which is stopped and started again on the same data directory and port while writers and
// searchers keep calling the GraphQL API. The gateway must come back by itself (no new pool, no new
// gateway), nothing acknowledged may be lost, and the search must agree with the EAV truth.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/oltp/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { liveOrderVersions } from '../support/oracle.js';
import { freePort } from '../support/ports.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Error messages seen, by kind (reported at the end: what a client sees while Postgres is down). */
const errorKinds = new Map<string, number>();
function noteError(kind: string, error?: { message: string; extensions?: { code?: string } }) {
  const key = `${kind}: ${error?.extensions?.code ?? '(no code)'} ${error?.message.slice(0, 120) ?? '(no message)'}`;
  errorKinds.set(key, (errorKinds.get(key) ?? 0) + 1);
}

const INSERT = `mutation($n: BigInt!) { insert_orders_one(object: {total: 2.5, quantity: $n, paid: false, note: "restart"}) { row_id time_slot } }`;
const COUNT = '{ orders_aggregate { aggregate { count } } }';

async function insertOne(gw: TestGateway, n: number): Promise<string | undefined> {
  const result = await gw.gql(INSERT, { n });
  if (result.errors) noteError('write', result.errors[0]);
  const row = result.data?.insert_orders_one;
  return result.errors || !row ? undefined : `${row.row_id}@${row.time_slot}`;
}

async function searchCount(gw: TestGateway): Promise<number | undefined> {
  const result = await gw.gql<{ orders_aggregate: { aggregate: { count: number } } }>(COUNT);
  if (result.errors) noteError('search', result.errors[0]);
  return result.errors ? undefined : result.data?.orders_aggregate.aggregate.count;
}


describe('Postgres restarted under load', () => {
  it('the gateway reconnects without a restart: writes, searches and flushes work again, nothing acknowledged is lost', async () => {
    // Under the system temp directory, readable by all: as root, the embedded server runs as another user.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-pg-restart-'));
    await fs.chmod(dir, 0o755);
    const dataDir = path.join(dir, 'pg');
    const port = await freePort();
    let server: EmbeddedPostgres | undefined = await startEmbeddedPostgres({ dataDir, port, database: 'restart', log });
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway({ databaseUrl: server.url }); // opens the OLTP store, which migrates
      const g = gw;
      const acknowledged: string[] = [];
      const outcomes = { writes: 0, writeErrors: 0, searches: 0, searchErrors: 0, writeErrorsDown: 0, searchErrorsDown: 0 };
      let down = false;
      let stop = false;

      const writer = async (id: number) => {
        let n = 0;
        while (!stop) {
          let change: string | undefined;
          try {
            change = await insertOne(g, id * 1_000_000 + n++);
          } catch {
            change = undefined;
          }
          if (change) {
            acknowledged.push(change);
            outcomes.writes++;
          } else {
            outcomes.writeErrors++; // failed (or unknown outcome): the truth decides, it is not counted as acknowledged
            if (down) outcomes.writeErrorsDown++;
            await sleep(20);
          }
        }
      };
      const searcher = async () => {
        while (!stop) {
          let count: number | undefined;
          try {
            count = await searchCount(g);
          } catch {
            count = undefined;
          }
          if (count === undefined) {
            outcomes.searchErrors++;
            if (down) outcomes.searchErrorsDown++;
            await sleep(20);
          } else outcomes.searches++;
        }
      };
      const load = Promise.all([writer(1), writer(2), searcher()]);

      // Load before the restart.
      await sleep(1_500);
      const before = { ...outcomes };
      expect(before.writes).toBeGreaterThan(0);
      expect(before.searches).toBeGreaterThan(0);

      // The restart: a fast shutdown (connections terminated), a second of nothing, the same directory and port again.
      down = true;
      await server.stop();
      server = undefined;
      await sleep(1_000);
      server = await startEmbeddedPostgres({ dataDir, port, database: 'restart', log });
      down = false;
      const restartedAt = Date.now();

      // The gateway comes back by itself: a write and a search both succeed within a bounded time.
      const recoveredIn = await (async () => {
        const deadline = restartedAt + 20_000;
        while (Date.now() < deadline) {
          const change = await insertOne(g, 1).catch(() => undefined);
          const count = await searchCount(g).catch(() => undefined);
          if (change) acknowledged.push(change);
          if (change && count !== undefined) return Date.now() - restartedAt;
          await sleep(100);
        }
        return undefined;
      })();
      expect(recoveredIn, JSON.stringify(outcomes)).toBeDefined();

      // Load after the restart, then stop the loops.
      const afterRecovery = { ...outcomes };
      await sleep(1_500);
      stop = true;
      await load;
      expect(outcomes.writes, JSON.stringify(outcomes)).toBeGreaterThan(afterRecovery.writes);
      expect(outcomes.searches, JSON.stringify(outcomes)).toBeGreaterThan(afterRecovery.searches);

      // Once recovered, every next request succeeds.
      for (let i = 0; i < 5; i++) {
        const change = await insertOne(g, 2);
        expect(change).toBeDefined();
        acknowledged.push(change!);
        expect(await searchCount(g)).toBeDefined();
      }

      // A flush over the restarted server succeeds.
      await g.lakehouse.admin.flush(g.catalog.entity('orders'), true);

      // Nothing acknowledged is lost, and the search (lake + buffer) agrees with the EAV truth.
      const expected = await liveOrderVersions(g);
      expect(new Set(acknowledged).size).toBe(acknowledged.length);
      expect(expected).toEqual(expect.arrayContaining(acknowledged));
      expect(await searchCount(g)).toBe(expected.length);
      // While it was down, clients were told to retry (UNAVAILABLE), never an internal error.
      expect([...errorKinds.keys()].filter((k) => !/^(write|search): UNAVAILABLE /.test(k))).toEqual([]);
      console.log(
        `postgres restart: ${JSON.stringify({ ...outcomes, acknowledged: acknowledged.length, live: expected.length, recoveredInMs: recoveredIn })}\n${[...errorKinds].map(([k, n]) => `  ${n} x ${k}`).join('\n')}`,
      );
    } finally {
      await gw?.close(); // with databaseUrl it leaves the database (and the server) alone
      await server?.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
