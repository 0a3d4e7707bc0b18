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

/** The base file that new row_ids are appended to (SPEC 5.1 phase 1). */
export function presentBaseKey(entity: Pick<EntitySchema, 'project' | 'id'>): string {
  return `${schemaPrefix(entity)}base/present_${entity.id}.parquet`;
}

/** A historical base file covering a fixed row_id range (SPEC 5.1 phase 3). */
export function rangeBaseKey(entity: Pick<EntitySchema, 'project' | 'id'>, minRowId: string, maxRowId: string): string {
  return `${schemaPrefix(entity)}base/${minRowId}_${maxRowId}.parquet`;
}
