// Public face of the OLTP store: Postgres pool, migrations, the EAV write path and row reads.
import type { Logger } from 'pino';
import { DEFAULT_MAX_VALUE_BYTES, type Catalog, type EntitySchema } from '../catalog/index.js';
import { migrate } from './migrations.js';
import { createPool, type PgPool } from './pool.js';
import { readEntityRows } from './reader.js';
import { registerCatalog, type AttributeIds } from './registry.js';
import type { EntityRow } from './rows.js';
import { EavWriter } from './writer.js';

export { ownerFileOf, passwordFileOf, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';
export { liveOwner, type DataDirOwner } from './owner.js';
export { checkReadiness, type Readiness } from './readiness.js';
export { MIGRATIONS, migrate, type Migration } from './migrations.js';
export { createPool, inClientTransaction, inTransaction, type PgClient, type PgPool } from './pool.js';
export { takeTimeSlots } from './clock.js';
export { DEFAULT_PG_RETRY, isTransientPgError, retryTransient, type PgRetrySettings } from './retry.js';
export {
  allBufferStats,
  bufferStats,
  changedRowIds,
  changeLogColumnsSql,
  listedChangeBatch,
  listedChangesSql,
  readBufferChanges,
  snapshotValueSql,
  type BufferStats,
  type ListedChange,
  type ListedChangesLimit,
  type SlotRange,
} from './buffer.js';
export { BATCH_ROWS, type ChangeBatch } from './copy-binary.js';
export { storedAttributes, type AttributeIds } from './registry.js';
export { committedSlot, currentSlots, readTruthRows } from './truth.js';
export type { EntityRow } from './rows.js';
export { checkRowId, isUuidV7, rowIdConflict, type AttributeInput, type EavWriter } from './writer.js';
export { RowIdTakenError, StaleReadError, type RowHead, type RowUpdate, type WriteSet, type WriteTransaction, type Written } from './write-transaction.js';

export interface OltpStore {
  readonly pool: PgPool;
  readonly ids: AttributeIds;
  readonly writer: EavWriter;
  /** Current live rows by row_id (missing and soft-deleted ones are absent). */
  readRows(entity: EntitySchema, rowIds: readonly string[]): Promise<Map<string, EntityRow>>;
  close(): Promise<void>;
}

interface OltpStoreOptions {
  databaseUrl: string;
  catalog: Catalog;
  log: Logger;
  poolSize?: number;
  /** Largest accepted attribute value (MAX_VALUE_BYTES); default 16 MiB. */
  maxValueBytes?: number;
}

/** A closing connection that has not said goodbye by then is left to the server. */
const CLOSE_WAIT_MS = 5_000;

/**
 * Ends the pool and waits until its connections are closed: pg-pool's end() resolves once it has
 * told them to end, before their sockets close, so a database dropped right after a gateway stopped
 * still found them (and each logged a failed connection).
 */
function closer(pool: PgPool): () => Promise<void> {
  let open = 0;
  let closed: (() => void) | null = null;
  pool.on('connect', () => void open++);
  pool.on('remove', () => {
    if (--open <= 0) closed?.();
  });
  return async () => {
    await pool.end();
    if (open <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_WAIT_MS);
      closed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  };
}

/** A pool, and how to close it (counting its connections from the first). */
function poolOf(options: OltpStoreOptions): { pool: PgPool; close: () => Promise<void> } {
  const pool = createPool(options.databaseUrl, {
    max: options.poolSize,
    onConnectionError: (error) => options.log.warn(`a Postgres connection failed (${error.message}); the pool replaces it`),
  });
  return { pool, close: closer(pool) };
}

function storeOver({ pool, close }: ReturnType<typeof poolOf>, options: OltpStoreOptions, ids: AttributeIds): OltpStore {
  return {
    pool,
    ids,
    writer: new EavWriter(pool, options.catalog, ids, { maxValueBytes: options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES }),
    readRows: (entity, rowIds) => readEntityRows(pool, ids, entity, rowIds),
    close,
  };
}

/** Connects, migrates and registers the catalog's attributes. */
export async function openOltpStore(options: OltpStoreOptions): Promise<OltpStore> {
  const opened = poolOf(options);
  try {
    await migrate(opened.pool, options.log);
    return storeOver(opened, options, await registerCatalog(opened.pool, options.catalog, options.log));
  } catch (error) {
    await opened.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Another pool over the database of `store` (say, with another statement_timeout in its URL): it
 * is migrated and the catalog registered already, so this only connects.
 */
export function openOltpStoreBeside(store: OltpStore, options: OltpStoreOptions): OltpStore {
  return storeOver(poolOf(options), options, store.ids);
}
