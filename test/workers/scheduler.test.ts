// A scheduled task that keeps failing is logged when it starts failing and when it works again, not every run.
import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, it } from 'vitest';
import { createScheduler } from '../../src/workers/index.js';

it('a failing task logs one error, its repeats at debug, and one line when it works again', async () => {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  const scheduler = createScheduler(pino({ level: 'debug' }, sink));
  let runs = 0;
  scheduler.every('flush', 5, async () => {
    runs++;
    if (runs <= 8) throw new Error('Postgres is restarting');
  });
  await expect.poll(() => runs, { timeout: 5_000 }).toBeGreaterThanOrEqual(12);
  await scheduler.stop();
  await new Promise((resolve) => setImmediate(resolve));
  expect(lines.filter((l) => l.level >= 30).map((l) => l.msg)).toEqual(['flush failed (logged again when it works)', 'flush works again after 8 failed runs']);
  expect(lines.filter((l) => l.msg === 'flush failed again')).toHaveLength(7);
});
