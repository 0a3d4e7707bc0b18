// Reads what a test gateway's lake and buffer hold, to check flushes against the writes.
import path from 'node:path';
import type { EntitySchema } from '../../src/catalog/index.js';
import { liveFiles, sqlString } from '../../src/lake/index.js';
import type { TestGateway } from './gateway.js';
import { scratchDir } from './scratch.js';

/** A local path for a lake object, downloading it first when the store is remote. */
export async function localCopy(gw: TestGateway, key: string): Promise<string> {
  const direct = gw.lakehouse.store.localPath(key);
  if (direct) return direct;
  const file = path.join(await scratchDir('read-'), path.basename(key));
  await gw.lakehouse.store.getToFile(key, file);
  return file;
}

/** Every change (`row_id@time_slot`) in the live lake files of `entity`, duplicates kept. */
export async function changesInLake(gw: TestGateway, entity: EntitySchema): Promise<string[]> {
  const files = await liveFiles(gw.oltp.pool, entity);
  if (files.length === 0) return [];
  const paths = await Promise.all(files.map((f) => localCopy(gw, f.path)));
  return gw.lakehouse.duck.use(async (connection) => {
    const reader = await connection.runAndReadAll(
      `SELECT row_id::VARCHAR || '@' || time_slot::VARCHAR AS change FROM read_parquet([${paths.map(sqlString).join(', ')}])`,
    );
    return reader.getRowObjects().map((r) => String(r.change));
  });
}

/** Every change still buffered in the change_log for `entity`. */
export async function changesInBuffer(gw: TestGateway, entity: EntitySchema): Promise<string[]> {
  const { rows } = await gw.oltp.pool.query<{ change: string }>(
    `SELECT row_id::text || '@' || time_slot::text AS change FROM change_log WHERE project = $1 AND schema_id = $2`,
    [entity.project, entity.id],
  );
  return rows.map((r) => r.change);
}

/** Asserts-ready summary: every change, where it is, and which appear more than once. */
export async function changeLedger(gw: TestGateway, entity: EntitySchema) {
  const lake = await changesInLake(gw, entity);
  const buffer = await changesInBuffer(gw, entity);
  const all = [...lake, ...buffer];
  const seen = new Set<string>();
  const duplicates = all.filter((c) => (seen.has(c) ? true : (seen.add(c), false)));
  return { lake, buffer, all: [...seen].sort(), duplicates };
}

/** Every object key under the demo project in the lake's store, sorted. */
export async function lakeKeys(gw: TestGateway): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of gw.lakehouse.store.list('demo/')) keys.push(object.key);
  return keys.sort();
}
