// The binary COPY reader: tuples split anywhere across network chunks, NULLs, large snapshots, batches.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BATCH_ROWS, readChangeBatches, type ChangeBatch } from '../../src/oltp/copy-binary.js';

interface Change {
  slot: bigint;
  schema: number;
  uuid: string;
  deleted: bigint | null;
  snapshot: string;
  /** The optional sixth field (`op = 'c'`), a bool; absent when undefined. */
  inserted?: boolean;
  /** The optional seventh and eighth fields (previous_slot, previous_values), after the sixth; absent when undefined. */
  previous?: { slot: bigint | null; values: string | null };
}

/** The bytes Postgres sends for `COPY (SELECT time_slot, schema_id, row_id, deleted_at, snapshot …) TO STDOUT (FORMAT binary)`. */
function copyBytes(changes: readonly Change[], headerExtension = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')];
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const field = (bytes: Buffer | null) => (bytes === null ? int32(-1) : Buffer.concat([int32(bytes.length), bytes]));
  const int8 = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    return b;
  };
  parts.push(int32(0), int32(headerExtension.length), headerExtension);
  for (const c of changes) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(c.inserted === undefined ? 5 : c.previous === undefined ? 6 : 8);
    const schema = Buffer.alloc(2);
    schema.writeInt16BE(c.schema);
    parts.push(
      count,
      field(int8(c.slot)),
      field(schema),
      field(Buffer.from(c.uuid.replaceAll('-', ''), 'hex')),
      field(c.deleted === null ? null : int8(c.deleted)),
      field(Buffer.concat([Buffer.from([1]), Buffer.from(c.snapshot, 'utf8')])),
      ...(c.inserted === undefined ? [] : [field(Buffer.from([c.inserted ? 1 : 0]))]),
      ...(c.previous === undefined
        ? []
        : [
            field(c.previous.slot === null ? null : int8(c.previous.slot)),
            field(c.previous.values === null ? null : Buffer.concat([Buffer.from([1]), Buffer.from(c.previous.values, 'utf8')])),
          ]),
    );
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

function uuidOf(n: bigint): string {
  const hex = n.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function readAll(chunks: Buffer[]): Promise<{ batches: ChangeBatch[]; changes: Change[] }> {
  const batches: ChangeBatch[] = [];
  for await (const batch of readChangeBatches(Readable.from(chunks))) batches.push(batch);
  const changes = batches.flatMap((b) =>
    b.timeSlots.map((slot, i) => ({ slot, schema: b.schemaIds[i]!, uuid: uuidOf(b.rowIds[i]!), deleted: b.deletedAt[i]!, snapshot: b.snapshots[i]! })),
  );
  return { batches, changes };
}

function splitEvery(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

const sample: Change[] = [
  { slot: 1n, schema: 2, uuid: 'ffffffff-ffff-7fff-bfff-ffffffffffff', deleted: null, snapshot: '{"s": "a\\r\\nb"}' },
  { slot: 9_223_372_036_854_775_807n, schema: 32_767, uuid: '00000000-0000-7000-8000-000000000001', deleted: 0n, snapshot: '{}' },
  { slot: 3n, schema: 1, uuid: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', deleted: 3n, snapshot: `{"s": "${'😀é'.repeat(5_000)}"}` },
];

describe('binary COPY reader', () => {
  it('reads every field, NULL deleted_at and multi-byte snapshots included', async () => {
    const { changes } = await readAll([copyBytes(sample)]);
    expect(changes).toEqual(sample);
  });

  it.each([1, 2, 3, 7, 19, 64, 1000, 65_536])('gives the same rows when the stream is split every %i bytes', async (size) => {
    const { changes } = await readAll(splitEvery(copyBytes(sample, Buffer.from('ext')), size));
    expect(changes).toEqual(sample);
  });

  it('yields batches of at most BATCH_ROWS rows, in order', async () => {
    const many = Array.from({ length: BATCH_ROWS * 2 + 5 }, (_, i) => ({
      slot: BigInt(i),
      schema: 1,
      uuid: uuidOf(BigInt(i) + (1n << 120n)),
      deleted: null,
      snapshot: `{"i": ${i}}`,
    }));
    const { batches, changes } = await readAll(splitEvery(copyBytes(many), 4096));
    expect(batches.map((b) => b.timeSlots.length)).toEqual([BATCH_ROWS, BATCH_ROWS, 5]);
    expect(changes).toEqual(many);
  });

  it('reads the optional insert flag, split anywhere, and leaves it empty without one', async () => {
    const flagged = sample.map((c, i) => ({ ...c, inserted: i !== 1 }));
    for (const size of [1, 5, 4096]) {
      const batches: ChangeBatch[] = [];
      for await (const batch of readChangeBatches(Readable.from(splitEvery(copyBytes(flagged), size)))) batches.push(batch);
      expect(batches.flatMap((b) => b.inserted)).toEqual([true, false, true]);
      expect((await readAll(splitEvery(copyBytes(flagged), size))).changes).toEqual(sample);
    }
    const plain = await readAll([copyBytes(sample)]);
    expect(plain.batches.flatMap((b) => b.inserted)).toEqual([]);
  });

  it('reads the previous version’s slot and values after the insert flag, NULLs included, split anywhere', async () => {
    const previous = [
      { slot: 7n, values: `{"s": "${'é'.repeat(300)}"}` },
      { slot: 8n, values: null },
      { slot: null, values: null },
    ];
    const withPrevious = sample.map((c, i) => ({ ...c, inserted: i === 2, previous: previous[i]! }));
    for (const size of [1, 3, 4096]) {
      const batches: ChangeBatch[] = [];
      for await (const batch of readChangeBatches(Readable.from(splitEvery(copyBytes(withPrevious), size)))) batches.push(batch);
      expect(batches.flatMap((b) => b.previousSlots)).toEqual(previous.map((p) => p.slot));
      expect(batches.flatMap((b) => b.previousValues)).toEqual(previous.map((p) => p.values));
      expect(batches.flatMap((b) => b.inserted)).toEqual([false, false, true]);
      expect((await readAll(splitEvery(copyBytes(withPrevious), size))).changes).toEqual(sample);
    }
    const flagged = await readAll([copyBytes(sample.map((c) => ({ ...c, inserted: false })))]);
    expect(flagged.batches.flatMap((b) => b.previousSlots)).toEqual([]);
  });

  it('reads an empty result', async () => {
    expect((await readAll([copyBytes([])])).changes).toEqual([]);
  });

  it('refuses a stream cut before its trailer', async () => {
    const bytes = copyBytes(sample);
    await expect(readAll([bytes.subarray(0, bytes.length - 2)])).rejects.toThrow(/before its trailer/);
  });
});
