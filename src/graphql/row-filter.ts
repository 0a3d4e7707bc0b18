// Judges a bound filter on rows in memory, with SQL's three-valued logic: how update_<name>_many
// re-judges rows an earlier update of the same call changed (the search cannot see them yet).
// It must agree with the DuckDB compiler (query/duckdb-sql.ts): strings compare by code point (as
// UTF-8 bytes do), LIKE escapes with `\`, `_nin` of NULL is unknown, a ref holds when the
// referenced row is live and matches. A filter form it does not know is refused, never guessed.
import type { AttributeValue, EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import type { EntityRow } from '../oltp/index.js';
import type { Filter, FilterValue } from '../query/index.js';

type Tri = boolean | null;

/** The current row of `entity` with this row_id, or null when none is live (as the transaction sees it). */
export type RowLookup = (entity: EntitySchema, rowId: string) => Promise<EntityRow | null>;

const and3 = (a: Tri, b: Tri): Tri => (a === false || b === false ? false : a === null || b === null ? null : true);
const or3 = (a: Tri, b: Tri): Tri => (a === true || b === true ? true : a === null || b === null ? null : false);

function order(a: AttributeValue | FilterValue, b: FilterValue): number {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b));
  const x = a instanceof Date ? a.getTime() : a;
  const y = b instanceof Date ? b.getTime() : b;
  return (x as number | bigint) < (y as number | bigint) ? -1 : (x as number | bigint) > (y as number | bigint) ? 1 : 0;
}

function likeRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, caseInsensitive ? 'iu' : 'u');
}

function columnOf(row: EntityRow, name: string): AttributeValue {
  if (name === 'row_id') return row.row_id;
  if (name === 'time_slot') return row.time_slot;
  return row.values[name] ?? null;
}

/** Whether `filter` holds for `row` (true, false, or null for unknown). */
export async function judge(filter: Filter, row: EntityRow, lookup: RowLookup, at: string): Promise<Tri> {
  switch (filter.kind) {
    case 'and': {
      let result: Tri = true;
      for (const item of filter.items) result = and3(result, await judge(item, row, lookup, at));
      return result;
    }
    case 'or': {
      let result: Tri = false;
      for (const item of filter.items) result = or3(result, await judge(item, row, lookup, at));
      return result;
    }
    case 'not': {
      const inner = await judge(filter.item, row, lookup, at);
      return inner === null ? null : !inner;
    }
    case 'compare': {
      const value = columnOf(row, filter.column.name);
      if (value === null) return null;
      const c = order(value, filter.value);
      const ops = { eq: c === 0, neq: c !== 0, gt: c > 0, gte: c >= 0, lt: c < 0, lte: c <= 0 };
      return ops[filter.op];
    }
    case 'in': {
      if (filter.values.length === 0) return filter.negated;
      const value = columnOf(row, filter.column.name);
      if (value === null) return null;
      const hit = filter.values.some((v) => order(value, v) === 0);
      return filter.negated ? !hit : hit;
    }
    case 'is_null':
      return (columnOf(row, filter.column.name) === null) === filter.isNull;
    case 'like': {
      const value = columnOf(row, filter.column.name);
      return value === null ? null : likeRegExp(filter.pattern, filter.caseInsensitive).test(value as string);
    }
    case 'ref': {
      const id = columnOf(row, filter.column.name);
      if (typeof id !== 'string') return false;
      const target = await lookup(filter.target, id);
      return target !== null && (await judge(filter.filter, target, lookup, at)) === true;
    }
    default:
      throw new ValidationError(
        `${at}: this filter (${(filter as { kind: string }).kind}) cannot be judged on rows an earlier update of the same call changed; send it as its own mutation`,
      );
  }
}

/** The first filter form `judge` cannot decide (checks must avoid it), or null when it can judge all. */
export function unjudgeable(filter: Filter): string | null {
  switch (filter.kind) {
    case 'and':
    case 'or':
      for (const item of filter.items) {
        const found = unjudgeable(item);
        if (found) return found;
      }
      return null;
    case 'not':
      return unjudgeable(filter.item);
    case 'ref':
      return unjudgeable(filter.filter);
    case 'compare':
    case 'in':
    case 'is_null':
    case 'like':
      return null;
    default:
      return filter.kind;
  }
}
