// The aggregate cache (src/query/aggregate-cache.ts) switched off around some asks: what the tests
// compare a kept answer with, and what the benches time as a question asked once.

/** Runs `work` with `cache` keeping nothing (every ask read its own way), then restores what it kept. */
export async function withNothingKept<T>(cache: { entries: number }, work: () => Promise<T>): Promise<T> {
  const entries = cache.entries;
  cache.entries = 0;
  try {
    return await work();
  } finally {
    cache.entries = entries;
  }
}
