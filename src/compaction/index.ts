// Public face of compaction: (so far) garbage collection of orphaned lake files.
export { collectOrphans, type GcResult } from './gc.js';
