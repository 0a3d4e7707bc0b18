// Files tests make (schema definitions, downloaded lake objects) go under the run's scratch
// directory, which the global setup removes after the run, so test runs leave nothing behind.
import fs from 'node:fs/promises';
import path from 'node:path';
import { inject } from 'vitest';

/** A fresh directory under the test run's scratch directory. */
export async function scratchDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(inject('scratchDir'), prefix));
}
