// A set-based write whose rows keep changing runs again a bounded number of times, then fails clearly.
import { describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../src/errors/index.js';
import { ATTEMPTS, withWriteRetries } from '../../src/graphql/set-writes.js';
import { StaleReadError } from '../../src/oltp/index.js';

describe('write retries', () => {
  it('runs again after a stale read or a deadlock, and returns the first success', async () => {
    let runs = 0;
    const failures = [new StaleReadError('row changed'), Object.assign(new Error('deadlock detected'), { code: '40P01' })];
    const result = await withWriteRetries('update_orders', async () => {
      const failure = failures[runs++];
      if (failure) throw failure;
      return 'done';
    });
    expect(result).toBe('done');
    expect(runs).toBe(3);
  });

  it(`gives up after ${ATTEMPTS} runs with a ConflictError naming the field`, async () => {
    let runs = 0;
    const attempt = withWriteRetries('update_orders', async () => {
      runs++;
      throw new StaleReadError('row changed');
    });
    await expect(attempt).rejects.toThrow(ConflictError);
    await expect(attempt).rejects.toThrow(`update_orders: the rows it matched kept changing under concurrent writes (${ATTEMPTS} attempts); nothing was written, retry the mutation`);
    expect(runs).toBe(ATTEMPTS);
  });

  it('does not run again after any other error (a bad value, a lost connection whose commit is unknown)', async () => {
    for (const error of [new ValidationError('bad'), Object.assign(new Error('Connection terminated'), { code: 'ECONNRESET' })]) {
      let runs = 0;
      await expect(
        withWriteRetries('update_orders', async () => {
          runs++;
          throw error;
        }),
      ).rejects.toBe(error);
      expect(runs).toBe(1);
    }
  });
});
