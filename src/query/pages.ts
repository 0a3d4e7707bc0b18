// Pages of rows over the merge-on-read views: a page of an entity's rows, and the batched
// children of reverse relations (one statement for many parents).
import { quoteIdent, type Attribute, type EntitySchema } from '../catalog/index.js';
import type { EntityRow } from '../oltp/index.js';
import { Params, compileFilter } from './duckdb-sql.js';
import type { QueryEngine } from './engine.js';
import { referencedEntities, rowIdCandidates, type Filter } from './filter.js';
import { toEntityRow } from './rows.js';

export interface OrderTerm {
  column: string;
  direction: 'asc' | 'desc';
  nulls: 'first' | 'last';
}

export interface PageArgs {
  where: Filter | null;
  orderBy: readonly OrderTerm[];
  limit: number;
  offset: number;
  /**
   * The columns the caller reads from each row (attribute names, `time_slot`, `deleted_at`);
   * row_id always. Absent: all. Parquet decodes only what is read: (a) of bench:search took
   * 57 ms with every column and 38 ms with the six it shows. Unread fields are absent from the rows.
   */
  columns?: ReadonlySet<string>;
  /**
   * Of a batch of reverse relations (`children`): at most this many rows in all, whatever the
   * number of parents times `limit` (the request's row budget; the caller finds out by counting).
   */
  maxRows?: number;
}

/** The select list of a page: row_id, then the requested columns the entity has (all without a request). */
function selectList(entity: EntitySchema, alias: string, columns: ReadonlySet<string> | undefined, also: readonly string[] = []): string {
  if (!columns) return `${alias}.*`;
  const names = ['time_slot', 'deleted_at', ...entity.attributes.map((a) => a.name)].filter((name) => columns.has(name) || also.includes(name));
  return [`${alias}.row_id`, ...names.map((name) => `${alias}.${quoteIdent(name)}`)].join(', ');
}

function orderSql(alias: string, orderBy: readonly OrderTerm[]): string {
  // row_id last: a total order, so pages do not overlap or skip rows.
  const terms = orderBy.map((o) => `${alias}.${quoteIdent(o.column)} ${o.direction.toUpperCase()} NULLS ${o.nulls.toUpperCase()}`);
  return [...terms, `${alias}.row_id ASC`].join(', ');
}

/** A page of the entity's current rows matching `args.where`, in `args.orderBy` order. */
export async function listRows(engine: QueryEngine, entity: EntitySchema, args: PageArgs): Promise<EntityRow[]> {
  const rows = await engine.read([entity, ...referencedEntities(args.where)], (view) => {
    const params = new Params();
    const where = args.where ? compileFilter(args.where, { params, alias: 'o', refRelation: view }) : 'true';
    return {
      sql: `SELECT ${selectList(entity, 'o', args.columns)} FROM ${view(entity, rowIdCandidates(args.where))} AS o WHERE ${where} ORDER BY ${orderSql('o', args.orderBy)}
             LIMIT ${params.addCount(args.limit)} OFFSET ${params.addCount(args.offset)}`,
      params: params.values,
      types: params.types,
    };
  });
  return rows.map((row) => toEntityRow(entity, row));
}

/**
 * Rows of `entity` whose ref `via` names one of `parentIds`, at most `limit` per parent: one
 * statement for a whole batch of parents (the reverse relations' DataLoader).
 */
export async function childRows(
  engine: QueryEngine,
  entity: EntitySchema,
  via: Attribute,
  parentIds: readonly string[],
  args: PageArgs,
): Promise<Map<string, EntityRow[]>> {
  const rows = await engine.read([entity, ...referencedEntities(args.where)], (view) => {
    const params = new Params();
    const filter = args.where ? compileFilter(args.where, { params, alias: 'o', refRelation: view }) : 'true';
    const parent = `o.${quoteIdent(via.name)}`;
    return {
      sql: `SELECT ${selectList(entity, 'o', args.columns, [via.name])} FROM ${view(entity)} AS o
             WHERE ${parent} = ANY(${params.addList('ref', parentIds)}::UUID[]) AND ${filter}
             QUALIFY row_number() OVER (PARTITION BY ${parent} ORDER BY ${orderSql('o', args.orderBy)}) > ${params.addCount(args.offset)}
                 AND row_number() OVER (PARTITION BY ${parent} ORDER BY ${orderSql('o', args.orderBy)}) <= ${params.addCount(args.offset + args.limit)}
             ORDER BY ${parent}, ${orderSql('o', args.orderBy)}${args.maxRows === undefined ? '' : ` LIMIT ${params.addCount(args.maxRows)}`}`,
      params: params.values,
      types: params.types,
    };
  });
  const byParent = new Map<string, EntityRow[]>(parentIds.map((id) => [id, []]));
  for (const row of rows) byParent.get(row[via.name] as string)?.push(toEntityRow(entity, row));
  return byParent;
}
