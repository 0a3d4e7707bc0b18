// Public face of ingestion: smart flush triggers, one flush, and the worker's tick.
export { flushSchema, type FlushDeps, type FlushFaults, type FlushOutcome } from './flush.js';
export { flushDecision, type FlushDecision, type FlushThresholds } from './triggers.js';
export { schemasDueForFlush } from './worker.js';
