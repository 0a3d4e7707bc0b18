// The wait of a failing entity's work grows exponentially, stops at its cap, and jitter only shortens it.
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/workers/index.js';

describe('backoffDelay', () => {
  const settings = { baseMs: 1_000, maxMs: 60_000, jitter: 0.5 };
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [6, 32_000],
    [7, 60_000],
    [1_000, 60_000],
  ])('without jitter, failure %i waits %i ms (doubling, capped)', (failures, expected) => {
    expect(backoffDelay(failures, settings, () => 0)).toBe(expected);
  });

  it('jitter takes at most its share off the wait', () => {
    expect(backoffDelay(3, settings, () => 1)).toBe(2_000);
    expect(backoffDelay(3, settings, () => 0.5)).toBe(3_000);
    expect(backoffDelay(50, { ...settings, jitter: 0 }, () => 1)).toBe(60_000);
  });
});
