// Transient Postgres errors are retried with backoff; anything else fails at once.
import { describe, expect, it } from 'vitest';
import { isTransientPgError, retryTransient } from '../../src/oltp/index.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isTransientPgError', () => {
  it.each([
    ['serialization failure', pgError('40001'), true],
    ['deadlock', pgError('40P01'), true],
    ['terminated by an administrator', pgError('57P01', 'terminating connection due to administrator command'), true],
    ['connection exception class 08', pgError('08006'), true],
    ['connection reset', pgError('ECONNRESET'), true],
    ['connection closed under node-postgres', new Error('Connection terminated unexpectedly'), true],
    ['wrapped in another error', new Error('flush failed', { cause: pgError('40P01') }), true],
    ['unique violation', pgError('23505'), false],
    ['syntax error', pgError('42601'), false],
    ['a plain error', new Error('S3 upload failed'), false],
  ])('%s: %s', (_name, error, transient) => {
    expect(isTransientPgError(error)).toBe(transient);
  });
});

describe('retryTransient', () => {
  it('runs again after transient errors until the work succeeds', async () => {
    let calls = 0;
    const result = await retryTransient(
      async () => {
        calls++;
        if (calls < 3) throw pgError('40001');
        return 'done';
      },
      { attempts: 4, baseMs: 1 },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('gives up after its attempts and does not retry other errors', async () => {
    const failing = (code: string) => {
      let calls = 0;
      const work = async (): Promise<never> => {
        calls++;
        throw pgError(code);
      };
      return { work, calls: () => calls };
    };
    const lost = failing('57P01');
    await expect(retryTransient(lost.work, { attempts: 3, baseMs: 1 })).rejects.toThrow();
    expect(lost.calls()).toBe(3);
    const duplicate = failing('23505');
    await expect(retryTransient(duplicate.work, { attempts: 3, baseMs: 1 })).rejects.toThrow();
    expect(duplicate.calls()).toBe(1);
  });
});
