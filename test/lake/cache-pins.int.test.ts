// The read cache never evicts a file a query or compaction has pinned, however small its bound.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOrder, seededRandom } from '../../src/cli/demo-data.js';
import { LakeReadCache, openObjectStore } from '../../src/lake/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

let s3: TestS3;
let dir: string;
beforeAll(async () => {
  s3 = await startTestS3();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-pins-'));
});
afterAll(async () => {
  await s3?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('pins in the read cache', () => {
  it('pinned files outlive downloads past the bound, and are evicted once released', async () => {
    const store = openObjectStore(s3.settings('pins-unit'));
    const cache = new LakeReadCache(store, path.join(dir, 'cache'), 50_000);
    try {
      const source = path.join(dir, 'source.bin');
      await fs.writeFile(source, randomBytes(40_000));
      const put = async (name: string) => ({ path: `demo/1/delta/${name}.parquet`, etag: (await store.putFile(`demo/1/delta/${name}.parquet`, source)).etag });
      const [a, b, c] = [await put('a'), await put('b'), await put('c')];

      const pinned = await cache.pinned([a, b]); // 80,000 bytes, above the 50,000 bound
      const other = await cache.localFile(c.path, c.etag); // a download that evicts what it may
      for (const file of pinned.paths) await expect(fs.stat(file)).resolves.toBeTruthy();
      expect(cache.pinnedCount).toBe(2);

      pinned.release();
      pinned.release(); // idempotent
      expect(cache.pinnedCount).toBe(0);
      await expect.poll(() => cache.bytes).toBeLessThanOrEqual(50_000);
      const left = await Promise.all([...pinned.paths, other].map((f) => fs.stat(f).then(() => true, () => false)));
      expect(left.filter(Boolean)).toHaveLength(1);
    } finally {
      store.close();
    }
  });
});

describe('a search on an S3 lake with a read cache smaller than one file', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ lake: { ...s3.settings('pins-search'), lakeCacheBytes: 1 } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('reads every file its snapshot lists (each download would evict the others)', async () => {
    const random = seededRandom(3);
    const orders = gw.catalog.entity('orders');
    let written = 0;
    for (let i = 0; i < 4; i++) {
      written += (await gw.oltp.writer.insert(orders, Array.from({ length: 25 }, () => demoOrder(random, [])))).length;
      expect((await gw.lakehouse.admin.flush(orders, true)).rows).toBe(25);
    }
    for (let round = 0; round < 3; round++) {
      const result = await gw.gql('{ orders_aggregate { aggregate { count } } }');
      expect(result.errors).toBeUndefined();
      expect(result.data.orders_aggregate.aggregate.count).toBe(written);
    }
    expect(gw.lakehouse.cache.pinnedCount).toBe(0); // released when each statement ended
  });
});
