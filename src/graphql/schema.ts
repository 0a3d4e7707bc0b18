// Builds one project's GraphQL schema from the catalog; needs no database, so it can also be printed.
// Each project has a schema of its own (served at /graphql/<project>): another project's entities
// are not in it, so no field, filter or type of this schema can name them.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import type { Catalog } from '../catalog/index.js';
import { ConfigError } from '../errors/index.js';
import { defineAdmin } from './admin.js';
import { defineAggregates } from './aggregates.js';
import { createBuilder } from './builder.js';
import { defineEntityTypes } from './entities.js';
import { defineMutations } from './mutations.js';
import { defineReadInputs } from './inputs.js';
import { checkPermissions } from './permission-check.js';
import { defineQueries } from './queries.js';
import { schemaForRole } from './role-schema.js';
import { defineSearch } from './search.js';

/** The schema of `project`, or of the catalog's only project when none is named. */
export function buildSchema(catalog: Catalog, project?: string): GraphQLSchema {
  const scoped = catalog.project(project ?? onlyProject(catalog));
  checkPermissions(scoped);
  const builder = createBuilder();
  const entityTypes = defineEntityTypes(builder, scoped);
  for (const types of entityTypes.values()) {
    defineQueries(builder, types);
    defineMutations(builder, types);
  }
  const inputs = defineReadInputs(builder, scoped, entityTypes);
  defineSearch(builder, scoped, entityTypes, inputs);
  defineAggregates(builder, scoped, entityTypes, inputs);
  defineAdmin(builder);
  return builder.toSchema({ sortSchema: false });
}

function onlyProject(catalog: Catalog): string {
  const names = catalog.projectNames;
  if (names.length !== 1) {
    throw new ConfigError(`the definitions hold ${names.length} projects (${names.join(', ')}), each with a schema of its own: name one`);
  }
  return names[0]!;
}

/** SDL in a stable order, for schema/schema.graphql and its snapshot test; of one role's schema when `role` is given. */
export function printGatewaySchema(catalog: Catalog, project?: string, role?: string): string {
  const name = project ?? onlyProject(catalog);
  const full = buildSchema(catalog, name);
  return printSchema(lexicographicSortSchema(role ? schemaForRole(full, catalog.project(name), role) : full));
}
