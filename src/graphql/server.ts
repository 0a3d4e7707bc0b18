// The Yoga server: schema, per-request context, error mapping and request ids, each a small plugin.
import { randomUUID } from 'node:crypto';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Catalog } from '../catalog/index.js';
import { loadConfig } from '../config/index.js';
import { GatewayError } from '../errors/index.js';
import type { GatewayMetrics } from '../metrics/index.js';
import { isTransientPgError, type Readiness } from '../oltp/index.js';
import { RequestAccess } from './access.js';
import { createAuthenticator, useAuthentication, type AuthSettings, type Session } from './auth.js';
import { RowBudget, useResponseSizeLimit, useRowBudget } from './bounds.js';
import type { GatewayContext, GatewayServices } from './builder.js';
import { useCompiledMutations } from './compiled-mutations.js';
import { boundedParserCache, type DocumentCache, type DocumentCacheSettings } from './document-cache.js';
import { createLoaders } from './loaders.js';
import { useMetricsEndpoint, useReadiness, useRequestMetrics } from './probes.js';
import { requestSearch } from './request-search.js';
import { RequestSnapshot, useRequestSnapshot } from './request-snapshot.js';
import { RoleSchemas } from './role-schema.js';
import { corsFor, operationSafetyPlugins, requestSafetyPlugins, type WebSafetySettings } from './web-safety.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
const requestIds = new WeakMap<Request, string>();

/** The caller's x-request-id (the header's value) when it is sane, else a new one. */
export function requestIdFrom(given: string | null | undefined): string {
  return given && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

/** requestIdFrom, stable per request. */
function requestIdOf(request: Request): string {
  let id = requestIds.get(request);
  if (!id) {
    id = requestIdFrom(request.headers.get('x-request-id'));
    requestIds.set(request, id);
  }
  return id;
}

/** Echoes the request id, so a user can quote it when reporting an internal error. */
function useRequestIdHeader(): Plugin {
  return {
    onResponse({ request, response }) {
      response.headers.set('x-request-id', requestIdOf(request));
    },
  };
}

/** Logs errors that are not the user's (they are masked in the response) with the request id. */
function useInternalErrorLog(): Plugin<GatewayContext> {
  return {
    onExecute({ args }) {
      return {
        onExecuteDone({ result }) {
          if (!('errors' in result) || !result.errors) return;
          for (const error of result.errors) {
            const original = error.originalError;
            if (original && !(original instanceof GatewayError) && !(original instanceof GraphQLError)) {
              args.contextValue.log.error({ err: original, path: error.path }, 'internal error');
            }
          }
        },
      };
    },
  };
}

/**
 * Each request is parsed, validated and executed against its role's schema (role-schema.ts); the
 * admin credential gets the whole one. Runs after authentication (onParams), before parsing.
 */
function useRoleSchema(full: GraphQLSchema, roleSchemas: RoleSchemas, sessions: WeakMap<Request, Session>): Plugin {
  return {
    // Envelop keeps the schema set here for the next request too, and reads it synchronously for
    // this one (as Yoga's own schema factory does): so it is set on every request, the admin's too.
    onEnveloped({ context, setSchema }) {
      const session = context && 'request' in context ? sessions.get((context as { request: Request }).request) : undefined;
      setSchema(session && !session.admin ? roleSchemas.of(session.role) : full);
    },
  };
}

/** Gateway errors keep their message and get a code; anything unexpected is masked. */
function maskError(error: unknown, message: string): Error {
  if (error instanceof GraphQLError) {
    const original = error.originalError;
    if (original instanceof GatewayError) {
      return new GraphQLError(original.message, {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: original.code },
      });
    }
    // Parse, validation and scalar errors describe the user's document: show them as they are.
    if (!original || original instanceof GraphQLError) return error;
    // 57014 query_canceled: the request pool's statement_timeout (STATEMENT_TIMEOUT_MS) stopped a statement.
    if ((original as { code?: unknown }).code === '57014') {
      return new GraphQLError('a database statement ran past its time bound (STATEMENT_TIMEOUT_MS) and was stopped; narrow the request', {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: 'TIMEOUT' },
      });
    }
    // Postgres down, restarting or dropping connections: a retryable condition, not a bug. A write
    // whose connection died at COMMIT may have been applied, so the message asks to check first.
    if (isTransientPgError(original)) {
      return new GraphQLError(
        'the database is unavailable (a lost or refused connection); retry shortly — a write may or may not have been applied, so check it before repeating it',
        { nodes: error.nodes, path: error.path, extensions: { code: 'UNAVAILABLE' } },
      );
    }
  }
  return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

/** GraphiQL's first query: a search and a count over the first entity the catalog defines. */
function exampleQuery(catalog: Catalog): string {
  const entity = catalog.entities[0];
  if (!entity) return '{ __typename }';
  const fields = entity.attributes.filter((a) => a.type !== 'ref' && a.type !== 'json').slice(0, 4).map((a) => a.name);
  return [
    `# Searches read the lake and the unflushed changes, fresh to the last commit.`,
    `{`,
    `  ${entity.name}(limit: 10, order_by: [{time_slot: desc}]) {`,
    `    row_id ${fields.join(' ')}`,
    `  }`,
    `  ${entity.name}_aggregate { aggregate { count } }`,
    `}`,
    ``,
  ].join('\n');
}

const defaults = loadConfig({});
const DEFAULT_BOUNDS: RequestBounds = {
  maxRows: defaults.request.maxRows,
  maxResponseBytes: defaults.request.maxResponseBytes,
  documentCache: defaults.documentCache,
};
const { statementTimeoutMs: _pg, persistedOperationsFile: _file, ...webSafetyDefaults } = defaults.webSafety;
/** The configuration's defaults of MAX_DEPTH, MAX_ALIASES, …, CORS_ORIGINS (no allow-list). */
export const DEFAULT_WEB_SAFETY: WebSafetySettings = webSafetyDefaults;

export type GatewayYoga = YogaServerInstance<Record<string, never>, GatewayContext>;

/** What one request may make the process hold (MAX_ROWS_PER_REQUEST, MAX_RESPONSE_BYTES, DOCUMENT_CACHE_*). */
export interface RequestBounds {
  maxRows: number;
  maxResponseBytes: number;
  documentCache: DocumentCacheSettings;
}

export function createGatewayYoga(options: {
  schema: GraphQLSchema;
  services: GatewayServices;
  /** Who may call: the admin token, JWT verification, the anonymous role (none: every request is refused). */
  auth: AuthSettings;
  /** API limits, allow-list, introspection, GraphiQL, CORS (default: the configuration's defaults). */
  webSafety?: WebSafetySettings;
  /** Serves /metrics and times requests. */
  metrics?: GatewayMetrics;
  /** Serves /readyz (200 when ready, else 503 with the reason). */
  readiness?: () => Promise<Readiness>;
  /** Default: the configuration's defaults. */
  bounds?: RequestBounds;
  /** The project this server answers for (ctx.project); default the catalog's first. See projects.ts. */
  project?: string;
  /** Path (a URLPattern) of GraphQL and GraphiQL, and where GraphiQL sends requests; default /graphql. */
  endpoint?: { pattern: string; graphiql: string };
  /** A parse cache shared with the servers of other projects, so its bound holds for the process. */
  parserCache?: ReturnType<typeof boundedParserCache>;
  /** Other projects are served by the same process (a JWT must then name its project). */
  sharedProcess?: boolean;
}): GatewayYoga {
  const { services } = options;
  const bounds = options.bounds ?? DEFAULT_BOUNDS;
  const parserCache = options.parserCache ?? boundedParserCache(bounds.documentCache);
  const project = options.project ?? services.catalog.projectNames[0] ?? '';
  const safety: WebSafetySettings = options.webSafety ?? DEFAULT_WEB_SAFETY;
  const authenticator = createAuthenticator(options.auth);
  const sessions = new WeakMap<Request, Session>();
  const roleSchemas = new RoleSchemas(options.schema, services.catalog);
  const yoga = createYoga<Record<string, never>, GatewayContext>({
    schema: options.schema,
    graphqlEndpoint: options.endpoint?.pattern ?? '/graphql',
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    // The bundled GraphiQL works offline, unlike the default that loads from a CDN.
    renderGraphiQL,
    graphiql: safety.graphiql
      ? {
          title: options.project ? `LTBase Analytics Gateway: ${options.project}` : 'LTBase Analytics Gateway',
          defaultQuery: exampleQuery(services.catalog),
          endpoint: options.endpoint?.graphiql ?? '/graphql',
        }
      : false,
    cors: corsFor(safety.corsOrigins),
    maxRequestBodySize: safety.maxRequestBytes,
    logging: {
      debug: (...args) => services.log.debug(args.map(String).join(' ')),
      info: (...args) => services.log.info(args.map(String).join(' ')),
      warn: (...args) => services.log.warn(args.map(String).join(' ')),
      // Yoga reports every resolver error here, the user's too; internal ones are logged with the
      // request id by useInternalErrorLog, so these are only of interest when debugging.
      error: (...args) => services.log.debug(args.map(String).join(' ')),
    },
    maskedErrors: { maskError },
    parserAndValidationCache: parserCache,
    plugins: [
      useRequestIdHeader(),
      useInternalErrorLog(),
      ...requestSafetyPlugins(safety),
      useAuthentication(authenticator, sessions, { project, shared: options.sharedProcess ?? false }),
      useRoleSchema(options.schema, roleSchemas, sessions),
      ...operationSafetyPlugins(safety, (request) => authenticator.isAdmin(request.headers)),
      ...(options.readiness ? [useReadiness(options.readiness)] : []),
      ...(options.metrics ? [useMetricsEndpoint(options.metrics), useRequestMetrics(options.metrics)] : []),
      useCompiledMutations(),
      useRowBudget(),
      useResponseSizeLimit(bounds.maxResponseBytes),
      // Last: it adds the snapshot's time_slot to the final result.
      useRequestSnapshot(),
    ],
    context: ({ request }) => {
      const requestId = requestIdOf(request);
      const session = sessions.get(request);
      // useAuthentication runs before any document is parsed; no session here is a wiring bug.
      if (!session) throw new Error('no session: the authentication plugin did not run');
      const budget = new RowBudget(bounds.maxRows);
      const snapshot = new RequestSnapshot(services.search);
      const access = new RequestAccess(services.catalog, session);
      const search = requestSearch(snapshot.search, budget, access.rowFilters);
      return {
        services,
        project,
        requestId,
        isAdmin: session.admin,
        session,
        access,
        log: services.log.child({ requestId }),
        loaders: createLoaders(services, search, budget, access),
        budget,
        search,
        snapshot,
      } satisfies GatewayContext;
    },
  });
  parserCaches.set(yoga, parserCache.documentCache);
  return yoga;
}

const parserCaches = new WeakMap<GatewayYoga, DocumentCache<DocumentNode>>();

/** The parsed-document cache a server keeps (to see its bound hold in tests and metrics). */
export function documentCacheOf(yoga: GatewayYoga): DocumentCache<DocumentNode> | undefined {
  return parserCaches.get(yoga);
}
