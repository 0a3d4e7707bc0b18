// How long a failing entity's background work waits before its next attempt: exponential, capped, jittered.

export interface BackoffSettings {
  /** Wait after the first failure. */
  baseMs: number;
  /** The wait never grows past this. */
  maxMs: number;
  /** Share of the wait taken off at random (0 none, 1 anything down to zero), so replicas do not retry in step. */
  jitter: number;
}

/** The wait after the `failures`-th consecutive failure (1 for the first). */
export function backoffDelay(failures: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, failures - 1), 52); // 2 ** 53 would lose integer precision
  const capped = Math.min(settings.maxMs, settings.baseMs * 2 ** exponent);
  return Math.round(capped * (1 - settings.jitter * random()));
}
