// The moves of the differential tests, shared: seeded dice, and the writes that put rows in every
// state a search merges (the unflushed buffer, delta files, base files) through the admin API.
import { expect } from 'vitest';
import { seededRandom } from '../../src/cli/demo-data.js';
import { compactSchema } from '../../src/compaction/index.js';
import type { GraphQLResponse, TestGateway } from './gateway.js';

export interface Dice {
  random(): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** A seeded PRNG and its two uses: the same seed draws the same run. */
export function dice(seed: number): Dice {
  const random = seededRandom(seed);
  return { random, pick: (items) => items[Math.floor(random() * items.length)]!, chance: (p) => random() < p };
}

/** The context of an assertion: the step and the last writes before it. */
export const stepContext = (step: number, log: readonly string[]) => `step ${step} (${log.slice(-3).join(', ')})`;

/** Inserts `rows` as the admin, asserting no error; their row_ids in input order. */
export async function insertRows(gw: TestGateway, entity: string, rows: readonly Record<string, unknown>[]): Promise<string[]> {
  const res = await gw.gql(`mutation($o: [${entity}_insert_input!]!) { insert_${entity}(objects: $o) { returning { row_id } } }`, { o: rows });
  expect(res.errors, `insert ${entity}`).toBeUndefined();
  return res.data[`insert_${entity}`].returning.map((r: { row_id: string }) => r.row_id);
}

type Errors = GraphQLResponse['errors'];

/** Sets `set` on one row as the admin; the errors, if any (the caller decides whether a failure matters). */
export async function updateRow(gw: TestGateway, entity: string, id: string, set: Record<string, unknown>): Promise<Errors> {
  return (await gw.gql(`mutation($id: UUID!, $s: ${entity}_set_input!) { update_${entity}_by_pk(row_id: $id, _set: $s) { row_id } }`, { id, s: set })).errors;
}

/** Deletes one row as the admin; the errors, if any. */
export async function deleteRow(gw: TestGateway, entity: string, id: string): Promise<Errors> {
  return (await gw.gql(`mutation($id: UUID!) { delete_${entity}_by_pk(row_id: $id) { row_id } }`, { id })).errors;
}

/** The buffer of `entity` written to a delta file. */
export async function flushEntity(gw: TestGateway, entity: string): Promise<void> {
  await gw.lakehouse.admin.flush(gw.catalog.entity(entity), true);
}

/**
 * A forced compaction of `entity` with these settings over the gateway's (a tiny base target rolls
 * rows into historical files, a dirty ratio keeps changes as deltas); what it did, for the log.
 */
export async function compactEntity(gw: TestGateway, entity: string, settings: { dirtyRatio?: number; baseTargetBytes?: number } = {}): Promise<string> {
  const deps = gw.lakehouse.compactDeps;
  const outcome = await compactSchema({ ...deps, settings: { ...deps.settings, ...settings } }, gw.catalog.entity(entity), { force: true, trigger: 'test' });
  return outcome.status === 'compacted' ? outcome.added.map((a) => a.role).join('+') : outcome.reason;
}

/**
 * The seeded moves of the random-step tests over an entity's live row_ids (`live`, kept up to date):
 * each draws from `dice` in a fixed order and returns what it did, for the step's log.
 */
export function randomMoves(gw: TestGateway, { random, pick, chance }: Dice) {
  return {
    /** One to three rows updated, each with a random part of `make()`'s fields (or `otherwise` when none is drawn). */
    async update(entity: string, live: readonly string[], make: () => Record<string, unknown>, otherwise: Record<string, unknown>): Promise<string> {
      for (let i = 0; i < 1 + Math.floor(random() * 3); i++) {
        const set = Object.fromEntries(Object.entries(make()).filter(() => chance(0.5)));
        expect(await updateRow(gw, entity, pick(live), Object.keys(set).length ? set : otherwise), 'update').toBeUndefined();
      }
      return `update ${entity}`;
    },
    /** One to three new rows. */
    async insert(entity: string, live: string[], make: () => Record<string, unknown>): Promise<string> {
      live.push(...(await insertRows(gw, entity, Array.from({ length: 1 + Math.floor(random() * 3) }, make))));
      return `insert ${entity}`;
    },
    async delete(entity: string, live: string[]): Promise<string> {
      const id = pick(live);
      expect(await deleteRow(gw, entity, id), `delete from ${entity}`).toBeUndefined();
      live.splice(live.indexOf(id), 1);
      return `delete from ${entity}`;
    },
    /** A row deleted and a new one inserted: rows that named the old one now name a row that is gone. */
    async replace(entity: string, live: string[], make: () => Record<string, unknown>): Promise<string> {
      await this.delete(entity, live);
      live.push(...(await insertRows(gw, entity, [make()])));
      return `replace in ${entity}`;
    },
    async flush(entities: readonly string[]): Promise<string> {
      const entity = pick(entities);
      await flushEntity(gw, entity);
      return `flush ${entity}`;
    },
    async compact(entity: string): Promise<string> {
      return `compact ${entity}: ${await compactEntity(gw, entity, { dirtyRatio: pick([0, 0.5]) })}`;
    },
  };
}
