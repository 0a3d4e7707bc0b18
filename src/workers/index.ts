// Public face of the workers room: the in-process scheduler and per-entity work with backoff.
export { backoffDelay, type BackoffSettings } from './backoff.js';
export { EntityWork, type EntityFailure, type EntityRef } from './entity-work.js';
export { createScheduler, type Scheduler } from './scheduler.js';
