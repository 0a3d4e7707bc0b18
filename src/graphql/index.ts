// Public face of the GraphQL layer: the schema generated from the catalog and the Yoga server.
export type {
  AdminOperations,
  EntityLakeStatus,
  CompactReport,
  FlushReport,
  GatewayContext,
  GatewayServices,
  JobReport,
  RebuildResult,
  VerifyResult,
} from './builder.js';
export { buildSchema, printGatewaySchema } from './schema.js';
export { createGatewayYoga, documentCacheOf, type GatewayYoga, type RequestBounds } from './server.js';
export { createProjectEndpoints, type ProjectEndpoints, type ProjectEndpointsOptions } from './projects.js';
