// Set-based updates and deletes (update_<name>, update_<name>_many, delete_<name>): which rows a
// `where` matches is decided by the search, and the writing transaction proves it still holds.
//
// How: each statement's `where` runs as a search at the newest snapshot (merge-on-read over lake
// and buffer, fresh to the last commit) and yields candidates (row_id, time_slot). One Postgres
// transaction then locks those rows (row_id order, so two writers never deadlock on them) and
// confirms each is still live at the time_slot the search saw: time_slot changes with every write
// of a row, so an equal slot means the row, and so whether it matches, is what the search judged.
// If any changed, nothing is written and the whole call runs again on a newer snapshot (at most
// ATTEMPTS times, then a ConflictError). Rows committed after the snapshot are not matched, as a
// statement that started earlier would not see them; a filter through a ref is judged at the
// snapshot too (Postgres READ COMMITTED likewise evaluates subqueries at the statement's snapshot).
//
// Why not compile `where` to SQL over the EAV tables: the search is where the filter's meaning
// lives (three-valued logic, refs, reverse relations, regex dialect, and what issue 13 adds next);
// a second compiler would have to agree with it on every operator, and disagree silently when it
// did not. Reusing it costs one search per statement and, under contention, a retry.
//
// update_<name>_many: the updates apply in order in one transaction, and, as in Hasura, a later
// update's `where` sees what earlier ones of the call changed. The search cannot see those
// uncommitted changes, so the rows an earlier update changed are judged again in memory on their
// new values (row-filter.ts); every other row keeps the search's verdict. A row matched by several
// updates gets all of them in order and one change_log row.
import type { AttributeValue, EntitySchema } from '../catalog/index.js';
import { ConflictError, LimitError } from '../errors/index.js';
import type { EntityRow, EavWriter } from '../oltp/index.js';
import { StaleReadError } from '../oltp/index.js';
import type { Filter, RowFilters, SearchService } from '../query/index.js';
import { enforceCheck } from './access.js';
import { judge, type RowLookup } from './row-filter.js';
import { applyChange, type RowChange } from './set-changes.js';

/** Runs of a call before its ConflictError; each waits a little longer, with jitter. */
export const ATTEMPTS = 6;
const BASE_WAIT_MS = 10;

export interface MutationResponse {
  affected_rows: number;
  returning: EntityRow[];
}

export interface SetStatement {
  where: Filter | null;
  /** Absent: the statement soft-deletes the rows it matches. */
  change?: RowChange;
  /** The statement's path in errors: '' for the only one, `updates[2]` in update_many. */
  at: string;
}

/** A path inside a statement's input, for errors: `where`, `updates[2]._inc`. */
export function pathIn(statement: Pick<SetStatement, 'at'>, sub: string): string {
  return statement.at ? `${statement.at}.${sub}` : sub;
}

export interface SetWriteServices {
  search: SearchService;
  writer: EavWriter;
  /** Rows one call may change (MAX_INSERT_OBJECTS, shared with bulk inserts). */
  maxRows: number;
  /** The role's select filters of the entities a `where` reaches through relations (not the written one's). */
  rowFilters?: RowFilters;
}

/** Transaction failures after which nothing was written and the call may simply run again. */
export function isRetryableWrite(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return error instanceof StaleReadError || code === '40001' || code === '40P01';
}

/** Runs again (on a newer snapshot) while `work` fails retryably, at most ATTEMPTS times. */
export async function withWriteRetries<T>(field: string, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isRetryableWrite(error)) throw error;
      if (attempt >= ATTEMPTS) {
        throw new ConflictError(
          `${field}: the rows it matched kept changing under concurrent writes (${ATTEMPTS} attempts); nothing was written, retry the mutation`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, BASE_WAIT_MS * 2 ** (attempt - 1) * (0.5 + Math.random())));
    }
  }
}

/** The update permission's check each changed row must pass before the transaction commits. */
export interface UpdateCheck {
  filter: Filter | null;
  role: string;
}

/** Applies `statements` in order, in one transaction; one response per statement. */
export function writeMatching(
  services: SetWriteServices,
  entity: EntitySchema,
  field: string,
  statements: readonly SetStatement[],
  check: UpdateCheck = { filter: null, role: 'admin' },
): Promise<MutationResponse[]> {
  return withWriteRetries(field, () => attempt(services, entity, field, statements, check));
}

async function attempt(services: SetWriteServices, entity: EntitySchema, field: string, statements: readonly SetStatement[], check: UpdateCheck): Promise<MutationResponse[]> {
  const { maxRows } = services;
  const tooMany = (what: string) =>
    new LimitError(`${field}: ${what} more than ${maxRows} rows; one call changes at most ${maxRows} (MAX_INSERT_OBJECTS): narrow the where`);
  const seen = new Map<string, bigint>();
  const matched: string[][] = [];
  for (const statement of statements) {
    const rows = await services.search.list(entity, {
      where: statement.where,
      orderBy: [],
      limit: maxRows + 1,
      offset: 0,
      columns: new Set(['time_slot']),
      rowFilters: services.rowFilters,
    });
    if (rows.length > maxRows) throw tooMany(`${pathIn(statement, 'where')} matches`);
    for (const row of rows) {
      const earlier = seen.get(row.row_id);
      // Two searches of one call saw different versions: a write came between them.
      if (earlier !== undefined && earlier !== row.time_slot) throw new StaleReadError(`${entity.name} row ${row.row_id} changed during ${field}`);
      seen.set(row.row_id, row.time_slot);
    }
    matched.push(rows.map((r) => r.row_id));
  }
  if (seen.size > maxRows) throw tooMany('its updates match');
  if (seen.size === 0) return statements.map(() => ({ affected_rows: 0, returning: [] }));

  return services.writer.transaction(async (tx) => {
    const live = await tx.lockLive(entity, [...seen.keys()]);
    for (const [rowId, slot] of seen) {
      if (live.get(rowId)?.time_slot !== slot) throw new StaleReadError(`${entity.name} row ${rowId} changed after ${field} chose it`);
    }
    const state = new Map<string, { values: Record<string, AttributeValue>; changed: Set<string>; deleted: boolean }>();
    const now = (rowId: string): EntityRow => ({ ...live.get(rowId)!, values: state.get(rowId)?.values ?? live.get(rowId)!.values });
    const looked = new Map<string, EntityRow | null>();
    const lookup: RowLookup = async (target, rowId) => {
      if (target.name === entity.name && state.has(rowId)) return now(rowId);
      const key = `${target.name}\u0000${rowId}`;
      if (!looked.has(key)) looked.set(key, (await tx.read(target, [rowId])).get(rowId) ?? null);
      return looked.get(key)!;
    };
    // Per statement: each matched row's values right after that statement.
    const after: { rowId: string; values: Record<string, AttributeValue> }[][] = [];
    for (const [i, statement] of statements.entries()) {
      // As in Hasura, a later update's where sees what earlier ones changed: those rows are judged
      // again here, on their new values; the search's verdict stands for every other row.
      let rowIds = matched[i]!;
      if (state.size > 0) {
        const rejudged: string[] = [];
        for (const rowId of state.keys()) {
          if (!statement.where || (await judge(statement.where, now(rowId), lookup, pathIn(statement, 'where'))) === true) rejudged.push(rowId);
        }
        rowIds = [...rowIds.filter((id) => !state.has(id)), ...rejudged].sort();
      }
      after.push(
        rowIds.map((rowId) => {
          let entry = state.get(rowId);
          if (!entry) state.set(rowId, (entry = { values: live.get(rowId)!.values, changed: new Set(), deleted: false }));
          if (statement.change) {
            entry.values = applyChange(entity, rowId, entry.values, statement.change, pathIn(statement, '_inc'));
            for (const name of [...Object.keys(statement.change.set), ...Object.keys(statement.change.inc)]) entry.changed.add(name);
          } else entry.deleted = true;
          return { rowId, values: entry.values };
        }),
      );
    }
    const ids = [...state.keys()];
    const written = await tx.write(entity, {
      updates: ids.filter((id) => !state.get(id)!.deleted).map((id) => ({ before: live.get(id)!, ...state.get(id)! })),
      deletes: ids.filter((id) => state.get(id)!.deleted).map((id) => live.get(id)!),
    });
    // The rows' final values, with refs as this transaction sees them (what the others will see on commit).
    await enforceCheck(check.filter, written.updated, lookup, { field, operation: 'update', role: check.role });
    const final = new Map([...written.updated, ...written.deleted].map((r) => [r.row_id, r]));
    return after.map((rows) => ({
      affected_rows: rows.length,
      returning: rows.map(({ rowId, values }) => ({ ...final.get(rowId)!, values })),
    }));
  });
}
