// The truth for grouped and nested aggregates: groups, figures, HAVING, group order and top-N
// computed in plain JS over the OLTP rows (oracle.ts reads them and evaluates `where`), with time
// buckets from Intl's calendar, independently of the plan, its compiler and DuckDB.
import type { Catalog, EntitySchema } from '../../src/catalog/index.js';
import type { EntityRow } from '../../src/oltp/index.js';
import { evaluate, type Truth } from './oracle.js';

type Tri = boolean | null;
type Figures = Record<string, unknown>;

export interface AggregateAsk {
  count?: boolean;
  /** Per function (Hasura's names), the attributes asked for. */
  fields: Record<string, string[]>;
}

export interface GroupArgs {
  where?: Record<string, unknown>;
  group_by: string[];
  time_zone?: string | null;
  having?: Record<string, unknown>;
  order_by?: Record<string, unknown>[];
  limit?: number | null;
  offset?: number;
}

const BUCKETS = ['hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
type Bucket = (typeof BUCKETS)[number];

/** Wall-clock parts of an instant in a zone (UTC when null): year, month (0-11), day, hour, minute, second. */
function localParts(ms: number, zone: string | null): number[] {
  if (zone === null) {
    const d = new Date(ms);
    return [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  }
  const format = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' });
  const parts = format.formatToParts(new Date(ms));
  const part = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return [part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second')];
}

/** The instant at which a zone's clock shows the wall-clock time `local` (its ms read as UTC). */
function instantOf(local: number, zone: string | null): number {
  if (zone === null) return local;
  const offsetAt = (ms: number) => {
    const [y, m, d, h, min, sec] = localParts(ms, zone) as [number, number, number, number, number, number];
    return Date.UTC(y, m, d, h, min, sec) - (ms - (((ms % 1000) + 1000) % 1000));
  };
  return local - offsetAt(local - offsetAt(local));
}

/** The start of the bucket holding `value`, in `zone`, as the API returns it (ISO text; weeks start on Monday). */
export function bucketStart(bucket: Bucket, value: Date | string, zone: string | null): string {
  const ms = new Date(value).getTime();
  const [y, m, d, h] = localParts(ms, zone) as [number, number, number, number];
  const weekday = (new Date(Date.UTC(y, m, d)).getUTCDay() + 6) % 7;
  const local = {
    hour: Date.UTC(y, m, d, h),
    day: Date.UTC(y, m, d),
    week: Date.UTC(y, m, d - weekday),
    month: Date.UTC(y, m, 1),
    quarter: Date.UTC(y, m - (m % 3), 1),
    year: Date.UTC(y, 0, 1),
  }[bucket];
  return new Date(instantOf(local, zone)).toISOString();
}

const json = (value: unknown): unknown => {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  return value;
};

/** A group key's value for a row: own field, bucket, or (`ref__key`) the live referenced row's. */
function keyValue(catalog: Catalog, truth: Truth, entity: EntitySchema, row: EntityRow | null, name: string, zone: string | null): unknown {
  if (row === null) return null;
  const hop = name.indexOf('__');
  if (hop > 0) {
    const ref = entity.attributes.find((a) => a.name === name.slice(0, hop))!;
    const target = truth.get(ref.refEntity!)!.get(row.values[ref.name] as string) ?? null;
    return keyValue(catalog, truth, catalog.entity(ref.refEntity!), target, name.slice(hop + 2), zone);
  }
  if (entity.attributes.some((a) => a.name === name)) return json(row.values[name]);
  const bucket = BUCKETS.find((b) => name.endsWith(`_${b}`))!;
  const value = row.values[name.slice(0, -bucket.length - 1)];
  return value === null || value === undefined ? null : bucketStart(bucket, value as Date, zone);
}

function numbers(rows: EntityRow[], attribute: string): number[] {
  return rows.map((r) => r.values[attribute]).filter((v) => v !== null && v !== undefined).map(Number);
}

/** Two-pass spread of `xs` (population or sample), as a variance. */
function variance(xs: number[], sample: boolean): number | null {
  if (xs.length === 0 || (sample && xs.length < 2)) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const m2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return m2 / (xs.length - (sample ? 1 : 0));
}

/** One figure of rows: `count`, or `<fn>.<attribute>`. */
function figure(rows: EntityRow[], fn: string, attribute?: string): unknown {
  if (fn === 'count') return rows.length;
  const values = rows.map((r) => r.values[attribute!]).filter((v) => v !== null && v !== undefined);
  const compare = (a: unknown, b: unknown) => (a instanceof Date ? a.getTime() - (b as Date).getTime() : (a as number) - (b as number));
  switch (fn) {
    case 'count_distinct':
      return new Set(values.map((v) => String(v))).size;
    case 'sum':
      if (values.length === 0) return null;
      return typeof values[0] === 'bigint' ? json((values as bigint[]).reduce((a, b) => a + b, 0n)) : (values as number[]).reduce((a, b) => a + b, 0);
    case 'avg':
      return values.length ? numbers(rows, attribute!).reduce((a, b) => a + b, 0) / values.length : null;
    case 'min':
    case 'max':
      if (values.length === 0) return null;
      return json([...values].sort(compare)[fn === 'min' ? 0 : values.length - 1]);
    case 'var_pop':
      return variance(numbers(rows, attribute!), false);
    case 'var_samp':
    case 'variance':
      return variance(numbers(rows, attribute!), true);
    case 'stddev_pop': {
      const v = variance(numbers(rows, attribute!), false);
      return v === null ? null : Math.sqrt(v);
    }
    case 'stddev':
    case 'stddev_samp': {
      const v = variance(numbers(rows, attribute!), true);
      return v === null ? null : Math.sqrt(v);
    }
    default:
      throw new Error(`oracle: unknown aggregate ${fn}`);
  }
}

/** The figures an `aggregate { … }` selection shows for these rows. */
export function answerFigures(rows: EntityRow[], ask: AggregateAsk): Figures {
  const out: Figures = ask.count ? { count: rows.length } : {};
  for (const [fn, attributes] of Object.entries(ask.fields)) out[fn] = Object.fromEntries(attributes.map((a) => [a, figure(rows, fn, a)]));
  return out;
}

const cmp = (a: unknown, b: unknown): number => {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const [x, y] = [String(a), String(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

const and = (a: Tri, b: Tri): Tri => (a === false || b === false ? false : a === null || b === null ? null : true);
const or = (a: Tri, b: Tri): Tri => (a === true || b === true ? true : a === null || b === null ? null : false);

function compareHaving(value: unknown, spec: Record<string, unknown>): Tri {
  let result: Tri = true;
  for (const [op, arg] of Object.entries(spec)) {
    let r: Tri;
    if (op === '_is_null') r = (value === null) === arg;
    else if (value === null) r = null;
    else {
      const c = cmp(value, arg);
      r = { _eq: c === 0, _neq: c !== 0, _gt: c > 0, _gte: c >= 0, _lt: c < 0, _lte: c <= 0 }[op]!;
    }
    result = and(result, r);
  }
  return result;
}

function having(rows: EntityRow[], spec: Record<string, unknown>): Tri {
  let result: Tri = true;
  for (const [key, value] of Object.entries(spec)) {
    let r: Tri;
    if (key === '_and') r = (value as Record<string, unknown>[]).reduce<Tri>((acc, h) => and(acc, having(rows, h)), true);
    else if (key === '_or') r = (value as Record<string, unknown>[]).reduce<Tri>((acc, h) => or(acc, having(rows, h)), false);
    else if (key === '_not') {
      const inner = having(rows, value as Record<string, unknown>);
      r = inner === null ? null : !inner;
    } else if (key === 'count') r = compareHaving(rows.length, value as Record<string, unknown>);
    else r = Object.entries(value as Record<string, Record<string, unknown>>).reduce<Tri>((acc, [a, s]) => and(acc, compareHaving(figure(rows, key, a), s)), true);
    result = and(result, r);
  }
  return result;
}

/** `<entity>_aggregate(where, group_by, time_zone) { groups(having, order_by, limit, offset) { key aggregate } }`. */
export function answerGroups(catalog: Catalog, truth: Truth, entity: EntitySchema, args: GroupArgs, ask: AggregateAsk): { key: Figures; aggregate: Figures }[] {
  const zone = args.time_zone ?? null;
  const matching = [...truth.get(entity.name)!.values()].filter((row) => evaluate(catalog, truth, entity, row, args.where) === true);
  const groups = new Map<string, { key: Figures; rows: EntityRow[] }>();
  for (const row of matching) {
    const key = Object.fromEntries(args.group_by.map((name) => [name, keyValue(catalog, truth, entity, row, name, zone)]));
    const id = JSON.stringify(key);
    groups.set(id, { key, rows: [...(groups.get(id)?.rows ?? []), row] });
  }
  const kept = [...groups.values()].filter((g) => !args.having || having(g.rows, args.having) === true);
  const terms: { value: (g: { key: Figures; rows: EntityRow[] }) => unknown; order: string }[] = [];
  for (const item of args.order_by ?? []) {
    for (const [field, spec] of Object.entries(item)) {
      if (field === 'count') terms.push({ value: (g) => g.rows.length, order: spec as string });
      else if (field === 'key') for (const [name, order] of Object.entries(spec as Record<string, string>)) terms.push({ value: (g) => g.key[name], order });
      else for (const [a, order] of Object.entries(spec as Record<string, string>)) terms.push({ value: (g) => figure(g.rows, field, a), order });
    }
  }
  for (const name of args.group_by) terms.push({ value: (g) => g.key[name], order: 'asc' });
  kept.sort((a, b) => {
    for (const { value, order } of terms) {
      const [x, y] = [value(a), value(b)];
      const desc = order.startsWith('desc');
      const nullsFirst = order.endsWith('nulls_first') || (!order.includes('nulls') && desc);
      if (x === null || y === null) {
        if (x === y) continue;
        return (x === null) === nullsFirst ? -1 : 1;
      }
      const c = cmp(x, y);
      if (c !== 0) return desc ? -c : c;
    }
    return 0;
  });
  const offset = args.offset ?? 0;
  const page = kept.slice(offset, args.limit === null || args.limit === undefined ? undefined : offset + args.limit);
  return page.map((g) => ({ key: g.key, aggregate: answerFigures(g.rows, ask) }));
}

/** Nested `<rel>_aggregate(where) { aggregate }` of each parent: figures of the rows whose `via` names it. */
export function answerPerParent(
  catalog: Catalog,
  truth: Truth,
  entity: EntitySchema,
  via: string,
  parentIds: readonly string[],
  where: Record<string, unknown> | undefined,
  ask: AggregateAsk,
): Map<string, Figures> {
  const rows = [...truth.get(entity.name)!.values()].filter((row) => evaluate(catalog, truth, entity, row, where) === true);
  return new Map(parentIds.map((id) => [id, answerFigures(rows.filter((r) => r.values[via] === id), ask)]));
}

/** Floats rounded to 9 significant digits (JS and DuckDB add in different orders), for comparing answers. */
export function roundFloats<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(9)) : v)) as T;
}
