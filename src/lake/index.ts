// Public face of the lake: object stores, layout, the buffer loader, the Parquet writer, the manifest and the jobs table.
export { DuckDb, sqlString } from './duckdb.js';
export { LakeReadCache, type PinnedFiles } from './cache.js';
export { ROW_KEY_COLUMN, SYSTEM_COLUMNS, hasRowKey, lakeColumns, lakeColumnsOf, rowKeyOf, type LakeColumn } from './columns.js';
export { bufferRowsSql, loadBuffer, loadChanges, replacedVersionsSql } from './buffer.js';
export { isPresentBaseKey, newDeltaKey, presentBaseKey, rangeBaseKey, schemaPrefix, type FileKind } from './layout.js';
export { DDL_ENGINES, externalDdl, externalNames, type DdlEngine, type ExternalDdlFile, type ExternalDdlInput } from './external-ddl.js';
export { parquetScanSql, type ScannedFile } from './scan.js';
export { writeParquet, type WrittenFile } from './parquet.js';
export {
  addFile,
  changedRowIdsOf,
  forgetRemovedFiles,
  knownFileIds,
  removedBefore,
  swapFiles,
  type FileSwap,
  knownPaths,
  namedPaths,
  liveFileTotals,
  liveFiles,
  listTiers,
  type EntityTierListing,
  type ListedChanges,
  type ListOptions,
  type LakeFileTotals,
  type ManifestFile,
  type NewManifestFile,
} from './manifest.js';
export { DEAD_JOB_ERROR, failDeadJobs, finishJob, jobFailures, lastFinished, recentJobs, startJob, type Job, type JobFailures, type JobKind, type JobStatus } from './jobs.js';
export { openObjectStore, type ObjectStore, type ObjectStoreSettings, type PutResult, type StoredObject } from './store/index.js';
export { LOCK_CLASS, withSchemaLock, withSchemaLocks, type SchemaLockKind } from './lock.js';
export { commitPending, forgetPendingUploads, pendingUploadsBefore, uploadPending, type PendingOwner, type PendingUpload } from './pending.js';
