// The hot mirror's log (hot.ts): each buffered change it holds, by slot, with its row and op. It
// answers in JavaScript what would otherwise be a DuckDB statement over the mirror table: which
// rows changed since a slot (a kept aggregate's correction, aggregate-cache.ts), and which version
// of some rows the mirror holds (a copy that supersedes none skips its UPDATE; one that does finds
// them by slot). Its row ids go into statements as literals (uuidLiteral).
import { uuidFromBigInt } from '../catalog/index.js';

/** A buffered change as the log keeps it (row_id as a 128-bit integer, as COPY gives it). */
export interface LoggedChange {
  slot: bigint;
  rowId: bigint;
  inserted: boolean;
  /** The mirror keeps the version it replaced (an update or delete captured with it). */
  replaces: boolean;
}

/** A row with a change in (since, upTo] of a query's range (above, upTo]; see `HotRead.changedSince`. */
export interface ChangedRow {
  rowId: string;
  /** The slot of its version at `since` when that is buffered (its newest in (above, since]), else null. */
  sinceSlot: bigint | null;
  /** Its insert is in (above, upTo]. */
  born: boolean;
  /** Its first change after `since` replaced a version the mirror keeps (`HotRead.replaced`). */
  replaced: boolean;
}

/**
 * What `MirrorLog.changedSince` answers, asked of the mirror table (past the log's cap): at most
 * `limit` rows (all when null), in no order. A row's first change after `since` replaced a version
 * the mirror keeps when `hot.replaced` holds one that change replaced.
 */
export function changedRowsSql(hot: { table: string; above: bigint; upTo: bigint; replaced: string | null }, since: bigint, limit: number | null): string {
  const changed = `SELECT row_id, max(time_slot) FILTER (WHERE time_slot <= ${since}) AS since_slot,
                          min(time_slot) FILTER (WHERE time_slot > ${since}) AS first_after, bool_or(coalesce(inserted, false)) AS born
                     FROM ${hot.table} WHERE time_slot > ${hot.above} AND time_slot <= ${hot.upTo}
                    GROUP BY row_id HAVING max(time_slot) > ${since}${limit === null ? '' : ` LIMIT ${limit}`}`;
  const replaced = hot.replaced
    ? `EXISTS (SELECT 1 FROM ${hot.replaced} AS r WHERE r.row_id = c.row_id AND r.superseded_at = c.first_after)`
    : 'false';
  return `SELECT row_id::VARCHAR AS "rowId", since_slot AS "sinceSlot", born, ${replaced} AS replaced FROM (${changed}) AS c`;
}

/**
 * The log of one mirror table: complete above `above` (every change the table holds there is in
 * it), bounded by `limit` entries. Past the limit it starts again empty above the copy that
 * overflowed it; a question about a range that begins below `above` gets null (unknown).
 */
export class MirrorLog {
  private entries: LoggedChange[] = [];
  /**
   * Per row in the log, its entries by ascending slot: what a question about a few changed rows
   * asks of their other changes, without walking every entry of the range (a walk of 20,000
   * entries took 1.6 ms of JavaScript per corrected ask here).
   */
  private byRow = new Map<bigint, LoggedChange[]>();

  constructor(
    /** The log holds every change of the table above this slot. */
    private above: bigint,
    private readonly limit: number,
  ) {}

  /** Adds a copy's changes, all above every slot logged so far; `upTo` is the copy's last slot. */
  append(changes: readonly LoggedChange[], upTo: bigint): void {
    if (this.entries.length + changes.length > this.limit) {
      this.entries = [];
      this.byRow = new Map();
      this.above = upTo;
      return;
    }
    // COPY gives no order.
    const sorted = [...changes].sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0));
    for (const change of sorted) {
      this.entries.push(change);
      const own = this.byRow.get(change.rowId);
      if (own) own.push(change);
      else this.byRow.set(change.rowId, [change]);
    }
  }

  /** Forgets the changes at or below `floor`, which the table dropped. */
  prune(floor: bigint): void {
    this.entries.splice(0, firstAbove(this.entries, floor));
    for (const [rowId, own] of this.byRow) {
      const kept = firstAbove(own, floor);
      if (kept === own.length) this.byRow.delete(rowId);
      else if (kept > 0) own.splice(0, kept);
    }
    if (this.above < floor) this.above = floor;
  }

  /**
   * The rows with a change in (since, upTo] of the range (above, upTo], each with whether it has a
   * version at or below `since` and whether its insert is in the range; stops past `limit`. Null:
   * the log lacks part of the range.
   */
  changedSince(above: bigint, since: bigint, upTo: bigint, limit: number): ChangedRow[] | null {
    if (this.above > above) return null;
    const rows = new Map<bigint, ChangedRow>();
    for (let i = firstAbove(this.entries, since); i < this.entries.length && this.entries[i]!.slot <= upTo && rows.size <= limit; i++) {
      const { rowId } = this.entries[i]!;
      if (rows.has(rowId)) continue;
      let sinceSlot: bigint | null = null;
      let born = false;
      let replaced: boolean | null = null;
      for (const change of this.byRow.get(rowId)!) {
        if (change.slot <= above || change.slot > upTo) continue;
        // By ascending slot: the last one at or below `since` is the version then.
        if (change.slot <= since) sinceSlot = change.slot;
        else replaced ??= change.replaces;
        if (change.inserted) born = true;
      }
      rows.set(rowId, { rowId: uuidFromBigInt(rowId), sinceSlot, born, replaced: replaced === true });
    }
    return [...rows.values()];
  }

  /**
   * Of those of `rowIds` the table holds a version of (it holds no rows at or below
   * `prunedThrough`), the slot of the newest one; null when the log does not cover all it holds.
   */
  heldVersions(rowIds: Iterable<bigint>, prunedThrough: bigint): Map<bigint, bigint> | null {
    if (this.above > prunedThrough) return null;
    const held = new Map<bigint, bigint>();
    for (const rowId of rowIds) {
      const own = this.byRow.get(rowId);
      if (own) held.set(rowId, own[own.length - 1]!.slot);
    }
    return held;
  }
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

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A row_id the process itself holds (this log, DuckDB's own UUID text), never one from a
 * request, as a SQL literal: a bound list made DuckDB plan a statement twice, 3-4 ms of an 8 ms
 * correction (measured in process, same run). Checked all the same, so no other text is ever inlined.
 */
export function uuidLiteral(rowId: string): string {
  if (!UUID_TEXT.test(rowId)) throw new Error(`row id ${JSON.stringify(rowId)} is not a UUID`);
  return `'${rowId}'::UUID`;
}
