// The oracle's sort for differential tests: Hasura order_by (own columns, object relationships any
// depth, <relation>_aggregate of reverse relations), distinct_on and paging evaluated in plain JS
// over the truth, independently of the plan and its SQL compiler.
import type { Catalog, EntitySchema } from '../../src/catalog/index.js';
import type { EntityRow } from '../../src/oltp/index.js';
import { evaluate, type Truth } from './oracle.js';

type OrderInput = Record<string, unknown>;

/** A sort key of one row: its value (null when missing) and its direction. */
interface Key {
  value: unknown;
  desc: boolean;
  nullsFirst: boolean;
}

function comparable(value: unknown): number | bigint | string | boolean {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return new Date(value).getTime();
  return value as number | bigint | string | boolean;
}

export function compareValues(a: unknown, b: unknown): number {
  const x = comparable(a);
  const y = comparable(b);
  if (typeof x === 'bigint' || typeof y === 'bigint') {
    const bx = BigInt(x as never);
    const by = BigInt(y as never);
    return bx < by ? -1 : bx > by ? 1 : 0;
  }
  if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : x > y ? 1 : 0;
  // Strings byte-wise as DuckDB does (UTF-16 code units agree with UTF-8 bytes outside surrogates).
  return x < y ? -1 : x > y ? 1 : 0;
}

function columnValue(row: EntityRow, name: string): unknown {
  if (name === 'row_id') return row.row_id;
  if (name === 'time_slot') return row.time_slot;
  return row.values[name] ?? null;
}

function direction(order: string): Pick<Key, 'desc' | 'nullsFirst'> {
  const desc = order.startsWith('desc');
  return { desc, nullsFirst: order.endsWith('nulls_first') || (!order.includes('nulls') && desc) };
}

/** The reverse relations of `entity` by field name (as the schema names them). */
function reverseRelations(catalog: Catalog, entity: EntitySchema): Map<string, { from: EntitySchema; via: string }> {
  const refs = catalog.entities.flatMap((from) => from.attributes.filter((a) => a.type === 'ref' && a.refEntity === entity.name).map((a) => ({ from, via: a.name })));
  return new Map(refs.map((r) => [refs.filter((o) => o.from === r.from).length === 1 ? r.from.name : `${r.from.name}_by_${r.via}`, r]));
}

function aggregate(fn: string, values: unknown[]): unknown {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return null;
  if (fn === 'sum') return present.reduce((a, b) => (typeof a === 'bigint' ? a + BigInt(b as bigint) : (a as number) + (b as number)));
  if (fn === 'avg') {
    const total = present.reduce((a, b) => (typeof a === 'bigint' ? a + BigInt(b as bigint) : (a as number) + (b as number)));
    return Number(total) / present.length;
  }
  if (['stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp'].includes(fn)) {
    const xs = present.map(Number);
    const sample = !fn.endsWith('_pop');
    if (xs.length < (sample ? 2 : 1)) return null;
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - (sample ? 1 : 0));
    return fn.startsWith('stddev') ? Math.sqrt(variance) : variance;
  }
  const sorted = [...present].sort(compareValues);
  return fn === 'min' ? sorted[0] : sorted[sorted.length - 1];
}

/** The keys one order_by object gives a row (null `row`: a missing related row, every value NULL). */
function keysOf(catalog: Catalog, truth: Truth, entity: EntitySchema, row: EntityRow | null, item: OrderInput): Key[] {
  const keys: Key[] = [];
  for (const [field, spec] of Object.entries(item)) {
    if (spec === null || spec === undefined) continue;
    const attribute = entity.attributes.find((a) => a.name === field);
    if (attribute?.type === 'ref') {
      const target = catalog.entity(attribute.refEntity!);
      const ref = row ? (columnValue(row, field) as string | null) : null;
      const related = ref ? (truth.get(target.name)!.get(ref) ?? null) : null;
      keys.push(...keysOf(catalog, truth, target, related, spec as OrderInput));
      continue;
    }
    const relation = field.endsWith('_aggregate') ? reverseRelations(catalog, entity).get(field.slice(0, -'_aggregate'.length)) : undefined;
    if (relation) {
      const children = row ? [...truth.get(relation.from.name)!.values()].filter((c) => c.values[relation.via] === row.row_id) : [];
      for (const [fn, inner] of Object.entries(spec as OrderInput)) {
        if (inner === null || inner === undefined) continue;
        if (fn === 'count') keys.push({ value: row ? children.length : null, ...direction(inner as string) });
        else {
          for (const [column, order] of Object.entries(inner as Record<string, string | null>)) {
            if (order) keys.push({ value: aggregate(fn, children.map((c) => columnValue(c, column))), ...direction(order) });
          }
        }
      }
      continue;
    }
    keys.push({ value: row ? columnValue(row, field) : null, ...direction(spec as string) });
  }
  return keys;
}

function compareKeys(a: Key[], b: Key[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.value === null || y.value === null) {
      if (x.value === y.value) continue;
      return (x.value === null) === x.nullsFirst ? -1 : 1;
    }
    const c = compareValues(x.value, y.value);
    if (c !== 0) return x.desc ? -c : c;
  }
  return 0;
}

export interface SortedPageArgs {
  where?: Record<string, unknown>;
  order_by?: OrderInput[];
  distinct_on?: string[];
  limit?: number;
  offset?: number;
}

/**
 * The rows of `rows` matching `where` in `order_by` order (without one, distinct_on's columns
 * ascending), row_id breaking ties; with distinct_on the first of each distinct value; then paged.
 */
export function sortedPage(catalog: Catalog, truth: Truth, entity: EntitySchema, rows: Iterable<EntityRow>, args: SortedPageArgs): EntityRow[] {
  const distinctOn = args.distinct_on ?? [];
  // Without order_by, distinct_on's own column values ascending (a ref's value, not its row).
  const keysOfRow = (row: EntityRow): Key[] =>
    args.order_by?.length
      ? args.order_by.flatMap((item) => keysOf(catalog, truth, entity, row, item))
      : distinctOn.map((c) => ({ value: columnValue(row, c), desc: false, nullsFirst: false }));
  const keyed = [...rows].filter((row) => evaluate(catalog, truth, entity, row, args.where) === true).map((row) => ({ row, keys: keysOfRow(row) }));
  keyed.sort((a, b) => compareKeys(a.keys, b.keys) || (a.row.row_id < b.row.row_id ? -1 : a.row.row_id > b.row.row_id ? 1 : 0));
  let sorted = keyed.map((k) => k.row);
  if (distinctOn.length) {
    const seen = new Set<string>();
    const text = (v: unknown) => (v === null ? 'null' : typeof v === 'bigint' ? `${v}n` : v instanceof Date ? `d${v.getTime()}` : JSON.stringify(v));
    sorted = sorted.filter((row) => {
      const key = distinctOn.map((c) => text(columnValue(row, c))).join('|');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  const offset = args.offset ?? 0;
  return sorted.slice(offset, offset + (args.limit ?? 100));
}

/** `sortedPage` over every current row of `entity`. */
export function answerSorted(catalog: Catalog, truth: Truth, entity: EntitySchema, args: SortedPageArgs): EntityRow[] {
  return sortedPage(catalog, truth, entity, truth.get(entity.name)!.values(), args);
}
