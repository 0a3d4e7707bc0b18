// Object layout of the lake (SPEC 4): <project>/<schema_id>/{base,delta}/<name>.parquet under the root.
import { uuidv7 } from 'uuidv7';
import type { EntitySchema } from '../catalog/index.js';

export type FileKind = 'delta' | 'base';

export function schemaPrefix(entity: Pick<EntitySchema, 'project' | 'id'>): string {
  return `${entity.project}/${entity.id}/`;
}

/** A new delta file's key, named by a UUID v7 so names sort by creation time. */
export function newDeltaKey(entity: Pick<EntitySchema, 'project' | 'id'>): string {
  return `${schemaPrefix(entity)}delta/${uuidv7()}.parquet`;
}

// Lake objects are immutable: every write goes under a new key, because a query may still be reading
// the file it replaces (DESIGN 3) and DuckDB caches Parquet footers by path. SPEC 5 overwrites
// present_<schema_id>.parquet and <min>_<max>.parquet in place; here each generation of them gets
// its UUID v7 appended (present_<schema_id>_<uuid_v7>.parquet), and the manifest swap is the
// atomic overwrite.

/** A generation of the base file that new row_ids are appended to (SPEC 5.1 phase 1). */
export function presentBaseKey(entity: Pick<EntitySchema, 'project' | 'id'>): string {
  return `${schemaPrefix(entity)}base/present_${entity.id}_${uuidv7()}.parquet`;
}

/** A generation of a historical base file covering a fixed row_id range (SPEC 5.1 phases 2, 3). */
export function rangeBaseKey(entity: Pick<EntitySchema, 'project' | 'id'>, minRowId: string, maxRowId: string): string {
  return `${schemaPrefix(entity)}base/${minRowId}_${maxRowId}_${uuidv7()}.parquet`;
}

/** Whether a base file's key names a present file (as opposed to a fixed-range historical one). */
export function isPresentBaseKey(key: string): boolean {
  return /\/base\/present_\d+_[0-9a-f-]{36}\.parquet$/.test(key);
}
