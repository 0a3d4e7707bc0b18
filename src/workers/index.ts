// Public face of the workers room: the in-process scheduler.
export { createScheduler, type Scheduler } from './scheduler.js';
