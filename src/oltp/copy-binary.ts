// A streaming reader of the buffer's changes in Postgres' binary COPY format, in column batches.
// Binary, not text: no quoting, line-end, line-size or DateStyle rules to get right (issue 10),
// and the snapshot travels as the jsonb text Postgres stores, whatever its size.
import type { Readable } from 'node:stream';

/** Up to BATCH_ROWS buffered changes, column by column (DuckDB's vector size, so a batch is one chunk). */
export interface ChangeBatch {
  timeSlots: bigint[];
  schemaIds: number[];
  /** row_id as an unsigned 128-bit integer (big-endian bytes of the UUID). */
  rowIds: bigint[];
  deletedAt: (bigint | null)[];
  /** The snapshot as JSON text. */
  snapshots: string[];
  /**
   * Whether each change is an insert (change_log.op 'c'), when the COPY selected it as a sixth,
   * boolean field (the buffer's read does; the OLTP truth has no ops); else empty.
   */
  inserted: boolean[];
  /**
   * Per change, the slot of the version it replaced and that version's values of the attributes it
   * changed (change_log.previous_slot, previous_values; null for an insert), when the COPY selected
   * them as a seventh and eighth field (the buffer's read does); else empty.
   */
  previousSlots: (bigint | null)[];
  previousValues: (string | null)[];
}

export const BATCH_ROWS = 2048;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/**
 * Fields of each tuple, in the order the COPY selects them; a sixth, boolean one is optional, and
 * after it the previous version's two.
 */
const FIELDS = 5;
const FIELDS_WITH_OP = 6;
const FIELDS_WITH_PREVIOUS = 8;

function emptyBatch(): ChangeBatch {
  return { timeSlots: [], schemaIds: [], rowIds: [], deletedAt: [], snapshots: [], inserted: [], previousSlots: [], previousValues: [] };
}

/**
 * readChangeBatches over a running COPY, read out to its end even when the consumer stops early, so
 * the connection is usable again afterwards.
 */
export async function* copyChangeBatches(copy: Readable): AsyncGenerator<ChangeBatch> {
  let finished = false;
  try {
    yield* readChangeBatches(copy);
    finished = true;
  } finally {
    if (!finished) await drain(copy);
  }
}

async function drain(stream: Readable): Promise<void> {
  try {
    for await (const _ of stream) void _;
  } catch {
    // the connection reports the error to its next user
  }
}

/**
 * Parses `COPY (SELECT time_slot, schema_id, row_id, deleted_at, snapshot [, op = 'c' [, previous_slot, previous_values]] …) TO STDOUT
 * (FORMAT binary)` from `stream`, yielding batches. Chunks are joined only once a whole tuple has arrived,
 * so a 16 MiB snapshot costs one copy, not one per network chunk.
 */
export async function* readChangeBatches(stream: Readable): AsyncGenerator<ChangeBatch> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Bytes the next parse needs before it can make progress. */
  let needed = SIGNATURE.length + 8;
  let headerDone = false;
  let trailerSeen = false;
  let batch = emptyBatch();

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes < needed || trailerSeen) continue;
    const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    let at = 0;
    if (!headerDone) {
      if (!buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('binary COPY: bad signature');
      const extension = buf.readUInt32BE(SIGNATURE.length + 4);
      if (buf.length < SIGNATURE.length + 8 + extension) {
        needed = SIGNATURE.length + 8 + extension;
        pending = [buf];
        continue;
      }
      at = SIGNATURE.length + 8 + extension;
      headerDone = true;
    }
    needed = 2;
    for (;;) {
      const end = tupleEnd(buf, at);
      if (end < 0) {
        needed = -end - at;
        break;
      }
      if (buf.readInt16BE(at) === -1) {
        trailerSeen = true;
        at = end;
        break;
      }
      readTuple(buf, at, batch);
      at = end;
      if (batch.timeSlots.length === BATCH_ROWS) {
        yield batch;
        batch = emptyBatch();
      }
    }
    const rest = buf.subarray(at);
    pending = rest.length ? [rest] : [];
    pendingBytes = rest.length;
  }
  if (!trailerSeen) throw new Error('binary COPY: the stream ended before its trailer');
  if (batch.timeSlots.length > 0) yield batch;
}

/** End offset of the tuple at `at`, or minus the offset it needs the buffer to reach. */
function tupleEnd(buf: Buffer, at: number): number {
  if (buf.length < at + 2) return -(at + 2);
  const count = buf.readInt16BE(at);
  if (count === -1) return at + 2;
  if (count !== FIELDS && count !== FIELDS_WITH_OP && count !== FIELDS_WITH_PREVIOUS) {
    throw new Error(`binary COPY: a tuple of ${count} fields, expected ${FIELDS}, ${FIELDS_WITH_OP} or ${FIELDS_WITH_PREVIOUS}`);
  }
  // The fixed-size fields must have their sizes (readTuple relies on them).
  if (buf.length >= at + 40 && (buf.readInt32BE(at + 2) !== 8 || buf.readInt32BE(at + 14) !== 2 || buf.readInt32BE(at + 20) !== 16)) {
    throw new Error('binary COPY: time_slot, schema_id and row_id must be int8, int2 and uuid');
  }
  let p = at + 2;
  for (let i = 0; i < count; i++) {
    if (buf.length < p + 4) return -(p + 4);
    const length = buf.readInt32BE(p);
    p += 4 + (length > 0 ? length : 0);
  }
  return buf.length < p ? -p : p;
}

/** Appends the tuple at `at` (complete, as tupleEnd checked) to the batch; no allocation per field. */
function readTuple(buf: Buffer, at: number, batch: ChangeBatch): void {
  // time_slot int8, schema_id int2, row_id uuid: fixed lengths, never NULL (NOT NULL columns).
  let p = at + 2;
  batch.timeSlots.push(buf.readBigInt64BE(p + 4));
  p += 12;
  batch.schemaIds.push(buf.readInt16BE(p + 4));
  p += 6;
  batch.rowIds.push((buf.readBigUInt64BE(p + 4) << 64n) | buf.readBigUInt64BE(p + 12));
  p += 20;
  const deletedLength = buf.readInt32BE(p);
  batch.deletedAt.push(deletedLength < 0 ? null : buf.readBigInt64BE(p + 4));
  p += 4 + Math.max(deletedLength, 0);
  const jsonLength = buf.readInt32BE(p);
  // jsonb's binary form: a version byte (1), then the JSON text in UTF-8.
  if (buf[p + 4] !== 1) throw new Error(`binary COPY: jsonb version ${buf[p + 4]}, expected 1`);
  batch.snapshots.push(buf.toString('utf8', p + 5, p + 4 + jsonLength));
  const fields = buf.readInt16BE(at);
  if (fields === FIELDS) return;
  p += 4 + jsonLength;
  // bool: one byte; NULL (never, the column is NOT NULL) reads as not an insert, the safe answer.
  batch.inserted.push(buf.readInt32BE(p) === 1 && buf[p + 4] === 1);
  if (fields === FIELDS_WITH_OP) return;
  p += 4 + Math.max(buf.readInt32BE(p), 0);
  const slotLength = buf.readInt32BE(p);
  batch.previousSlots.push(slotLength < 0 ? null : buf.readBigInt64BE(p + 4));
  p += 4 + Math.max(slotLength, 0);
  const valuesLength = buf.readInt32BE(p);
  if (valuesLength >= 0 && buf[p + 4] !== 1) throw new Error(`binary COPY: jsonb version ${buf[p + 4]}, expected 1`);
  batch.previousValues.push(valuesLength < 0 ? null : buf.toString('utf8', p + 5, p + 4 + valuesLength));
}
