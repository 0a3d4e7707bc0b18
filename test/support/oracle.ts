// The truth for differential tests: current rows read from the OLTP EAV store, and Hasura-style
// where / order_by / aggregates evaluated over them in plain JS (SQL's three-valued logic),
// independently of the filter IR and the SQL compilers under test.
import type { Catalog, EntitySchema } from '../../src/catalog/index.js';
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

function columnValue(row: EntityRow, name: string): unknown {
  if (name === 'row_id') return row.row_id;
  if (name === 'time_slot') return row.time_slot;
  return row.values[name] ?? null;
}

function operators(value: unknown, spec: Record<string, unknown>): Tri {
  let result: Tri = true;
  for (const [op, arg] of Object.entries(spec)) {
    let r: Tri;
    if (op === '_is_null') r = (value === null) === arg;
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
      } else r = operators(columnValue(row, key), nested);
    }
    result = and3(result, r);
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
