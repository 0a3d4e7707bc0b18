// The process bounds of issue 11 are read from the environment, with defaults, and checked.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';

describe('configuration of the process bounds', () => {
  it('defaults to 100,000 rows and 32 MiB per request, a 4 MiB document cache, DuckDB 2GB, 2 threads and 512 MiB of file tables', () => {
    const config = loadConfig({});
    expect(config.request).toEqual({ maxRows: 100_000, maxResponseBytes: 32 * 1024 * 1024 });
    expect(config.documentCache).toEqual({ maxBytes: 4 * 1024 * 1024, maxDocumentBytes: 64 * 1024 });
    const cores = os.availableParallelism();
    expect(config.duckdb).toEqual({ memoryLimit: '2GB', threads: cores, maxQueries: Math.max(2, cores), queueLength: 16, queueWaitMs: 10_000, fileTablesBytes: 512 * 1024 * 1024 });
  });

  it('reads each variable', () => {
    const config = loadConfig({
      MAX_ROWS_PER_REQUEST: '5000',
      MAX_RESPONSE_BYTES: '1048576',
      DOCUMENT_CACHE_BYTES: '0',
      DOCUMENT_CACHE_MAX_DOCUMENT_BYTES: '1024',
      DUCKDB_MEMORY_LIMIT: '512MB',
      DUCKDB_THREADS: '1',
      DUCKDB_MAX_QUERIES: '4',
      DUCKDB_QUEUE_LENGTH: '0',
      DUCKDB_QUEUE_WAIT_MS: '250',
      DUCKDB_FILE_TABLES_BYTES: '0',
    });
    expect(config.request).toEqual({ maxRows: 5_000, maxResponseBytes: 1_048_576 });
    expect(config.documentCache).toEqual({ maxBytes: 0, maxDocumentBytes: 1_024 });
    expect(config.duckdb).toEqual({ memoryLimit: '512MB', threads: 1, maxQueries: 4, queueLength: 0, queueWaitMs: 250, fileTablesBytes: 0 });
  });

  it('refuses invalid values, naming the variable', () => {
    expect(() => loadConfig({ MAX_ROWS_PER_REQUEST: '0' })).toThrow('MAX_ROWS_PER_REQUEST="0": must be at least 1');
    expect(() => loadConfig({ MAX_RESPONSE_BYTES: 'lots' })).toThrow('MAX_RESPONSE_BYTES="lots": must be an integer');
    expect(() => loadConfig({ DUCKDB_MEMORY_LIMIT: 'half' })).toThrow('DUCKDB_MEMORY_LIMIT="half": must be a size such as 512MB or 2GB');
    expect(() => loadConfig({ DUCKDB_THREADS: '0' })).toThrow('DUCKDB_THREADS="0": must be at least 1');
    expect(() => loadConfig({ DUCKDB_MAX_QUERIES: '-1' })).toThrow('DUCKDB_MAX_QUERIES="-1": must be at least 1');
    expect(() => loadConfig({ DUCKDB_QUEUE_WAIT_MS: '1.5' })).toThrow('DUCKDB_QUEUE_WAIT_MS="1.5": must be an integer');
    expect(() => loadConfig({ DUCKDB_FILE_TABLES_BYTES: '-1' })).toThrow('DUCKDB_FILE_TABLES_BYTES="-1": must be at least 0');
  });
});
