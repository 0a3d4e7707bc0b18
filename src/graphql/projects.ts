// One GraphQL endpoint per project (tenant), /graphql/<project>, each a whole gateway server over
// that project's schema and catalog; a small router in front picks one by the request's path.
//
// Why a server per project and not one Yoga with a schema factory: each project's server is the
// same createGatewayYoga as before, so request ids, error masking, the bounds, the probes and any
// plugin added there later run unchanged; the project is a constant of its server (ctx.project),
// not something each plugin reads back from the URL; services.catalog is the project's own
// catalog, so every lookup by name a resolver makes (ref filters, admin calls) cannot reach
// another project; GraphiQL opens on the project's endpoint with an example of its entities.
// The servers share one parse cache, so DOCUMENT_CACHE_* stays a bound of the process (Yoga caches
// validation per schema). /healthz, /readyz and /metrics are the process's: the first project's
// server answers them. Plain /graphql is the only project's endpoint when there is one, and
// otherwise an error that lists the endpoints.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig } from '../config/index.js';
import { boundedParserCache } from './document-cache.js';
import { createGatewayYoga, requestIdFrom, type GatewayYoga } from './server.js';
import { buildSchema } from './schema.js';

export type ProjectEndpointsOptions = Omit<Parameters<typeof createGatewayYoga>[0], 'schema' | 'project' | 'endpoint' | 'parserCache' | 'sharedProcess'>;

export interface ProjectEndpoints {
  /** The projects served, in definition order. */
  readonly projects: readonly string[];
  /** The path of a project's endpoint: /graphql/<project>. */
  endpointOf(project: string): string;
  /** The server of one project (NotFoundError-free: undefined for an unknown project). */
  yogaOf(project: string): GatewayYoga | undefined;
  /** Fetch API entry: the router without a port (tests). */
  fetch(url: string, init?: RequestInit): Promise<Response>;
  /** node:http request listener. */
  handleNode(request: IncomingMessage, response: ServerResponse): void;
}

/** Where a request goes: a project's server, or an error the router answers itself. */
type Route = { yoga: GatewayYoga } | { status: number; message: string };

const GRAPHQL_PATH = /^\/graphql(?:\/([^/]*))?\/?$/;

export function createProjectEndpoints(options: ProjectEndpointsOptions): ProjectEndpoints {
  const { catalog } = options.services;
  const projects = catalog.projectNames;
  const single = projects.length === 1;
  const endpointOf = (project: string) => `/graphql/${project}`;
  const parserCache = boundedParserCache(options.bounds?.documentCache ?? loadConfig({}).documentCache);
  const servers = new Map<string, GatewayYoga>(
    projects.map((project) => [
      project,
      createGatewayYoga({
        ...options,
        schema: buildSchema(catalog, project),
        services: { ...options.services, catalog: catalog.project(project) },
        project,
        // Project names match ^[a-z][a-z0-9_]*$: a literal in a URLPattern.
        endpoint: { pattern: single ? `/graphql{/${project}}?{/}?` : endpointOf(project), graphiql: endpointOf(project) },
        parserCache,
        sharedProcess: !single,
      }),
    ]),
  );
  const fallback = servers.get(projects[0]!)!;
  const listing = () => projects.map(endpointOf).join(', ');

  const route = (pathname: string): Route => {
    const match = GRAPHQL_PATH.exec(pathname);
    if (!match) return { yoga: fallback }; // probes, metrics, or a 404 from Yoga
    const project = match[1];
    if (!project) {
      return single
        ? { yoga: fallback }
        : { status: 404, message: `this gateway serves several projects, each at its own endpoint: ${listing()}` };
    }
    const yoga = servers.get(project);
    return yoga ? { yoga } : { status: 404, message: `unknown project "${project}": the endpoints are ${listing()}` };
  };
  const errorBody = (message: string) =>
    JSON.stringify({ errors: [{ message, extensions: { code: 'NOT_FOUND', endpoints: projects.map(endpointOf) } }] });

  return {
    projects,
    endpointOf,
    yogaOf: (project) => servers.get(project),
    async fetch(url, init) {
      const target = route(new URL(url, 'http://localhost').pathname);
      if ('yoga' in target) return target.yoga.fetch(url, init ?? {});
      // The router's own answers carry a request id too, as the servers' do.
      const requestId = requestIdFrom(new Headers(init?.headers).get('x-request-id'));
      return new Response(errorBody(target.message), { status: target.status, headers: { 'content-type': 'application/json', 'x-request-id': requestId } });
    },
    handleNode(request, response) {
      const target = route(new URL(request.url ?? '/', 'http://localhost').pathname);
      if ('yoga' in target) {
        void target.yoga(request, response);
        return;
      }
      const given = request.headers['x-request-id'];
      const requestId = requestIdFrom(Array.isArray(given) ? given[0] : given);
      response.writeHead(target.status, { 'content-type': 'application/json', 'x-request-id': requestId }).end(errorBody(target.message));
    },
  };
}
