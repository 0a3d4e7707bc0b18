// Which entities a request's snapshot covers: predicted from the operation's document (selected
// fields, filters through refs, variables' values, fragments); none for a mutation.
import { parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../../src/catalog/index.js';
import { buildSchema } from '../../src/graphql/index.js';
import { entitiesOfOperation } from '../../src/graphql/request-snapshot.js';
import { DEMO_SCHEMA_DIR } from '../support/gateway.js';

describe('entities a request snapshot covers', () => {
  let catalog: Catalog;
  let schema: ReturnType<typeof buildSchema>;
  beforeAll(async () => {
    catalog = await loadCatalog(DEMO_SCHEMA_DIR);
    schema = buildSchema(catalog);
  });
  const of = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
    entitiesOfOperation(catalog, schema, parse(query), operationName, variables)?.map((e) => e.name).sort() ?? null;

  it('a list and its total name only their entity', () => {
    expect(of(`{ orders(limit: 5) { row_id } orders_aggregate { aggregate { count } } }`)).toEqual(['orders']);
  });

  it('a filter through a ref adds the referenced entity', () => {
    expect(of(`{ orders_aggregate(where: {customer: {name: {_eq: "c"}}}) { aggregate { count } } }`)).toEqual(['customers', 'orders']);
  });

  it('a filter through a ref in a variable adds the referenced entity; one on its own fields does not', () => {
    const query = `query ($w: orders_bool_exp) { orders(where: $w) { row_id } }`;
    expect(of(query, { w: { customer: { name: { _eq: 'c' } } } })).toEqual(['customers', 'orders']);
    expect(of(query, { w: { paid: { _eq: true } } })).toEqual(['orders']);
  });

  it('nested reverse relations in a fragment add their entity', () => {
    expect(of(`{ customers { ...withOrders } } fragment withOrders on customers { row_id orders { row_id } }`)).toEqual(['customers', 'orders']);
  });

  it('a ref read from the OLTP store adds nothing, a reverse relation under it does', () => {
    expect(of(`{ orders { customer { name } } }`)).toEqual(['orders']);
    expect(of(`{ orders_by_pk(row_id: "00000000-0000-7000-8000-000000000000") { customer { orders { row_id } } } }`)).toEqual(['orders']);
    expect(of(`{ orders { customer { orders_aggregate: orders { row_id } } } customers_aggregate { aggregate { count } } }`)).toEqual(['customers', 'orders']);
  });

  it('only the operation that runs counts', () => {
    const document = `query A { customers { row_id } } query B { orders { row_id } }`;
    expect(of(document, undefined, 'B')).toEqual(['orders']);
  });

  it('a mutation has no request snapshot', () => {
    expect(of(`mutation { insert_orders_one(object: {quantity: 1}) { row_id } }`)).toBeNull();
  });

  it('one parsed document (the walk kept per document) still follows each request\'s variables, operation and role', () => {
    const document = parse(`query A($w: orders_bool_exp) { orders(where: $w) { row_id customer { name } } } query B { customers { row_id } }`);
    const names = (...args: Parameters<typeof entitiesOfOperation> extends [unknown, unknown, unknown, ...infer R] ? R : never) =>
      entitiesOfOperation(catalog, schema, document, ...args)?.map((e) => e.name).sort() ?? null;
    expect(names('A', { w: { paid: { _eq: true } } })).toEqual(['orders']);
    expect(names('A', { w: { customer: { name: { _eq: 'c' } } } })).toEqual(['customers', 'orders']);
    expect(names('A', { w: { paid: { _eq: true } } })).toEqual(['orders']);
    expect(names('B', {})).toEqual(['customers']);
    // A role that does not see customers whole searches the ref's row too.
    const partial = { seesAll: (entity: { name: string }) => entity.name !== 'customers', rowFilters: new Map() };
    expect(names('A', { w: { paid: { _eq: true } } }, partial as never)).toEqual(['customers', 'orders']);
    expect(names('A', { w: { paid: { _eq: true } } })).toEqual(['orders']);
  });
});
