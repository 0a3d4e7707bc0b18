// Builds the whole GraphQL schema from the catalog; needs no database, so it can also be printed.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import type { Catalog } from '../catalog/index.js';
import { defineAdmin } from './admin.js';
import { defineAggregates } from './aggregates.js';
import { createBuilder } from './builder.js';
import { defineEntityTypes } from './entities.js';
import { defineMutations } from './mutations.js';
import { defineReadInputs } from './inputs.js';
import { defineQueries } from './queries.js';
import { defineSearch } from './search.js';

export function buildSchema(catalog: Catalog): GraphQLSchema {
  const builder = createBuilder();
  const entityTypes = defineEntityTypes(builder, catalog);
  for (const types of entityTypes.values()) {
    defineQueries(builder, types);
    defineMutations(builder, types);
  }
  const inputs = defineReadInputs(builder, catalog, entityTypes);
  defineSearch(builder, catalog, entityTypes, inputs);
  defineAggregates(builder, catalog, entityTypes, inputs);
  defineAdmin(builder);
  return builder.toSchema({ sortSchema: false });
}

/** SDL in a stable order, for schema/schema.graphql and its snapshot test. */
export function printGatewaySchema(catalog: Catalog): string {
  return printSchema(lexicographicSortSchema(buildSchema(catalog)));
}
