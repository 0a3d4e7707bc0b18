// Smart-flush triggers (SPEC 3.2): flush a schema when its buffer is large or its oldest row is old.
import type { BufferStats } from '../oltp/index.js';

export interface FlushThresholds {
  /** Flush when more rows than this are buffered. */
  maxRows: number;
  /** Flush when the oldest buffered row is older than this (ms). */
  maxAgeMs: number;
}

export interface FlushDecision {
  flush: boolean;
  reason: string;
}

export function flushDecision(stats: BufferStats, nowMs: number, thresholds: FlushThresholds, force = false): FlushDecision {
  if (stats.rows === 0 || stats.oldestSlot === null) return { flush: false, reason: 'the buffer is empty' };
  if (force) return { flush: true, reason: `forced (${stats.rows} rows buffered)` };
  if (stats.rows > thresholds.maxRows) {
    return { flush: true, reason: `${stats.rows} rows buffered, more than ${thresholds.maxRows}` };
  }
  // time_slot is the commit's wall-clock ms (or just past it), so it dates the oldest change.
  const ageMs = nowMs - Number(stats.oldestSlot);
  if (ageMs > thresholds.maxAgeMs) {
    return { flush: true, reason: `oldest buffered change is ${Math.round(ageMs / 1000)} s old, more than ${Math.round(thresholds.maxAgeMs / 1000)} s` };
  }
  return {
    flush: false,
    reason: `below thresholds: ${stats.rows} of ${thresholds.maxRows} rows, oldest ${Math.round(ageMs / 1000)} of ${Math.round(thresholds.maxAgeMs / 1000)} s`,
  };
}
