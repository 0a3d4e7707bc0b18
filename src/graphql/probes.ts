// Seen from outside: /readyz (readiness), /metrics (Prometheus) and the request-time metric, each a
// small Yoga plugin. /healthz (Yoga's own) stays liveness: it answers while the process runs.
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayMetrics } from '../metrics/index.js';
import type { Readiness } from '../oltp/index.js';

/** `/readyz`: 200 while `check` says ready, else 503 with the reason, as JSON. */
export function useReadiness(check: () => Promise<Readiness>, endpoint = '/readyz'): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== endpoint) return;
      const readiness = await check().catch((error: Error): Readiness => ({ ready: false, reason: error.message }));
      endResponse(
        new fetchAPI.Response(JSON.stringify(readiness.ready ? { status: 'ready' } : { status: 'not ready', reason: readiness.reason }), {
          status: readiness.ready ? 200 : 503,
          headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        }),
      );
    },
  };
}

/** `/metrics`: the registry's text for a Prometheus scrape. */
export function useMetricsEndpoint(metrics: GatewayMetrics, endpoint = '/metrics'): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== endpoint) return;
      endResponse(new fetchAPI.Response(await metrics.scrape(), { status: 200, headers: { 'content-type': metrics.contentType } }));
    },
  };
}

interface RequestTiming {
  started: number;
  operationType?: string;
  operationName?: string;
}

/**
 * Times each GraphQL request (request in to response out) by operation type and name. A request
 * that never reaches execution (a parse or validation error) counts as type "invalid".
 */
export function useRequestMetrics(metrics: GatewayMetrics): Plugin {
  const timings = new WeakMap<Request, RequestTiming>();
  return {
    onRequest({ request }) {
      timings.set(request, { started: performance.now() });
    },
    onParams({ params, request }) {
      const timing = timings.get(request);
      if (timing) timing.operationName = params.operationName ?? '';
    },
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const timing = request && timings.get(request);
      if (!timing) return;
      const operation = getOperationAST(args.document, args.operationName);
      timing.operationType = operation?.operation ?? 'invalid';
      timing.operationName = operation?.name?.value ?? args.operationName ?? '';
    },
    onResponse({ request }) {
      const timing = timings.get(request);
      // Only GraphQL requests (those whose parameters were read): not /healthz, /metrics or GraphiQL's page.
      if (!timing || timing.operationName === undefined) return;
      metrics.observeRequest(timing.operationType ?? 'invalid', timing.operationName, (performance.now() - timing.started) / 1000);
    },
  };
}
