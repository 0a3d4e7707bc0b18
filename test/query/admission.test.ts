// The admission gate on its own: slots, a bounded queue, a bounded wait, slots handed on in order.
import { describe, expect, it } from 'vitest';
import { BusyError } from '../../src/errors/index.js';
import { Admission } from '../../src/query/index.js';

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

describe('admission', () => {
  it('runs up to maxRunning at once, queues queueLength more in order, refuses the next', async () => {
    const admission = new Admission({ maxRunning: 2, queueLength: 1, queueWaitMs: 10_000 });
    const first = gate();
    const order: string[] = [];
    const a = admission.run(async () => { order.push('a'); await first.opened; });
    const b = admission.run(async () => { order.push('b'); await first.opened; });
    const c = admission.run(async () => { order.push('c'); });
    expect(admission.load).toEqual({ running: 2, waiting: 1 });
    await expect(admission.run(async () => 'd')).rejects.toThrow(BusyError);
    first.open();
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(admission.load).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses a search that waited queueWaitMs, and frees its place in the queue', async () => {
    const admission = new Admission({ maxRunning: 1, queueLength: 1, queueWaitMs: 50 });
    const held = gate();
    const running = admission.run(() => held.opened);
    await expect(admission.run(async () => 'late')).rejects.toThrow('within 50 ms (DUCKDB_QUEUE_WAIT_MS');
    expect(admission.load).toEqual({ running: 1, waiting: 0 });
    held.open();
    await running;
    expect(await admission.run(async () => 'next')).toBe('next');
  });

  it('a failing search gives its slot back', async () => {
    const admission = new Admission({ maxRunning: 1, queueLength: 0, queueWaitMs: 10 });
    await expect(admission.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await admission.run(async () => 1)).toBe(1);
  });
});
