// The snapshot's listing (src/lake/manifest.ts listTiers) is planned once per connection and entity
// count: Postgres keeps a generic plan of the prepared statement after its first custom ones. With
// the entities as an unnest of arrays it estimated 100 of them and planned every execution anew
// (0.3-0.4 ms of a 0.6 ms listing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTiers } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('the snapshot listing', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('keeps a generic plan per entity count, and lists each entity of a statement apart', async () => {
    const orders = gw.catalog.entity('orders');
    const customers = gw.catalog.entity('customers');
    await gw.oltp.writer.insert(orders, [{ total: 1 }, { total: 2 }]);
    await gw.oltp.writer.insert(customers, [{ name: 'c' }]);
    const client = await gw.oltp.pool.connect();
    try {
      const limit = { rows: 1_000, bytes: 1 << 20 };
      for (let i = 0; i < 8; i++) {
        const [one] = await listTiers(client, [orders], { changesAbove: [-1n], changesLimit: limit });
        expect(one!.changes?.batch.timeSlots).toHaveLength(2);
        const both = await listTiers(client, [orders, customers], { changesAbove: [null, -1n], changesLimit: limit });
        expect(both.map((l) => [l.schemaId, l.changes?.batch.timeSlots.length ?? null])).toEqual([
          [orders.id, null],
          [customers.id, 1],
        ]);
      }
      const { rows } = await client.query<{ name: string; generic_plans: string }>(
        `SELECT name, generic_plans::text FROM pg_prepared_statements WHERE name LIKE 'ltbase_list_tiers%' ORDER BY name`,
      );
      expect(rows.map((r) => r.name)).toEqual(['ltbase_list_tiers_1', 'ltbase_list_tiers_2']);
      for (const r of rows) expect(Number(r.generic_plans), r.name).toBeGreaterThan(0);
    } finally {
      client.release();
    }
  });
});
