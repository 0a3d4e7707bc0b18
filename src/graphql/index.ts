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
export { createAuthenticator, type AuthSettings, type Session } from './auth.js';
export { loadPersistedOperations, operationHash, type WebSafetySettings } from './web-safety.js';
export { buildSchema, printGatewaySchema } from './schema.js';
export { createGatewayYoga, DEFAULT_WEB_SAFETY, documentCacheOf, type GatewayYoga, type RequestBounds } from './server.js';
export { createProjectEndpoints, type ProjectEndpoints, type ProjectEndpointsOptions } from './projects.js';
