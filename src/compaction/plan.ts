// What a compaction of one entity would work on, and whether it is due (SPEC 5.1).
import { isPresentBaseKey, type ManifestFile } from '../lake/index.js';

export interface CompactionSettings {
  /** Compact once an entity has this many delta files flushed since its last compaction. */
  minDeltaFiles: number;
  /** ... or once the oldest of them is this old (SPEC 5: a daily worker). */
  maxDeltaAgeMs: number;
  /** A historical base file is rewritten once more than this share of its rows changed (SPEC: 5%). */
  dirtyRatio: number;
  /** A present file larger than this becomes a fixed-range historical base file (SPEC: 256 MB). */
  baseTargetBytes: number;
  /** A rolled-over present file is never split into files of fewer rows (default: one row group). */
  minBaseFileRows?: number;
}

export interface LakeFileSets {
  /** Base files new row_ids are appended to (one, normally). */
  present: ManifestFile[];
  /** Base files covering fixed row_id ranges, by range. */
  historical: ManifestFile[];
  /** Delta files: level 0 from flushes, level 1 the updates a compaction kept out of historical files. */
  deltas: ManifestFile[];
}

export function classifyFiles(files: readonly ManifestFile[]): LakeFileSets {
  const base = files.filter((f) => f.kind === 'base');
  return {
    present: base.filter((f) => isPresentBaseKey(f.path)),
    historical: base.filter((f) => !isPresentBaseKey(f.path)).sort((a, b) => (a.rowIdMin < b.rowIdMin ? -1 : 1)),
    deltas: files.filter((f) => f.kind === 'delta'),
  };
}

export interface CompactDecision {
  compact: boolean;
  reason: string;
}

export function compactDecision(sets: LakeFileSets, now: number, settings: CompactionSettings, force = false): CompactDecision {
  if (sets.deltas.length === 0) return { compact: false, reason: 'no delta files' };
  if (force) return { compact: true, reason: 'forced' };
  const flushed = sets.deltas.filter((f) => f.level === 0);
  if (flushed.length === 0) return { compact: false, reason: 'nothing flushed since the last compaction' };
  if (flushed.length >= settings.minDeltaFiles) {
    return { compact: true, reason: `${flushed.length} delta files (COMPACT_MIN_DELTA_FILES is ${settings.minDeltaFiles})` };
  }
  const oldest = Math.min(...flushed.map((f) => f.addedAt.getTime()));
  if (now - oldest >= settings.maxDeltaAgeMs) {
    return { compact: true, reason: `oldest delta file is ${Math.round((now - oldest) / 1000)} s old (COMPACT_MAX_DELTA_AGE_MS is ${settings.maxDeltaAgeMs})` };
  }
  return { compact: false, reason: `${flushed.length} delta files, the oldest ${Math.round((now - oldest) / 1000)} s old: below the thresholds` };
}
