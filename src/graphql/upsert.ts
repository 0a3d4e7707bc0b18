// Inserts with client-chosen row_ids and Hasura's on_conflict (upsert), so a client that lost a
// reply can send the same insert again without doubling rows.
//
// Which existing rows an on_conflict updates: the row_ids the insert names, read first without
// locks; on_conflict.where is judged by a search over those rows (as set-writes.ts judges where);
// the transaction then locks them and confirms none changed since that read (else it runs again, at
// most ATTEMPTS times). A concurrent insert of the same new row_id surfaces as a unique violation
// and is retried the same way, and the retry finds the row and treats it as a conflict.
//
// A soft-deleted row_id (Hasura/Postgres would conflict on the pk, as the row is still there): with
// on_conflict it is a conflict that does nothing (neither revived nor returned), so the retry of an
// insert whose row someone deleted since does not bring it back; without on_conflict it is a
// ConflictError saying the row_id was deleted. A row_id of another entity is always a ConflictError.
import { uuidv7 } from 'uuidv7';
import type { AttributeValue, Catalog, EntitySchema } from '../catalog/index.js';
import { ConflictError, ValidationError } from '../errors/index.js';
import { RowIdTakenError, StaleReadError, rowIdConflict, type AttributeInput, type EntityRow, type RowUpdate } from '../oltp/index.js';
import { SYSTEM_COLUMNS, type Filter } from '../query/index.js';
import { NO_INSERT_GUARD, enforceCheck, transactionLookup, type InsertGuard } from './access.js';
import { withWriteRetries, type SetWriteServices } from './set-writes.js';

export interface InsertObject {
  /** A client-chosen row_id (checked UUID v7, lower case); absent: the gateway assigns one. */
  rowId?: string;
  input: AttributeInput;
  /** The object's path in errors (`objects[3]`), or undefined for a single object. */
  at?: string;
}

/** Hasura's on_conflict: `update_columns: []` does nothing on a conflict. */
export interface OnConflict {
  updateColumns: readonly string[];
  where: Filter | null;
}

/** Refuses a row_id given twice in one call (Postgres: "cannot affect row a second time"). */
export function checkDistinctRowIds(objects: readonly InsertObject[]): void {
  const first = new Map<string, string>();
  for (const [i, object] of objects.entries()) {
    if (!object.rowId) continue;
    const earlier = first.get(object.rowId);
    if (earlier !== undefined) throw new ValidationError(`objects[${i}].row_id: ${object.rowId} is also the row_id of ${earlier}`);
    first.set(object.rowId, `objects[${i}]`);
  }
}

/** Inserts `objects` (all or none); with `onConflict`, rows whose row_id exists are updated or skipped. */
export async function insertRows(
  services: SetWriteServices,
  catalog: Catalog,
  entity: EntitySchema,
  field: string,
  objects: readonly InsertObject[],
  onConflict: OnConflict | null,
  guard: InsertGuard = NO_INSERT_GUARD,
): Promise<EntityRow[]> {
  checkDistinctRowIds(objects);
  const objectAt = (i: number) => objects[i]?.at ?? 'object';
  if (!onConflict) {
    try {
      return await services.writer.insert(
        entity,
        objects.map((o) => o.input),
        objects.map((o) => o.rowId),
        guard.insertCheck
          ? (rows, tx) => enforceCheck(guard.insertCheck, rows, transactionLookup(tx), { field, operation: 'insert', role: guard.role, at: objectAt })
          : undefined,
      );
    } catch (error) {
      if (error instanceof RowIdTakenError) throw new ConflictError(`${field}: row_id ${error.rowId ?? '(unknown)'} already exists in ${entity.name} (inserted concurrently)`);
      throw error;
    }
  }
  // Checked once, before any attempt takes a connection.
  const values = objects.map((o) => services.writer.coerce(entity, o.input, false, o.at));
  const presets = services.writer.coerce(entity, guard.updatePresets, true, 'the update permission preset');
  return withWriteRetries(field, async () => {
    try {
      return await upsertOnce(services, catalog, entity, field, objects, values, presets, onConflict, guard);
    } catch (error) {
      // Another transaction inserted one of the row_ids first: run again, and update or skip it.
      if (error instanceof RowIdTakenError) throw new StaleReadError(error.message);
      throw error;
    }
  });
}

async function upsertOnce(
  services: SetWriteServices,
  catalog: Catalog,
  entity: EntitySchema,
  field: string,
  objects: readonly InsertObject[],
  values: readonly Record<string, AttributeValue>[],
  presets: Record<string, AttributeValue>,
  onConflict: OnConflict,
  guard: InsertGuard,
): Promise<EntityRow[]> {
  const given = objects.flatMap((o) => (o.rowId ? [o.rowId] : []));
  const seen = await services.writer.heads(given);
  const live = given.filter((id) => {
    const head = seen.get(id);
    return head && head.project === entity.project && head.schema_id === entity.id && head.deleted_at === null;
  });
  let passing: Map<string, bigint> | null = null;
  if (onConflict.updateColumns.length > 0 && onConflict.where && live.length > 0) {
    const pinned: Filter = { kind: 'in', column: SYSTEM_COLUMNS.row_id!, values: live, negated: false };
    const rows = await services.search.list(entity, {
      where: { kind: 'and', items: [pinned, onConflict.where] },
      orderBy: [],
      limit: live.length,
      offset: 0,
      columns: new Set(['time_slot']),
      rowFilters: services.rowFilters,
    });
    passing = new Map(rows.map((r) => [r.row_id, r.time_slot]));
  }

  return services.writer.transaction(async (tx) => {
    const prepared = objects.map((o, i) => ({ row_id: o.rowId ?? uuidv7(), values: values[i]! }));
    const locked = await tx.heads(given);
    for (const id of given) {
      const before = seen.get(id);
      const now = locked.get(id);
      if (before?.time_slot !== now?.time_slot) throw new StaleReadError(`row ${id} changed since the upsert read it`);
    }
    for (const [id, slot] of passing ?? []) {
      if (locked.get(id)?.time_slot !== slot) throw new StaleReadError(`row ${id} changed since on_conflict.where judged it`);
    }
    const inserts: { row_id: string; values: Record<string, AttributeValue> }[] = [];
    const toUpdate: { row_id: string; values: Record<string, AttributeValue> }[] = [];
    for (const [i, row] of prepared.entries()) {
      const head = locked.get(row.row_id);
      if (!head) inserts.push(row);
      else if (head.project !== entity.project || head.schema_id !== entity.id) {
        throw new ConflictError(`${objects[i]!.at ?? 'object'}.row_id: ${rowIdConflict(catalog, entity, head)}`);
      } else if (head.deleted_at === null && onConflict.updateColumns.length > 0 && (!passing || passing.has(row.row_id))) {
        toUpdate.push(row);
      }
    }
    const current = await tx.lockLive(
      entity,
      toUpdate.map((r) => r.row_id),
    );
    const updates: RowUpdate[] = toUpdate.map((row) => {
      const before = current.get(row.row_id)!;
      const values = { ...before.values };
      // Hasura sets each update column to the inserted value (EXCLUDED), null when the object lacks it.
      for (const name of onConflict.updateColumns) values[name] = row.values[name] ?? null;
      Object.assign(values, presets);
      return { before, values, changed: new Set([...onConflict.updateColumns, ...Object.keys(presets)]) };
    });
    const written = await tx.write(entity, { inserts, updates });
    const lookup = transactionLookup(tx);
    await enforceCheck(guard.insertCheck, written.inserted, lookup, { field, operation: 'insert', role: guard.role });
    await enforceCheck(guard.updateCheck, written.updated, lookup, { field, operation: 'update', role: guard.role });
    const byId = new Map([...written.inserted, ...written.updated].map((r) => [r.row_id, r]));
    return prepared.flatMap((row) => byId.get(row.row_id) ?? []);
  });
}
