// A failing entity's background work backs off and does not hold up the others; the log says when it
// starts failing and when it works again, not every attempt.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EntityWork } from '../../src/workers/index.js';

function recordingLog() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines, flushed: () => new Promise((resolve) => setImmediate(resolve)) };
}

const broken = { project: 'demo', id: 1, name: 'customers' };
const healthy = { project: 'demo', id: 2, name: 'orders' };

describe('EntityWork', () => {
  it('a failing entity waits out its backoff while another entity keeps running every time', async () => {
    const { log } = recordingLog();
    const work = new EntityWork('flush', log, { baseMs: 10_000, maxMs: 60_000, jitter: 0 });
    const runs: string[] = [];
    const run = async (entity: typeof broken) => {
      runs.push(entity.name);
      if (entity === broken) throw new Error('S3 is down');
    };
    let now = Date.now();
    for (let tick = 0; tick < 5; tick++) {
      work.offer([broken, healthy], run, now);
      await work.idle();
      now += 1_000; // five ticks a second apart: well inside the first 10 s backoff
    }
    expect(runs.filter((n) => n === 'customers')).toHaveLength(1);
    expect(runs.filter((n) => n === 'orders')).toHaveLength(5);
    const failure = work.failure(broken)!;
    expect(failure).toMatchObject({ failures: 1, lastError: 'S3 is down' });
    expect(failure.retryAt.getTime() - failure.lastErrorAt.getTime()).toBe(10_000);
    expect(work.failure(healthy)).toBeNull();

    // Past the backoff it is tried again; a second failure doubles the wait.
    work.offer([broken], run, failure.retryAt.getTime() + 1);
    await work.idle();
    const second = work.failure(broken)!;
    expect(second.failures).toBe(2);
    expect(second.retryAt.getTime() - second.lastErrorAt.getTime()).toBe(20_000);
  });

  it('a run that hangs does not delay another entity', async () => {
    const { log } = recordingLog();
    const work = new EntityWork('compaction', log, { baseMs: 1_000, maxMs: 1_000, jitter: 0 });
    let release!: () => void;
    const hanging = new Promise<void>((resolve) => (release = resolve));
    const finished: string[] = [];
    work.offer([broken, healthy], async (entity) => {
      if (entity === broken) await hanging;
      finished.push(entity.name);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(finished).toEqual(['orders']);
    release();
    await work.idle();
    expect(finished).toEqual(['orders', 'customers']);
  });

  it('at its concurrency bound, the entities that ran least recently go first, so none starves', async () => {
    const { log } = recordingLog();
    const work = new EntityWork('flush', log, { baseMs: 1_000, maxMs: 1_000, jitter: 0 }, 2);
    const third = { project: 'demo', id: 3, name: 'invoices' };
    const ran: string[] = [];
    for (let tick = 0; tick < 3; tick++) {
      work.offer([broken, healthy, third], async (entity) => void ran.push(entity.name));
      await work.idle();
    }
    expect(ran).toEqual(['customers', 'orders', 'invoices', 'customers', 'orders', 'invoices']);
  });

  it('logs an error when an entity starts failing and an info line when it works again, not once per attempt', async () => {
    const { log, lines, flushed } = recordingLog();
    const work = new EntityWork('flush', log, { baseMs: 1, maxMs: 1, jitter: 0 });
    let failing = true;
    const run = async () => {
      if (failing) throw new Error('connection refused');
    };
    for (let attempt = 0; attempt < 10; attempt++) {
      work.offer([broken], run, Date.now() + 10 * attempt + 10);
      await work.idle();
    }
    failing = false;
    work.offer([broken], run, Date.now() + 1_000);
    await work.idle();
    await flushed();
    const loud = lines.filter((l) => l.level >= 30);
    expect(loud.map((l) => l.msg)).toEqual([
      'flush of customers failed; retrying with backoff (logged again when it works)',
      'flush of customers works again after 10 failed attempts',
    ]);
    expect(lines.filter((l) => l.msg === 'flush of customers failed again')).toHaveLength(9);
    expect(work.failure(broken)).toBeNull();
  });
});
