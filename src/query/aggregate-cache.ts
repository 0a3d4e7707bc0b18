// A dashboard asks the same aggregate again and again while a few rows change. Its groups' partial
// figures (row count, and per sum or avg the non-NULL count and the sum) are kept in a small DuckDB
// table per question, exact for one state of the entity: its listed files and a buffer slot. The
// next ask over the same files and a later slot corrects them by the rows changed in between,
// instead of reading every row again:
//
//   partials(later) = partials(earlier) - partials(earlier state, changed rows) + partials(later state, changed rows)
//
// Rows that did not change have the same version in both states, so this is exact. The changed rows
// are those with a buffered version in (earlier slot, later slot], read from the hot mirror: their
// earlier version is in the buffer too or in a lake file, whose row_id range the view prunes by
// (a new row is in none; a row of the latest files is in small ones), and within a file its row
// groups by the row key (row-lookup.ts). A flush or compaction lists other files: the next ask
// reads every row again, once.
//
// A correction by a few rows whose earlier versions are all buffered (a dashboard's new and recent
// rows) is part of the answer's own statement, and the kept partials stay as they were: the next
// ask corrects by every row changed since them, still few and buffered. Past MAX_INLINE_CORRECTED_ROWS,
// or with a row whose earlier version is in a lake file, the corrected partials are written to a
// table and kept. A dashboard asked after 10 writes each time (1M orders, 60 asks alternating): 18.1
// against 22.1 ms with every correction written, a statement less per ask.
//
// Which questions: figures count, sum, avg, min and max, with a filter of the entity's own fields
// (one through a ref would change with the referenced rows, which the corrections do not see). Keys
// through a ref ("revenue by the customer's tier") are kept by the ref's own value (`customer`) and
// joined to the referenced rows as the snapshot has them at each ask, then grouped again
// (partials.ts, regroupedSql): a change of a customer's tier moves its figures at the next ask.
// Nested aggregates of a batch of parents are kept for every parent, grouped by the ref to it.
//
// Sums of ints are HUGEINT, exact under subtraction. Sums of floats are not: each keeps the sum of
// the magnitudes it holds and of those it ever took in; past four times the first, rounding could
// exceed a direct sum's, and the ask is read in full. A sum that is not finite is never kept (runAggregate then takes the guarded path).
// A min (max) survives a correction while no row taken away held a value at or below (above) it;
// else the group's extreme is unknown, and the ask is read in full.
//
// The same partials answer a reverse relation's filter (kept-parents.ts): the referencing rows that
// match, counted per ref value, name the parents; a search reads them as a relation (`parents`).
//
// Every question is kept from its second ask on: the first is only noted and read its own way
// (by subtraction or directly), since reading the partials and keeping them costs more than that
// (1M orders: the group-by month 80-112 ms against 72 ms; a reverse filter 55 against 49 ms), and
// a question asked once would only pay.
import { quoteIdent } from '../catalog/index.js';
import type { DuckDb } from '../lake/index.js';
import type { AggregatePlan } from './aggregate-plan.js';
import { keyColumn } from './compile-aggregate.js';
import { changesSince, correctedSql } from './correction.js';
import { Params } from './duckdb-sql.js';
import type { ResultRows, SnapshotReader } from './engine.js';
import { answerSql, batchAnswerSql, COUNT, GROUPS, keptPlan, partialSql, regroupedSql, UNSAFE, unsafeSql } from './partials.js';
import type { EntityTiers } from './tiers.js';

/**
 * At most this many changed rows, all of them with their earlier version in the buffer (or new),
 * and the answer's own statement corrects the kept partials, which stay as they are: no table of
 * corrected ones is written. Each such ask corrects by every row changed since the kept state
 * (cheap: they are buffered); past this, or with a row whose earlier version is in a lake file (a
 * lookup to do once), the corrected partials are written and kept.
 */
export const MAX_INLINE_CORRECTED_ROWS = 256;
/** Partials of more groups than this are used for their answer and not kept (memory per question). */
export const MAX_KEPT_GROUPS = 10_000;
/**
 * Partials grouped by a ref's value (a reverse relation's parents, keys through a ref, nested
 * figures per parent): at most this many groups are kept (up to ~60 MB in DuckDB); they are as many
 * as the parents (1M customers at the lab's scale 10), more than a question's own groups.
 */
export const MAX_KEPT_REF_GROUPS = 1_000_000;

/**
 * All kept partials together: at most this many rows (of ~60 bytes: ~120 MB), the least recently
 * asked going first; the newest are kept whatever their size (up to MAX_KEPT_REF_GROUPS).
 */
export const MAX_KEPT_ROWS = 2_000_000;

/** What an ask answers from: kept or just read partials, or kept ones corrected in the answer's own statement (`inline`). */
interface Source {
  partials: KeptPartials;
  /** Every row read for this ask: not trusted, nothing is left to read again. */
  fresh: boolean;
  /** The corrected partials as a relation of the statement `params` belong to. */
  inline?: (params: Params) => string;
}

interface KeptPartials {
  table: string;
  /** The listed files it is exact for. */
  files: string;
  /** The buffer slot it is exact for; null: an empty buffer (the files' newest slot). */
  upTo: bigint | null;
  /** Its rows (groups). */
  groups: number;
  /** Asks reading the table now: it is dropped once none is and it is no longer kept. */
  users: number;
  kept: boolean;
}

export interface AggregateCacheStats {
  /** Asks answered from kept partials as they were (no row changed since). */
  hits: number;
  /** Asks answered from kept partials corrected by the rows changed since. */
  corrections: number;
  /** Of the corrections, those made in the answer's own statement (the kept partials stay as they were). */
  inline: number;
  /** Asks that read every row (nothing kept for the question and these files, or too many changes). */
  full: number;
  /**
   * Partials not trusted: a min or max gone stale, a float sum past its churn bound (then read again
   * in full, counted in `full`), or not finite (then not kept: the caller reads the guarded way).
   */
  refused: number;
}

/** The state kept partials are exact for: the listed files, and the buffer slot (null: an empty buffer). */
function stateOf(tiers: EntityTiers): { files: string; upTo: bigint | null } {
  return { files: tiers.files.map((f) => f.fileId.toString()).join(','), upTo: tiers.hot?.upTo ?? null };
}

/** Partials an ask reads, each held once until the ask releases them all. */
class Held {
  private readonly partials: KeptPartials[] = [];
  private released = false;
  constructor(private readonly cache: AggregateCache) {}

  add(partials: KeptPartials): KeptPartials {
    if (!this.partials.includes(partials)) {
      this.partials.push(partials);
      partials.users++;
    }
    return partials;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const partials of this.partials) this.cache.unhold(partials);
  }
}

export class AggregateCache {
  /** Per question, least recently asked first. */
  private readonly kept = new Map<string, KeptPartials>();
  /** Questions asked once and not kept (askedBefore: the second ask keeps), or with too many groups to keep. */
  private readonly asked = new Map<string, 'once' | 'too many'>();
  private sequence = 0;
  readonly stats: AggregateCacheStats = { hits: 0, corrections: 0, inline: 0, full: 0, refused: 0 };

  /**
   * At most `entries` questions are kept (least recently asked go first); 0: answer() is not asked.
   * Their partials hold at most `maxRows` rows together (the newest question's are kept whatever their size).
   */
  constructor(
    private readonly duck: DuckDb,
    public entries: number,
    public maxRows = MAX_KEPT_ROWS,
    /** Changed rows a correction leaves to the answer's statement at most (MAX_INLINE_CORRECTED_ROWS; tests lower it). */
    public inlineRows = MAX_INLINE_CORRECTED_ROWS,
  ) {}

  /**
   * The plan's groups, as compileAggregate's statement gives them, from kept partials where this
   * snapshot's files are theirs (see the header). Null when a float sum is not finite: the caller
   * asks the guarded way.
   */
  async answer(plan: AggregatePlan, reader: SnapshotReader): Promise<ResultRows | null> {
    const kept = keptPlan(plan);
    const question = this.questionKey(kept);
    const held = new Held(this);
    try {
      let { partials, fresh, inline } = await this.current(kept, reader, question, held, true);
      for (;;) {
        const params = new Params();
        const table = inline ? inline(params) : partials.table;
        const sql = plan.parents
          ? batchAnswerSql(plan, table, params)
          : answerSql(plan, kept === plan ? table : `${regroupedSql(plan, table, reader.view, params)} AS regrouped`, params);
        const rows = await reader.run({ sql, params: params.values, types: params.types });
        const { trusted, small } = await this.inspect(plan, kept, reader, { partials, inline }, rows);
        if (trusted) {
          // Too many groups to keep: this answer is right; the question is read its own way from now on.
          if (small) this.keep(question, partials);
          else this.tooMany(question);
          return rows;
        }
        this.stats.refused++;
        this.forget(question);
        // Kept or corrected partials not trusted: read every row. Read so and still not trusted:
        // a float sum is not finite, which the caller's guarded statement answers.
        if (fresh) return null;
        partials = held.add(await this.readAll(kept, reader));
        fresh = true;
        inline = undefined;
      }
    } finally {
      held.release();
    }
  }

  /**
   * Whether `answer` should take the plan: from its second ask on (see the header); of a batch of
   * parents, whichever parents the batches name.
   */
  admits(plan: AggregatePlan): boolean {
    return this.askedBefore(this.questionKey(keptPlan(plan)));
  }

  /**
   * The parents a reverse relation's filter matches, kept (see the header): a relation of
   * `parent` and `value`, the count of its matching rows, exact for this snapshot, held until
   * `release()`. Null where a statement of its own is the better answer: a question not asked
   * before (see the header), or one with more parents than MAX_KEPT_REF_GROUPS.
   */
  async parents(plan: AggregatePlan, reader: SnapshotReader): Promise<{ relation: string; release(): void } | null> {
    const [key] = plan.groupBy;
    if (plan.groupBy.length !== 1 || key!.through || plan.measures.length !== 1 || plan.measures[0]!.fn !== 'count') {
      throw new Error('kept parents need a plan of one own key and a count');
    }
    const question = this.questionKey(plan);
    if (!this.askedBefore(question)) return null;
    const held = new Held(this);
    try {
      const { partials } = await this.current(plan, reader, question, held);
      if (partials.groups <= MAX_KEPT_REF_GROUPS) this.keep(question, partials);
      else this.tooMany(question);
      const column = quoteIdent(keyColumn(key!));
      return {
        relation: `(SELECT ${column} AS parent, ${COUNT} AS value FROM ${partials.table} WHERE ${column} IS NOT NULL AND ${COUNT} > 0)`,
        release: () => held.release(),
      };
    } catch (error) {
      held.release();
      throw error;
    }
  }

  /**
   * Partials exact for this snapshot: kept ones as they are or corrected, else every row read
   * (`fresh`). `inline`: a correction by a few buffered rows may be left to the answer's statement.
   */
  private async current(plan: AggregatePlan, reader: SnapshotReader, question: string, held: Held, inline = false): Promise<Source> {
    const tiers = reader.tiers(plan.entity);
    const { files, upTo } = stateOf(tiers);
    const found = this.kept.get(question);
    const before = found && found.files === files && (found.upTo === upTo || (upTo !== null && (found.upTo === null || found.upTo < upTo))) ? found : null;
    let source: Source | null = before && { partials: held.add(before), fresh: false };
    if (before && before.upTo !== upTo) source = await this.corrected(plan, reader, tiers, before, upTo!, inline);
    if (source === null) return { partials: held.add(await this.readAll(plan, reader)), fresh: true };
    this.stats[source.partials === before && !source.inline ? 'hits' : 'corrections']++;
    held.add(source.partials);
    return source;
  }

  private async readAll(plan: AggregatePlan, reader: SnapshotReader): Promise<KeptPartials> {
    this.stats.full++;
    await reader.positioned([plan.entity]);
    const { files, upTo } = stateOf(reader.tiers(plan.entity));
    return this.create(reader, files, upTo, (params) => partialSql(plan, reader.view, params, 1));
  }

  /** Whether a question was asked before (or is kept): the first ask is only noted, the second one reads and keeps the partials. */
  private askedBefore(question: string): boolean {
    if (this.kept.has(question)) return true;
    const asked = this.asked.get(question);
    if (asked === 'once') this.asked.delete(question);
    else if (asked === undefined) this.remember(question, 'once');
    return asked === 'once';
  }

  /** A question with too many groups to keep: what is kept of it goes, and it is read its own way from now on. */
  private tooMany(question: string): void {
    this.forget(question);
    this.remember(question, 'too many');
  }

  /** Notes a question asked once and not kept, or one with too many groups to keep, most recently asked; the oldest notes go past four per entry. */
  private remember(question: string, why: 'once' | 'too many'): void {
    this.asked.delete(question);
    this.asked.set(question, why);
    for (const oldest of this.asked.keys()) {
      if (this.asked.size <= 4 * this.entries) break;
      this.asked.delete(oldest);
    }
  }

  /** Drops everything kept and noted (each table once its last reader is done): the next asks read in full. */
  clear(): void {
    for (const question of [...this.kept.keys()]) this.forget(question);
    this.asked.clear();
  }

  /** Drops the question's kept partials (once their last reader is done). */
  private forget(question: string): void {
    const kept = this.kept.get(question);
    if (!kept) return;
    this.kept.delete(question);
    this.retire(kept);
  }

  /**
   * Partials of `upTo` from those of an earlier slot, written to a table, or with `inline` when few
   * rows changed, all in the buffer, left to the answer's statement; null when too many rows changed between.
   */
  private async corrected(plan: AggregatePlan, reader: SnapshotReader, tiers: EntityTiers, before: KeptPartials, upTo: bigint, inline: boolean): Promise<Source | null> {
    const changes = await changesSince(reader, tiers.hot!, before.upTo ?? tiers.hot!.above);
    if (changes === null) return null;
    if (changes.rows === 0) return { partials: before, fresh: false };
    // Written, a correction cost a statement more (CREATE TABLE AS, then the answer from the table).
    if (inline && changes.inLake.length === 0 && changes.rows <= this.inlineRows) {
      this.stats.inline++;
      return { partials: before, fresh: false, inline: (params) => `(${correctedSql(plan, reader, tiers, before.table, changes, params)})` };
    }
    return { partials: await this.create(reader, before.files, upTo, (params) => correctedSql(plan, reader, tiers, before.table, changes, params)), fresh: false };
  }

  private async create(reader: SnapshotReader, files: string, upTo: bigint | null, build: (params: Params) => string): Promise<KeptPartials> {
    const table = quoteIdent(`aggregate_partials_${++this.sequence}`);
    const params = new Params();
    const sql = build(params);
    const [created] = await reader.run({ sql: `CREATE TABLE ${table} AS ${sql}`, params: params.values, types: params.types });
    return { table, files, upTo, groups: Number(created?.Count ?? 0), users: 0, kept: false };
  }

  /**
   * Whether the partials may be kept: every float sum finite and within its churn bound (as the
   * answer counted it, or, when no group was left to carry the counts, asked), and not too many
   * groups (of a plan with keys through a ref, those of the kept table).
   */
  private async inspect(plan: AggregatePlan, kept: AggregatePlan, reader: SnapshotReader, { partials, inline }: Omit<Source, 'fresh'>, answer: ResultRows): Promise<{ trusted: boolean; small: boolean }> {
    const params = new Params();
    const counts =
      answer[0] ??
      (
        await reader.run({
          sql: `SELECT count(*) FILTER (WHERE ${unsafeSql(plan)}) AS ${UNSAFE}, count(*) AS ${GROUPS} FROM ${inline ? inline(params) : partials.table}`,
          params: params.values,
          types: params.types,
        })
      )[0]!;
    const small = kept === plan ? Number(counts[GROUPS]) <= MAX_KEPT_GROUPS : partials.groups <= MAX_KEPT_REF_GROUPS;
    return { trusted: Number(counts[UNSAFE]) === 0, small };
  }

  /** A question's identity: its partial statement over stand-in views, with the values it binds. */
  private questionKey(plan: AggregatePlan): string {
    const params = new Params();
    const sql = partialSql(plan, (entity) => `view(${quoteIdent(entity.project)}.${quoteIdent(entity.name)})`, params, 1);
    return `${sql}\u0000${params.values.map((v, i) => `${String(params.types[i])}:${String(v)}`).join('\u0000')}`;
  }

  /** Keeps `partials` as the question's newest (unless newer ones of the same files are kept), most recently asked. */
  private keep(question: string, partials: KeptPartials): void {
    const kept = this.kept.get(question);
    this.kept.delete(question);
    const newer = kept && kept !== partials && kept.files === partials.files && kept.upTo !== null && (partials.upTo === null || kept.upTo > partials.upTo);
    const chosen = newer ? kept : partials;
    this.kept.set(question, chosen);
    chosen.kept = true;
    for (const other of [kept, partials]) if (other && other !== chosen) this.retire(other);
    let rows = 0;
    for (const entry of this.kept.values()) rows += entry.groups;
    for (const [oldest, entry] of this.kept) {
      if (this.kept.size <= this.entries && rows <= this.maxRows) break;
      if (entry === chosen) break;
      this.kept.delete(oldest);
      rows -= entry.groups;
      this.retire(entry);
    }
  }

  /** No longer kept: dropped once its last reader is done. */
  private retire(partials: KeptPartials): void {
    partials.kept = false;
    void this.dropIfUnused(partials);
  }

  /** @internal Held's: one reader less; dropped when it was the last of partials no longer kept. */
  unhold(partials: KeptPartials): void {
    partials.users--;
    void this.dropIfUnused(partials);
  }

  private async dropIfUnused(partials: KeptPartials): Promise<void> {
    if (partials.kept || partials.users > 0) return;
    // Not awaited by anyone: a failed drop (DuckDB closing, say) only leaves a small table behind.
    await this.duck.use((connection) => connection.run(`DROP TABLE IF EXISTS ${partials.table}`)).catch(() => undefined);
  }
}
