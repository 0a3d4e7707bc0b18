// Prometheus metrics of one gateway process: one registry made at start and passed down (STYLE 5),
// instruments named in the product's words; every room reports through the small observer types here.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** An entity as a metric names it: entity names are unique within a project only. */
export interface JobEntity {
  project: string;
  name: string;
}

/** What the flush and compaction steps report when a job ends (DESIGN: jobs table rows). */
export interface LakeJobObserver {
  finished(kind: 'flush' | 'compact', entity: JobEntity, outcome: { durationMs: number; bytes: number; rows: number }): void;
  failed(kind: 'flush' | 'compact' | 'gc', entity: JobEntity | null): void;
}

/** Buffered rows and oldest buffered age of one entity, read on each scrape. */
export interface BufferGaugeSample {
  project: string;
  entity: string;
  rows: number;
  oldestAgeSeconds: number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** GraphQL request time by operation type and (bounded) operation name. */
  observeRequest(operationType: string, operationName: string, seconds: number): void;
  /** Time one unit of DuckDB work held a pooled connection (one statement, mostly). */
  observeDuckDb(seconds: number): void;
  readonly jobs: LakeJobObserver;
  readonly cache: { hit(): void; miss(): void };
  /** Sets where the buffer gauges come from (the lakehouse, once its pool is open). */
  watchBuffers(read: () => Promise<BufferGaugeSample[]>): void;
  /** The text a Prometheus scrape gets. */
  scrape(): Promise<string>;
}

/** Operation names are the client's text: past this many distinct ones, the rest count as "other". */
const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const JOB_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

export function createMetrics(options: { processMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requests = new Histogram({
    name: 'ltbase_graphql_request_duration_seconds',
    help: 'GraphQL request time, from the request to the response, by operation',
    labelNames: ['operation_type', 'operation_name'] as const,
    buckets: SECONDS,
    registers,
  });
  const duckdb = new Histogram({
    name: 'ltbase_duckdb_statement_duration_seconds',
    help: 'Time a unit of DuckDB work (mostly one statement) held a pooled connection',
    buckets: SECONDS,
    registers,
  });
  const jobSeconds = new Histogram({
    name: 'ltbase_lake_job_duration_seconds',
    help: 'Duration of flushes and compactions that wrote files',
    labelNames: ['kind', 'project', 'entity'] as const,
    buckets: JOB_SECONDS,
    registers,
  });
  const jobBytes = new Counter({
    name: 'ltbase_lake_job_bytes_total',
    help: 'Bytes of the lake files flushes and compactions wrote',
    labelNames: ['kind', 'project', 'entity'] as const,
    registers,
  });
  const jobRows = new Counter({
    name: 'ltbase_lake_job_rows_total',
    help: 'Rows flushes and compactions wrote',
    labelNames: ['kind', 'project', 'entity'] as const,
    registers,
  });
  const jobsFailed = new Counter({
    name: 'ltbase_lake_jobs_failed_total',
    help: 'Flush, compaction and garbage-collection jobs that failed',
    labelNames: ['kind', 'project', 'entity'] as const,
    registers,
  });
  const cacheHits = new Counter({ name: 'ltbase_lake_cache_hits_total', help: 'Lake file reads served by the local read cache', registers });
  const cacheMisses = new Counter({ name: 'ltbase_lake_cache_misses_total', help: 'Lake file reads that downloaded the object', registers });

  let readBuffers: (() => Promise<BufferGaugeSample[]>) | undefined;
  let samples: Promise<BufferGaugeSample[]> | undefined;
  // A scrape collects all metrics at once, so both gauges' collect() start before the read ends and
  // share it: one query per scrape.
  const bufferSamples = () =>
    (samples ??= (readBuffers?.() ?? Promise.resolve([])).finally(() => {
      samples = undefined;
    }));
  new Gauge({
    name: 'ltbase_buffer_rows',
    help: 'Changes buffered in change_log, not yet flushed, per entity',
    labelNames: ['project', 'entity'] as const,
    registers,
    async collect() {
      this.reset();
      for (const s of await bufferSamples()) this.set({ project: s.project, entity: s.entity }, s.rows);
    },
  });
  new Gauge({
    name: 'ltbase_buffer_oldest_age_seconds',
    help: 'Age of the oldest buffered change per entity (0 when none is buffered)',
    labelNames: ['project', 'entity'] as const,
    registers,
    async collect() {
      this.reset();
      for (const s of await bufferSamples()) this.set({ project: s.project, entity: s.entity }, s.oldestAgeSeconds);
    },
  });

  const names = new Set<string>();
  const boundedName = (name: string) => {
    if (name === '') return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'invalid';
    if (names.has(name)) return name;
    if (names.size >= MAX_OPERATION_NAMES) return 'other';
    names.add(name);
    return name;
  };

  return {
    registry,
    contentType: registry.contentType,
    observeRequest(operationType, operationName, seconds) {
      requests.observe({ operation_type: operationType, operation_name: boundedName(operationName) }, seconds);
    },
    observeDuckDb(seconds) {
      duckdb.observe(seconds);
    },
    jobs: {
      finished(kind, entity, outcome) {
        const labels = { kind, project: entity.project, entity: entity.name };
        jobSeconds.observe(labels, outcome.durationMs / 1000);
        jobBytes.inc(labels, outcome.bytes);
        jobRows.inc(labels, outcome.rows);
      },
      failed(kind, entity) {
        jobsFailed.inc({ kind, project: entity?.project ?? '', entity: entity?.name ?? '' });
      },
    },
    cache: { hit: () => cacheHits.inc(), miss: () => cacheMisses.inc() },
    watchBuffers(read) {
      readBuffers = read;
    },
    scrape: () => registry.metrics(),
  };
}
