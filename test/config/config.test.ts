import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, maskUrlPassword, maskUrlPasswords } from '../../src/config/index.js';

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('configuration', () => {
  it('defaults to the embedded setup with no environment at all', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe(path.resolve('.data'));
    expect(config.lakeUrl).toBe(`file://${path.resolve('.data', 'lake')}`);
    expect(config.flush).toEqual({ maxRows: 20_000, maxAgeMs: 3_600_000, checkIntervalMs: 1_000 });
    expect(config.compaction).toEqual({
      minDeltaFiles: 10,
      maxDeltaAgeMs: 86_400_000,
      dirtyRatio: 0.05,
      baseTargetBytes: 256 * 1024 * 1024,
      checkIntervalMs: 60_000,
    });
  });

  it('reads the compaction settings and rejects a dirty ratio outside 0..1', () => {
    expect(loadConfig({ COMPACT_DIRTY_RATIO: '0.2', COMPACT_BASE_TARGET_MB: '64' }).compaction).toMatchObject({ dirtyRatio: 0.2, baseTargetBytes: 64 * 1024 * 1024 });
    expect(() => loadConfig({ COMPACT_DIRTY_RATIO: '5' })).toThrow('COMPACT_DIRTY_RATIO="5": must be at most 1');
    expect(() => loadConfig({ COMPACT_MIN_DELTA_FILES: 'many' })).toThrow('COMPACT_MIN_DELTA_FILES="many": must be an integer');
  });

  it('reads the failure backoff, Postgres retries and the dead-job check, and refuses a cap below the base', () => {
    const defaults = loadConfig({});
    expect(defaults.backoff).toEqual({ baseMs: 1_000, maxMs: 300_000, jitter: 0.2 });
    expect(defaults.pgRetry.attempts).toBe(4);
    expect(defaults.jobCheckIntervalMs).toBe(30_000);
    expect(loadConfig({ WORKER_BACKOFF_BASE_MS: '500', WORKER_BACKOFF_MAX_MS: '2000', WORKER_BACKOFF_JITTER: '0', PG_RETRY_ATTEMPTS: '1' })).toMatchObject({
      backoff: { baseMs: 500, maxMs: 2_000, jitter: 0 },
      pgRetry: { attempts: 1 },
    });
    expect(() => loadConfig({ WORKER_BACKOFF_BASE_MS: '5000', WORKER_BACKOFF_MAX_MS: '1000' })).toThrow('WORKER_BACKOFF_MAX_MS=1000: must be at least WORKER_BACKOFF_BASE_MS=5000');
    expect(() => loadConfig({ WORKER_BACKOFF_JITTER: '2' })).toThrow('WORKER_BACKOFF_JITTER="2": must be at most 1');
  });

  it('reads the largest accepted value, 16 MiB by default, and bounds it', () => {
    expect(loadConfig({}).maxValueBytes).toBe(16 * 1024 * 1024);
    expect(loadConfig({ MAX_VALUE_BYTES: '4194304' }).maxValueBytes).toBe(4 * 1024 * 1024);
    expect(() => loadConfig({ MAX_VALUE_BYTES: '999999999' })).toThrow('MAX_VALUE_BYTES="999999999": must be at most 134217728');
  });

  it('names every invalid variable and what is wrong with it', () => {
    expect(() => loadConfig({ PORT: 'eighty', LAKE_URL: 'ftp://host/lake', DATABASE_URL: 'mysql://x' })).toThrow(
      /PORT="eighty".*\n.*DATABASE_URL="mysql:\/\/x": must be a postgres:\/\/ URL\n.*LAKE_URL="ftp:\/\/host\/lake": must start with file:\/\/ or s3:\/\//s,
    );
  });

  it('rejects a port out of range and a short admin token', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow('PORT="70000"');
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow('ADMIN_TOKEN (hidden, 5 characters): must be at least 8 characters');
  });

  it('never echoes a rejected ADMIN_TOKEN or AWS secret', () => {
    const message = messageOf(() => loadConfig({ ADMIN_TOKEN: 'sh0rt', AWS_SECRET_ACCESS_KEY: '', PORT: 'x' }));
    expect(message).toContain('ADMIN_TOKEN (hidden, 5 characters)');
    expect(message).not.toContain('sh0rt');
  });

  it('masks the password of an invalid DATABASE_URL', () => {
    const unparsable = messageOf(() => loadConfig({ DATABASE_URL: 'postgres://app:s3cr%t@db.internal:port/ltbase' }));
    expect(unparsable).toContain('DATABASE_URL="postgres://app:***@db.internal:port/ltbase": is not a valid URL');
    expect(unparsable).not.toContain('s3cr');
    const wrongScheme = messageOf(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter22@db/app' }));
    expect(wrongScheme).toContain('DATABASE_URL="mysql://root:***@db/app": must be a postgres:// URL');
    expect(wrongScheme).not.toContain('hunter22');
  });

  it('masks URL passwords in free text and leaves URLs without one alone', () => {
    expect(maskUrlPassword('postgres://user:pa:ss@host:5432/db')).toBe('postgres://user:***@host:5432/db');
    expect(maskUrlPassword('postgres://user@host/db')).toBe('postgres://user@host/db');
    expect(maskUrlPasswords('connect postgres://a:b@h/db failed; s3://x:y@bucket/p')).toBe('connect postgres://a:***@h/db failed; s3://x:***@bucket/p');
  });

  it('reads LOG_FORMAT: auto by default, json or pretty when set', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow('LOG_FORMAT="xml": must be auto, json or pretty');
  });

  it('rejects a default limit above the maximum', () => {
    expect(() => loadConfig({ QUERY_DEFAULT_LIMIT: '500', QUERY_MAX_LIMIT: '100' })).toThrow(
      'QUERY_DEFAULT_LIMIT=500: must not exceed QUERY_MAX_LIMIT=100',
    );
  });

  it('reads MAX_INSERT_OBJECTS (rows one write call may change): 50,000 by default, 1..1,000,000', () => {
    expect(loadConfig({}).maxInsertObjects).toBe(50_000);
    expect(loadConfig({ MAX_INSERT_OBJECTS: '200' }).maxInsertObjects).toBe(200);
    expect(() => loadConfig({ MAX_INSERT_OBJECTS: '0' })).toThrow('MAX_INSERT_OBJECTS');
    expect(() => loadConfig({ MAX_INSERT_OBJECTS: '2000000' })).toThrow('MAX_INSERT_OBJECTS');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).port).toBe(4000);
  });

  it('bounds a search by QUERY_TIMEOUT_MS and keeps ORPHAN_GRACE_MS above a floor and above twice the bound', () => {
    const defaults = loadConfig({});
    expect(defaults.query.timeoutMs).toBe(60_000);
    expect(defaults.orphanGraceMs).toBe(600_000);
    expect(loadConfig({ ORPHAN_GRACE_MS: '60000', QUERY_TIMEOUT_MS: '30000' }).orphanGraceMs).toBe(60_000);
    expect(() => loadConfig({ ORPHAN_GRACE_MS: '1000' })).toThrow(
      'ORPHAN_GRACE_MS="1000": must be at least 60000: replaced and orphaned lake files are deleted this long after',
    );
    expect(() => loadConfig({ ORPHAN_GRACE_MS: '0' })).toThrow('ORPHAN_GRACE_MS="0": must be at least 60000');
    expect(() => loadConfig({ ORPHAN_GRACE_MS: '100000', QUERY_TIMEOUT_MS: '60000' })).toThrow(
      'ORPHAN_GRACE_MS=100000: must be at least twice QUERY_TIMEOUT_MS=60000',
    );
    expect(() => loadConfig({ QUERY_TIMEOUT_MS: '10' })).toThrow('QUERY_TIMEOUT_MS="10": must be at least 100');
  });

  it('keeps AGGREGATE_CACHE_ENTRIES aggregate questions (64 by default, 0 keeps none) and refuses a negative or fractional count', () => {
    expect(loadConfig({}).query.aggregateCacheEntries).toBe(64);
    expect(loadConfig({ AGGREGATE_CACHE_ENTRIES: '0' }).query.aggregateCacheEntries).toBe(0);
    expect(() => loadConfig({ AGGREGATE_CACHE_ENTRIES: '-1' })).toThrow('AGGREGATE_CACHE_ENTRIES="-1": must be at least 0');
    expect(() => loadConfig({ AGGREGATE_CACHE_ENTRIES: '1.5' })).toThrow('AGGREGATE_CACHE_ENTRIES="1.5"');
  });
});
