// Public face of compaction: merging delta files into base files (SPEC 5), and garbage collection.
export { compactSchema, outputAttributes, type CompactDeps, type CompactFaults, type CompactOutcome, type CompactedFile } from './compact.js';
export { collectOrphans, collectRemoved, type GcResult } from './gc.js';
export { classifyFiles, compactDecision, type CompactDecision, type CompactionSettings, type LakeFileSets } from './plan.js';
export { schemasDueForCompaction } from './worker.js';
export { rebuildSchema, type RebuildOutcome } from './rebuild.js';
