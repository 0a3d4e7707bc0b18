// The object stores behind one interface: the local directory and S3 (a real S3 server on loopback).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakeReadCache, openObjectStore, type ObjectStore } from '../../src/lake/index.js';
import { freePort } from '../support/ports.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

let s3: TestS3;
let dir: string;

beforeAll(async () => {
  s3 = await startTestS3();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ltbase-store-'));
});
afterAll(async () => {
  await s3?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const kinds = [
  ['local', () => openObjectStore({ lakeUrl: `file://${path.join(dir, 'lake')}`, s3: { region: 'us-east-1', forcePathStyle: true } })],
  ['s3', () => openObjectStore(s3.settings('some/prefix'))],
] as const;

async function collect(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(prefix)) keys.push(object.key);
  return keys.sort();
}

describe.each(kinds)('%s object store', (_kind, open) => {
  it('puts, heads, lists, gets and deletes files under their keys', async () => {
    const store = open();
    try {
      await store.check();
      const source = path.join(dir, `${_kind}-source.bin`);
      const content = randomBytes(100_000);
      await fs.writeFile(source, content);

      const put = await store.putFile('demo/2/delta/a.parquet', source);
      await store.putFile('demo/2/delta/b.parquet', source);
      await store.putFile('other/1/delta/c.parquet', source);
      expect(put.bytes).toBe(content.length);
      expect(put.etag).toMatch(/^[0-9a-f]{32}$/);

      const head = await store.head('demo/2/delta/a.parquet');
      expect(head?.bytes).toBe(content.length);
      expect(Date.now() - head!.lastModified.getTime()).toBeLessThan(60_000);
      expect(await store.head('demo/2/delta/missing.parquet')).toBeNull();

      expect(await collect(store, 'demo/')).toEqual(['demo/2/delta/a.parquet', 'demo/2/delta/b.parquet']);

      const copy = path.join(dir, `${_kind}-copy.bin`);
      await store.getToFile('demo/2/delta/b.parquet', copy);
      expect((await fs.readFile(copy)).equals(content)).toBe(true);

      await store.delete(['demo/2/delta/a.parquet', 'demo/2/delta/never-existed.parquet']);
      expect(await collect(store, 'demo/')).toEqual(['demo/2/delta/b.parquet']);
      expect(await collect(store, 'other/')).toEqual(['other/1/delta/c.parquet']);
    } finally {
      store.close();
    }
  });
});

describe('S3 specifics', () => {
  it('uploads a file larger than one part as a multipart upload, byte for byte', async () => {
    const store = openObjectStore(s3.settings('multipart'));
    try {
      const source = path.join(dir, 'large.bin');
      const content = randomBytes(20 * 1024 * 1024); // > the 16 MiB part size
      await fs.writeFile(source, content);
      const put = await store.putFile('demo/2/delta/large.parquet', source);
      expect(put.bytes).toBe(content.length);
      const copy = path.join(dir, 'large-copy.bin');
      await store.getToFile('demo/2/delta/large.parquet', copy);
      expect((await fs.readFile(copy)).equals(content)).toBe(true);
    } finally {
      store.close();
    }
  });

  it('lists across pages', async () => {
    const store = openObjectStore(s3.settings('paged'));
    try {
      const source = path.join(dir, 'tiny.bin');
      await fs.writeFile(source, 'x');
      const keys = Array.from({ length: 1_005 }, (_, i) => `demo/1/delta/${String(i).padStart(4, '0')}.parquet`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => store.putFile(key, source)));
      expect(await collect(store, 'demo/')).toEqual(keys);
      await store.delete(keys);
      expect(await collect(store, 'demo/')).toEqual([]);
    } finally {
      store.close();
    }
  });
});

describe('the read-through cache of S3 objects', () => {
  it('keys copies by object and ETag and stays within its byte bound', async () => {
    const store = openObjectStore(s3.settings('cached'));
    const cacheDir = path.join(dir, 'cache');
    const cache = new LakeReadCache(store, cacheDir, 150_000);
    try {
      const source = path.join(dir, 'cache-source.bin');
      await fs.writeFile(source, randomBytes(100_000));
      const a = await store.putFile('demo/1/delta/a.parquet', source);
      const b = await store.putFile('demo/1/delta/b.parquet', source);
      const first = await cache.localFile('demo/1/delta/a.parquet', a.etag);
      expect(await cache.localFile('demo/1/delta/a.parquet', a.etag)).toBe(first);
      expect(cache.bytes).toBe(100_000);
      const second = await cache.localFile('demo/1/delta/b.parquet', b.etag);
      expect(cache.bytes).toBe(100_000); // a was evicted to stay under 150,000 bytes
      await expect(fs.stat(first)).rejects.toThrow('ENOENT');
      expect((await fs.readFile(second)).equals(await fs.readFile(source))).toBe(true);
      // A new ETag (the object was rewritten) is a different cache entry.
      await fs.writeFile(source, randomBytes(50_000));
      const rewritten = await store.putFile('demo/1/delta/b.parquet', source);
      const third = await cache.localFile('demo/1/delta/b.parquet', rewritten.etag);
      expect(third).not.toBe(second);
      expect((await fs.readFile(third)).length).toBe(50_000);
    } finally {
      store.close();
    }
  });

  it('adopts a file just uploaded, so reading it back needs no download', async () => {
    const store = openObjectStore(s3.settings('adopted'));
    const cache = new LakeReadCache(store, path.join(dir, 'adopt-cache'), 1_000_000);
    try {
      const source = path.join(dir, 'adopt-source.bin');
      const bytes = randomBytes(20_000);
      await fs.writeFile(source, bytes);
      const put = await store.putFile('demo/1/delta/c.parquet', source);
      await cache.adopt('demo/1/delta/c.parquet', put.etag, source);
      await expect(fs.stat(source)).rejects.toThrow('ENOENT'); // moved, not copied
      expect(cache.bytes).toBe(20_000);
      await store.delete(['demo/1/delta/c.parquet']); // a download would now fail
      const local = await cache.localFile('demo/1/delta/c.parquet', put.etag);
      expect((await fs.readFile(local)).equals(bytes)).toBe(true);
    } finally {
      store.close();
    }
  });
});

describe('bad lake settings', () => {
  it('refuses a LAKE_URL with an unknown scheme', () => {
    expect(() => openObjectStore({ lakeUrl: 'ftp://host/lake', s3: { region: 'us-east-1', forcePathStyle: true } })).toThrow(
      'LAKE_URL: unknown scheme "ftp" in "ftp://host/lake"; use file:///path/to/lake or s3://bucket/prefix',
    );
  });

  it('refuses an s3 URL without a bucket', () => {
    expect(() => openObjectStore({ lakeUrl: 's3:///prefix', s3: { region: 'us-east-1', forcePathStyle: true } })).toThrow('names no bucket');
  });

  it('names S3_ENDPOINT when nothing answers there', async () => {
    const port = await freePort();
    const store = openObjectStore({
      lakeUrl: 's3://lake/x',
      s3: { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      await expect(store.check()).rejects.toThrow(`cannot reach the S3 endpoint of s3://lake/x at http://127.0.0.1:${port}`);
    } finally {
      store.close();
    }
  });

  it('names the bucket when it does not exist', async () => {
    const store = openObjectStore({ ...s3.settings('x'), lakeUrl: 's3://no-such-bucket/x' });
    try {
      await expect(store.check()).rejects.toThrow('LAKE_URL: the bucket "no-such-bucket" does not exist');
    } finally {
      store.close();
    }
  });
});
