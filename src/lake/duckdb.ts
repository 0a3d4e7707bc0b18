// The process's one DuckDB instance and a small pool of its connections.
import { createRequire } from 'node:module';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

// @duckdb/node-api decodes every VARCHAR with one shared default TextDecoder, which drops a leading
// U+FEFF: a string value starting with a byte order mark came back from a search without it (found
// by the differential test). Swap in a decoder that keeps it; the library reads the shared instance
// at each call, so this covers every result.
const accessors = createRequire(import.meta.url)('@duckdb/node-api/lib/vectors/dataAccessors.js') as { textDecoder: TextDecoder };
accessors.textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

export class DuckDb {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: ((connection: DuckDBConnection) => void)[] = [];
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    connections: DuckDBConnection[],
    /** Which optional extensions loaded from the local extension directory at start. */
    readonly extensions: DuckDbExtensions,
    private readonly observe?: (seconds: number) => void,
  ) {
    this.idle.push(...connections);
  }

  /** Two cores gave no speed-up beyond a couple of concurrent queries (FIELD-NOTES): keep the pool small. */
  static async open(
    options: {
      connections?: number;
      tempDir?: string;
      memoryLimit?: string;
      threads?: number;
      /** Told how long each `use` held its connection (the statement time metric). */
      observeStatement?: (seconds: number) => void;
    } = {},
  ): Promise<DuckDb> {
    // Never download an extension at run time (DESIGN 6: offline by default); one installed in the
    // local extension directory still loads. memory_limit bounds DuckDB's buffer manager (past it,
    // operators spill to temp_directory or fail with an out-of-memory error, not the process).
    const config: Record<string, string> = { threads: String(options.threads ?? 2), autoinstall_known_extensions: 'false' };
    if (options.tempDir) config.temp_directory = options.tempDir;
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    const instance = await DuckDBInstance.create(':memory:', config);
    const connections = await Promise.all(Array.from({ length: options.connections ?? 3 }, () => instance.connect()));
    // UTC so that time buckets and date casts do not depend on the machine's zone. (Not in the
    // creation config: the ICU extension that owns the setting loads only after creation.)
    await connections[0]!.run("SET GLOBAL TimeZone = 'UTC'");
    // Lake files are immutable (a new name per write; S3 copies are keyed by ETag), so their Parquet
    // footers can be cached and need no revalidation: measured ~5% off a search over 50 files.
    await connections[0]!.run('SET GLOBAL parquet_metadata_cache = true');
    await connections[0]!.run("SET GLOBAL validate_external_file_cache = 'NO_VALIDATION'");
    return new DuckDb(instance, connections, await probeExtensions(connections[0]!), options.observeStatement);
  }

  /** Runs `work` on a pooled connection, waiting for one when all are busy. */
  async use<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('DuckDB is closed');
    const connection = this.idle.pop() ?? (await new Promise<DuckDBConnection>((resolve) => this.waiting.push(resolve)));
    const started = performance.now();
    try {
      return await work(connection);
    } finally {
      this.observe?.((performance.now() - started) / 1000);
      const next = this.waiting.shift();
      if (next) next(connection);
      else this.idle.push(connection);
    }
  }

  close(): void {
    this.closed = true;
    for (const connection of this.idle) connection.closeSync();
    this.idle.length = 0;
    this.instance.closeSync();
  }
}

export interface DuckDbExtensions {
  /** `httpfs`: DuckDB could read s3:// itself. */
  httpfs: boolean;
  /** `postgres`: DuckDB could scan the change_log itself. */
  postgres: boolean;
}

/**
 * Tries to load the optional extensions from the local extension directory only (a failed LOAD
 * takes ~2 ms and no network). Neither is used yet: the read cache and the COPY of the buffer are
 * the paths this environment can run and test; the probe says what a future one could switch to.
 */
async function probeExtensions(connection: DuckDBConnection): Promise<DuckDbExtensions> {
  const loads = async (name: string) =>
    connection.run(`LOAD ${name}`).then(
      () => true,
      () => false,
    );
  return { httpfs: await loads('httpfs'), postgres: await loads('postgres') };
}

/** A path or other generated (never user-given) text as a DuckDB string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
