// The truth for differential tests: current rows read from the OLTP EAV store, and Hasura-style
// where / order_by / aggregates evaluated over them in plain JS (SQL's three-valued logic),
// independently of the filter IR and the SQL compilers under test.
import { reverseRelationFieldName, type Attribute, type Catalog, type EntitySchema, type JsonValue } from '../../src/catalog/index.js';
import type { EntityRow } from '../../src/oltp/index.js';
import type { TestGateway } from './gateway.js';

export type Truth = Map<string, Map<string, EntityRow>>; // entity name -> row_id -> row

/** Every current (live) row of every entity, from the EAV tables. */
export async function readTruth(gw: TestGateway): Promise<Truth> {
  const truth: Truth = new Map();
  for (const entity of gw.catalog.entities) {
    const { rows } = await gw.oltp.pool.query<{ row_id: string }>(
      'SELECT row_id FROM eav_entity WHERE project = $1 AND schema_id = $2 AND deleted_at IS NULL',
      [entity.project, entity.id],
    );
    truth.set(entity.name, await gw.oltp.readRows(entity, rows.map((r) => r.row_id)));
  }
  return truth;
}

/** Every live order in the EAV store as `row_id@time_slot`, sorted: what an outage test compares acknowledged writes with. */
export async function liveOrderVersions(gw: TestGateway): Promise<string[]> {
  const orders = gw.catalog.entity('orders');
  const { rows } = await gw.oltp.pool.query<{ change: string }>(
    `SELECT row_id::text || '@' || time_slot::text AS change FROM eav_entity WHERE project = $1 AND schema_id = $2 AND deleted_at IS NULL`,
    [orders.project, orders.id],
  );
  return rows.map((r) => r.change).sort();
}

type Tri = boolean | null;
const and3 = (a: Tri, b: Tri): Tri => (a === false || b === false ? false : a === null || b === null ? null : true);
const or3 = (a: Tri, b: Tri): Tri => (a === true || b === true ? true : a === null || b === null ? null : false);
const not3 = (a: Tri): Tri => (a === null ? null : !a);

function comparable(value: unknown): number | bigint | string | boolean {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return new Date(value).getTime();
  return value as number | bigint | string | boolean;
}

function compare(a: unknown, b: unknown): number {
  const x = comparable(a);
  const y = comparable(b);
  if (typeof x === 'bigint' || typeof y === 'bigint') {
    const bx = BigInt(x as never);
    const by = BigInt(y as never);
    return bx < by ? -1 : bx > by ? 1 : 0;
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

function likeToRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '');
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** SQL SIMILAR TO as a JS RegExp of the whole value: % _ wildcards, \\ escapes, regex groups and classes kept. */
function similarToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') source += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else if (c === '.' || c === '^' || c === '$') source += `\\${c}`;
    else source += c;
  }
  return new RegExp(`^(?:${source})$`, 's');
}

/** POSIX bracket classes ([:digit:] …), which JS lacks, as JS class ranges. */
function posixClasses(pattern: string): string {
  const classes: Record<string, string> = { digit: '0-9', alpha: 'A-Za-z', alnum: '0-9A-Za-z', upper: 'A-Z', lower: 'a-z', space: '\\s', punct: '!-/:-@[-`{-~' };
  return pattern.replace(/\[:(\w+):\]/g, (all, name: string) => classes[name] ?? all);
}

type Json = JsonValue;
const isObject = (v: Json): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);
const sameScalar = (a: Json, b: Json) => !isObject(a) && !Array.isArray(a) && !isObject(b) && !Array.isArray(b) && a === b;

/** Postgres jsonb `a @> b`, at the top level also an array containing a scalar. */
function jsonContains(a: Json, b: Json, top = true): boolean {
  if (isObject(b)) return isObject(a) && Object.entries(b).every(([k, v]) => k in a && jsonContains(a[k]!, v, false));
  if (Array.isArray(b)) return Array.isArray(a) && b.every((e) => a.some((x) => jsonContains(x, e, false)));
  return sameScalar(a, b) || (top && Array.isArray(a) && a.some((x) => sameScalar(x, b)));
}

function jsonEquals(a: Json, b: Json): boolean {
  if (isObject(b)) return isObject(a) && Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => k in a && jsonEquals(a[k]!, v));
  if (Array.isArray(b)) return Array.isArray(a) && a.length === b.length && b.every((e, i) => jsonEquals(a[i]!, e));
  return sameScalar(a, b);
}

/** jsonb `a ? key`: an object's key, a string element of an array, or the string itself. */
function jsonHasKey(a: Json, key: string): boolean {
  if (isObject(a)) return key in a;
  if (Array.isArray(a)) return a.some((x) => x === key);
  return a === key;
}

function columnValue(row: EntityRow, name: string): unknown {
  if (name === 'row_id') return row.row_id;
  if (name === 'time_slot') return row.time_slot;
  return row.values[name] ?? null;
}

function operators(value: unknown, spec: Record<string, unknown>, json = false): Tri {
  let result: Tri = true;
  for (const [op, arg] of Object.entries(spec)) {
    let r: Tri;
    if (op === '_is_null') r = (value === null) === arg;
    else if (value === null && json) r = null;
    else if (json) {
      const v = value as Json;
      if (op === '_eq') r = jsonEquals(v, arg as Json);
      else if (op === '_neq') r = !jsonEquals(v, arg as Json);
      else if (op === '_contains') r = jsonContains(v, arg as Json);
      else if (op === '_contained_in') r = jsonContains(arg as Json, v);
      else if (op === '_has_key') r = jsonHasKey(v, arg as string);
      else if (op === '_has_keys_any') r = (arg as string[]).some((k) => jsonHasKey(v, k));
      else if (op === '_has_keys_all') r = (arg as string[]).every((k) => jsonHasKey(v, k));
      else throw new Error(`oracle: unknown json operator ${op}`);
    }
    else if (op === '_in' || op === '_nin') {
      const list = arg as unknown[];
      const hit: Tri = list.length === 0 ? false : value === null ? null : list.some((v) => compare(value, v) === 0);
      r = op === '_in' ? hit : list.length === 0 ? true : not3(hit);
    } else if (value === null) r = null;
    else if (op === '_eq') r = compare(value, arg) === 0;
    else if (op === '_neq') r = compare(value, arg) !== 0;
    else if (op === '_gt') r = compare(value, arg) > 0;
    else if (op === '_gte') r = compare(value, arg) >= 0;
    else if (op === '_lt') r = compare(value, arg) < 0;
    else if (op === '_lte') r = compare(value, arg) <= 0;
    else if (op === '_like') r = likeToRegExp(arg as string, false).test(value as string);
    else if (op === '_ilike') r = likeToRegExp(arg as string, true).test(value as string);
    else if (op === '_nlike') r = !likeToRegExp(arg as string, false).test(value as string);
    else if (op === '_nilike') r = !likeToRegExp(arg as string, true).test(value as string);
    else if (op === '_regex' || op === '_nregex') r = new RegExp(posixClasses(arg as string), 's').test(value as string) === (op === '_regex');
    else if (op === '_iregex' || op === '_niregex') r = new RegExp(posixClasses(arg as string), 'si').test(value as string) === (op === '_iregex');
    else if (op === '_similar' || op === '_nsimilar') r = similarToRegExp(arg as string).test(value as string) === (op === '_similar');
    else if (op === '_contains') r = likeToRegExp(`%${escapeLike(arg as string)}%`, false).test(value as string);
    else if (op === '_starts_with') r = likeToRegExp(`${escapeLike(arg as string)}%`, false).test(value as string);
    else throw new Error(`oracle: unknown operator ${op}`);
    result = and3(result, r);
  }
  return result;
}

export function evaluate(catalog: Catalog, truth: Truth, entity: EntitySchema, row: EntityRow, where: Record<string, unknown> | undefined): Tri {
  let result: Tri = true;
  for (const [key, spec] of Object.entries(where ?? {})) {
    let r: Tri;
    if (key === '_and') r = (spec as Record<string, unknown>[]).reduce<Tri>((acc, w) => and3(acc, evaluate(catalog, truth, entity, row, w)), true);
    else if (key === '_or') r = (spec as Record<string, unknown>[]).reduce<Tri>((acc, w) => or3(acc, evaluate(catalog, truth, entity, row, w)), false);
    else if (key === '_not') r = not3(evaluate(catalog, truth, entity, row, spec as Record<string, unknown>));
    else {
      const attribute = entity.attributes.find((a) => a.name === key);
      const nested = spec as Record<string, unknown>;
      if (attribute?.type === 'ref') {
        const targetName = attribute.refEntity!;
        const target = truth.get(targetName)!.get(columnValue(row, key) as string);
        // A semi-join: true when the referenced current row matches, false otherwise (never unknown),
        // also for conditions on the referenced row_id alone: a deleted or missing row matches nothing.
        r = target ? evaluate(catalog, truth, catalog.entity(targetName), target, nested) === true : false;
      } else if (attribute) r = operators(columnValue(row, key), nested, attribute.type === 'json');
      else if (key in { row_id: 1, time_slot: 1 }) r = operators(columnValue(row, key), nested);
      else r = related(catalog, truth, entity, row, key, nested);
    }
    result = and3(result, r);
  }
  return result;
}

/** The rows of `from` whose ref `via` names `row` (current rows only). */
function referencing(truth: Truth, from: EntitySchema, via: Attribute, row: EntityRow): EntityRow[] {
  return [...truth.get(from.name)!.values()].filter((r) => r.values[via.name] === row.row_id);
}

/** A reverse relation (`orders`: some referencing row matches) or its aggregates (`orders_aggregate`). */
function related(catalog: Catalog, truth: Truth, entity: EntitySchema, row: EntityRow, key: string, spec: Record<string, unknown>): Tri {
  const refs = catalog.referencesTo(entity);
  const named = (name: string) => refs.find((r) => reverseRelationFieldName(r.from, r.attribute, refs.filter((s) => s.from === r.from).length) === name);
  const relation = named(key);
  if (relation) return referencing(truth, relation.from, relation.attribute, row).some((r) => evaluate(catalog, truth, relation.from, r, spec) === true);
  const aggregated = key.endsWith('_aggregate') ? named(key.slice(0, -'_aggregate'.length)) : undefined;
  if (!aggregated) throw new Error(`oracle: no field ${key}`);
  let result: Tri = true;
  for (const [fn, args] of Object.entries(spec) as [string, { predicate: Record<string, unknown>; filter?: Record<string, unknown>; arguments?: string | string[]; distinct?: boolean }][]) {
    const rows = referencing(truth, aggregated.from, aggregated.attribute, row).filter((r) => evaluate(catalog, truth, aggregated.from, r, args.filter) === true);
    const columns = args.arguments === undefined ? [] : Array.isArray(args.arguments) ? args.arguments : [args.arguments];
    let value: number | boolean | null;
    if (fn === 'bool_and' || fn === 'bool_or') {
      const values = rows.map((r) => columnValue(r, columns[0]!)).filter((v) => v !== null) as boolean[];
      value = values.length === 0 ? null : fn === 'bool_and' ? values.every(Boolean) : values.some(Boolean);
    } else if (fn === 'count') {
      const counted =
        columns.length === 0 ? rows.map((r) => r.row_id)
        : columns.length === 1 ? rows.map((r) => columnValue(r, columns[0]!)).filter((v) => v !== null)
        : rows.map((r) => JSON.stringify(columns.map((c) => String(columnValue(r, c)))));
      value = args.distinct ? new Set(counted.map(String)).size : counted.length;
    } else {
      let values = rows.map((r) => columnValue(r, columns[0]!)).filter((v) => v !== null).map((v) => Number(v));
      if (args.distinct) values = [...new Set(values)];
      value =
        values.length === 0 ? null
        : fn === 'sum' ? values.reduce((a, b) => a + b, 0)
        : fn === 'avg' ? values.reduce((a, b) => a + b, 0) / values.length
        : fn === 'min' ? Math.min(...values)
        : Math.max(...values);
    }
    result = and3(result, operators(value, args.predicate));
  }
  return result;
}

/** Rows matching `where`, sorted by `orderBy` terms (Postgres NULL defaults) then row_id, paged. */
export function answerList(
  catalog: Catalog,
  truth: Truth,
  entity: EntitySchema,
  args: { where?: Record<string, unknown>; order_by?: Record<string, string>[]; limit?: number; offset?: number },
): EntityRow[] {
  const rows = [...truth.get(entity.name)!.values()].filter((row) => evaluate(catalog, truth, entity, row, args.where) === true);
  const terms = (args.order_by ?? []).flatMap((o) => Object.entries(o));
  rows.sort((a, b) => {
    for (const [column, order] of terms) {
      const x = columnValue(a, column);
      const y = columnValue(b, column);
      const desc = order.startsWith('desc');
      const nullsFirst = order.endsWith('nulls_first') || (!order.includes('nulls') && desc);
      if (x === null || y === null) {
        if (x === y) continue;
        return (x === null) === nullsFirst ? -1 : 1;
      }
      const c = compare(x, y);
      if (c !== 0) return desc ? -c : c;
    }
    return a.row_id < b.row_id ? -1 : a.row_id > b.row_id ? 1 : 0;
  });
  const offset = args.offset ?? 0;
  return rows.slice(offset, offset + (args.limit ?? 100));
}
