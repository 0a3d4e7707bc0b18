// The hot mirror's log (hot.ts): each buffered change it holds, by slot, with its row and op. A kept
// aggregate's correction (aggregate-cache.ts) asks which rows changed since its slot; the log
// answers in JavaScript what would otherwise be a DuckDB statement over the mirror table.

/** A buffered change as the log keeps it (row_id as a 128-bit integer, as COPY gives it). */
export interface LoggedChange {
  slot: bigint;
  rowId: bigint;
  inserted: boolean;
}

/** A row with a change in (since, upTo] of a query's range (above, upTo]; see `HotRead.changedSince`. */
export interface ChangedRow {
  rowId: string;
  /** It also has a version in (above, since]. */
  buffered: boolean;
  /** Its insert is in (above, upTo]. */
  born: boolean;
}

/** The index of the first entry above `slot` in entries by ascending slot. */
export function firstAbove(entries: readonly { slot: bigint }[], slot: bigint): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (entries[mid]!.slot <= slot) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The rows with a change in (since, upTo] among the log's entries in (above, upTo], each with
 * whether it has a version at or below `since` and whether its insert is among them; stops past `limit`.
 */
export function changedIn(log: readonly LoggedChange[], above: bigint, since: bigint, upTo: bigint, limit: number): ChangedRow[] {
  const rows = new Map<bigint, ChangedRow>();
  const start = firstAbove(log, since);
  for (let i = start; i < log.length && log[i]!.slot <= upTo && rows.size <= limit; i++) {
    const { rowId, inserted } = log[i]!;
    const row = rows.get(rowId) ?? { rowId: uuidOf(rowId), buffered: false, born: false };
    if (inserted) row.born = true;
    rows.set(rowId, row);
  }
  for (let i = firstAbove(log, above); i < start; i++) {
    const row = rows.get(log[i]!.rowId);
    if (!row) continue;
    row.buffered = true;
    if (log[i]!.inserted) row.born = true;
  }
  return [...rows.values()];
}

/** A row_id from its 128-bit integer (tapOps) back to the UUID text DuckDB and Postgres read. */
function uuidOf(rowId: bigint): string {
  const hex = rowId.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
