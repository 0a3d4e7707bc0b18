// API limits and web safety through yoga.fetch (and one real HTTP server for body sizes): depth, aliases, tokens, cost, body size, CSRF, CORS, GET, allow-list, introspection, GraphiQL, statement_timeout.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestDatabaseUrl } from '../../src/cli/serve.js';
import { ConfigError } from '../../src/errors/index.js';
import { DEFAULT_WEB_SAFETY, operationHash, type GatewayYoga, type WebSafetySettings } from '../../src/graphql/index.js';
import { parsePersistedOperations } from '../../src/graphql/web-safety.js';
import { startTestGateway, TEST_ADMIN_TOKEN, type GraphQLResponse, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw?.close());

const changes = async () => Number((await gw.oltp.pool.query('SELECT count(*) AS n FROM change_log')).rows[0].n);

function yogaWith(webSafety: Partial<WebSafetySettings>): GatewayYoga {
  return gw.yogaWith({ webSafety: { ...DEFAULT_WEB_SAFETY, ...webSafety } });
}

interface Answer extends GraphQLResponse {
  status: number;
  headers: Headers;
  text: string;
}

async function send(yoga: GatewayYoga, init: RequestInit & { path?: string }): Promise<Answer> {
  const response = await yoga.fetch(`http://test${init.path ?? '/graphql'}`, init);
  const text = await response.text();
  let body: GraphQLResponse = {};
  try {
    body = JSON.parse(text) as GraphQLResponse;
  } catch {
    // not JSON (GraphiQL's page, an empty 204)
  }
  return { status: response.status, headers: response.headers, text, ...body };
}

const post = (yoga: GatewayYoga, query: string, headers: Record<string, string> = {}, variables?: unknown) =>
  send(yoga, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });

describe('operation limits (graphql-armor), each error naming its variable', () => {
  it('refuses a selection deeper than MAX_DEPTH', async () => {
    const yoga = yogaWith({ maxDepth: 3 });
    expect((await post(yoga, '{ orders(limit: 1) { customer { name } } }')).errors).toBeUndefined();
    const deep = await post(yoga, '{ orders(limit: 1) { customer { orders { customer { name } } } } }');
    expect(deep.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    expect(deep.errors?.[0]?.message).toContain('MAX_DEPTH=3');
    expect(deep.data).toBeUndefined();
  });

  it('refuses more aliases than MAX_ALIASES', async () => {
    const yoga = yogaWith({ maxAliases: 3 });
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: orders(limit: 1) { total }`).join(' ')} }`;
    expect((await post(yoga, aliases(3))).errors).toBeUndefined();
    const many = await post(yoga, aliases(4));
    expect(many.errors?.[0]?.message).toContain('MAX_ALIASES=3');
    expect(many.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
  });

  it('refuses a document of more tokens than MAX_TOKENS', async () => {
    const yoga = yogaWith({ maxTokens: 200 });
    const answer = await post(yoga, `{ orders(where: {total: {_in: [${Array.from({ length: 300 }, (_, i) => i).join(', ')}]}}) { total } }`);
    expect(answer.errors?.[0]?.message).toContain('MAX_TOKENS=200');
    expect(answer.data).toBeUndefined();
  });

  it('refuses a query costing more than MAX_QUERY_COST, the admin too', async () => {
    const yoga = yogaWith({ maxCost: 20 });
    const query = '{ orders { total note paid placed_at customer { name country tier orders { total note } } } }';
    for (const headers of [{}, ADMIN]) {
      const answer = await post(yoga, query, headers);
      expect(answer.errors?.[0]?.message).toContain('MAX_QUERY_COST=20');
    }
  });
});

describe('input nesting (MAX_INPUT_DEPTH)', () => {
  it('refuses a variable or a document nested deeper, naming the limit, and answers one within it', async () => {
    const yoga = yogaWith({ maxInputDepth: 8 });
    const nest = (levels: number) => {
      let where: unknown = { total: { _eq: 1 } };
      for (let i = 0; i < levels; i++) where = { _and: [where] };
      return where;
    };
    const query = 'query($w: orders_bool_exp) { orders(where: $w) { total } }';
    expect((await post(yoga, query, {}, { w: nest(3) })).errors).toBeUndefined();
    const deep = await post(yoga, query, {}, { w: nest(5) });
    expect(deep.errors?.[0]?.message).toContain('variable $w nests objects and lists 12 deep');
    expect(deep.errors?.[0]?.message).toContain('MAX_INPUT_DEPTH');
    const inline = await post(yoga, `{ orders(where: ${'{_and: ['.repeat(5)}{total: {_eq: 1}}${']}'.repeat(5)}) { total } }`);
    expect(inline.errors?.[0]?.message).toContain('MAX_INPUT_DEPTH');
    expect(inline.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
  });
});

describe('request body size (MAX_REQUEST_BYTES)', () => {
  const body = (bytes: number) => JSON.stringify({ query: `{ orders(limit: 1) { total } }`, variables: { pad: 'x'.repeat(bytes) } });

  it('refuses a declared Content-Length over the limit before reading, and a longer body without one', async () => {
    const yoga = yogaWith({ maxRequestBytes: 4_096 });
    const before = await changes();
    const declared = await send(yoga, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '5000000' }, body: body(10) });
    expect(declared.status).toBe(413);
    expect(declared.errors?.[0]?.message).toContain('MAX_REQUEST_BYTES');
    const streamed = await send(yoga, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(10_000) });
    expect(streamed.status).toBe(413);
    expect(streamed.errors?.[0]?.message).toContain('MAX_REQUEST_BYTES');
    expect((await send(yoga, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(100) })).errors).toBeUndefined();
    expect(await changes()).toBe(before);
  });

  describe('over a real HTTP server', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      server = createServer(yogaWith({ maxRequestBytes: 64 * 1024 }));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('answers 413 to a 10 MB body and to a chunked one, and stays up', async () => {
      const big = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(10_000_000) }).catch((e: Error) => e);
      if (!(big instanceof Error)) {
        expect(big.status).toBe(413);
        expect(await big.text()).toContain('MAX_REQUEST_BYTES');
      }
      const chunks = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 40; i++) controller.enqueue(new TextEncoder().encode(i === 0 ? '{"query":"{ __typename }","pad":"' : 'x'.repeat(4_096)));
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
        },
      });
      const chunked = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunks, duplex: 'half' } as RequestInit).catch((e: Error) => e);
      if (!(chunked instanceof Error)) expect(chunked.status).toBe(413);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
    });
  });
});

describe('CSRF prevention and GET', () => {
  const mutation = 'mutation { insert_orders_one(object: {total: 666}) { row_id } }';

  it('refuses cross-site form posts (urlencoded, multipart, text/plain) and writes nothing', async () => {
    const before = await changes();
    const form = new URLSearchParams({ query: mutation });
    const multipart = new FormData();
    multipart.set('operations', JSON.stringify({ query: mutation }));
    for (const init of [
      { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { body: multipart },
      { body: JSON.stringify({ query: mutation }), headers: { 'content-type': 'text/plain' } },
    ] as RequestInit[]) {
      const answer = await send(gw.yoga, { method: 'POST', ...init });
      expect(answer.status).toBe(403);
      expect(answer.errors?.[0]?.message).toContain('CSRF');
    }
    expect(await changes()).toBe(before);
  });

  it('refuses a GET without a preflighted header, serves a query over GET with one, and never a mutation', async () => {
    const before = await changes();
    const get = (query: string, headers: Record<string, string> = {}) =>
      send(gw.yoga, { method: 'GET', path: `/graphql?query=${encodeURIComponent(query)}`, headers: { accept: 'application/json', ...headers } });
    expect((await get('{ orders(limit: 1) { total } }')).status).toBe(403);
    const query = await get('{ orders(limit: 1) { total } }', { 'x-graphql-yoga-csrf': '1' });
    expect(query.status).toBe(200);
    expect(query.errors).toBeUndefined();
    const viaGet = await get(mutation, { 'x-graphql-yoga-csrf': '1' });
    expect(viaGet.status).toBe(405);
    expect(viaGet.errors?.[0]?.message).toMatch(/mutation/i);
    expect(await changes()).toBe(before);
  });
});

describe('CORS (CORS_ORIGINS)', () => {
  it('reflects no origin by default, and only a listed one (with credentials) when configured', async () => {
    const ask = (yoga: GatewayYoga, origin: string, method = 'POST') =>
      send(yoga, {
        method,
        headers: { origin, 'content-type': 'application/json', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
        ...(method === 'POST' ? { body: JSON.stringify({ query: '{ __typename }' }) } : {}),
      });
    const closed = await ask(gw.yoga, 'https://evil.example');
    expect(closed.headers.get('access-control-allow-origin')).toBeNull();
    expect(closed.headers.get('access-control-allow-credentials')).toBeNull();

    const yoga = yogaWith({ corsOrigins: ['https://app.example.com', 'https://admin.example.com'] });
    const listed = await ask(yoga, 'https://app.example.com');
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
    const preflight = await ask(yoga, 'https://admin.example.com', 'OPTIONS');
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'null']) {
      const other = await ask(yoga, origin, 'OPTIONS');
      expect(other.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(other.headers.get('access-control-allow-credentials'), origin).toBeNull();
    }
  });
});

describe('introspection and GraphiQL switches', () => {
  it('refuses __schema and __type with INTROSPECTION=false, and hides field suggestions', async () => {
    const yoga = yogaWith({ introspection: false });
    const answer = await post(yoga, '{ __schema { types { name } } }');
    expect(answer.errors?.[0]?.message).toContain('introspection');
    expect((await post(yoga, '{ __type(name: "orders") { name } }')).errors).toBeDefined();
    const typo = await post(yoga, '{ orderz { total } }');
    expect(typo.errors?.[0]?.message).not.toContain('Did you mean');
    expect((await post(gw.yoga, '{ orderz { total } }')).errors?.[0]?.message).toContain('Did you mean');
  });

  it('serves no GraphiQL page with GRAPHIQL=false', async () => {
    const page = (yoga: GatewayYoga) => send(yoga, { method: 'GET', headers: { accept: 'text/html' } });
    expect((await page(gw.yoga)).text).toContain('<html');
    const off = await page(yogaWith({ graphiql: false }));
    expect(off.text).not.toContain('<html');
  });
});

describe('persisted operations (PERSISTED_OPERATIONS_FILE)', () => {
  const allowed = 'query TopOrders { orders(limit: 2) { total } }';
  const hash = operationHash(allowed);

  it('runs only listed operations by hash; the admin may send any', async () => {
    const yoga = yogaWith({ persistedOperations: parsePersistedOperations(JSON.stringify({ [hash]: allowed }), 'ops.json') });
    const byHash = await send(yoga, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    });
    expect(byHash.errors).toBeUndefined();
    expect(Array.isArray(byHash.data.orders)).toBe(true);
    const arbitrary = await post(yoga, '{ orders { total } }');
    expect(arbitrary.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ONLY');
    expect(arbitrary.errors?.[0]?.message).toContain('PERSISTED_OPERATIONS_FILE');
    const unknown = await send(yoga, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }),
    });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post(yoga, '{ orders(limit: 1) { total } }', ADMIN)).errors).toBeUndefined();
  });

  it('refuses a file whose key is not the hash of its text, naming the key', () => {
    expect(() => parsePersistedOperations(JSON.stringify({ abc: allowed }), 'ops.json')).toThrow(ConfigError);
    expect(() => parsePersistedOperations(JSON.stringify({ abc: allowed }), 'ops.json')).toThrow(/"abc" is not the SHA-256/);
    expect(() => parsePersistedOperations('[', 'ops.json')).toThrow(/ops.json: not JSON/);
  });
});

describe('statement_timeout of the request pool (STATEMENT_TIMEOUT_MS)', () => {
  it('bounds statements on connections of the request URL, and leaves the URL alone at 0', async () => {
    expect(requestDatabaseUrl('postgres://u:p@h:5432/db', 0)).toBe('postgres://u:p@h:5432/db');
    expect(requestDatabaseUrl('postgres://u:p@h:5432/db?sslmode=disable', 250)).toBe('postgres://u:p@h:5432/db?sslmode=disable&statement_timeout=250');
    const client = new pg.Client({ connectionString: requestDatabaseUrl(gw.databaseUrl, 250) });
    await client.connect();
    try {
      expect((await client.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('250ms');
      await expect(client.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
    } finally {
      await client.end();
    }
    // the maintenance pool (migrations, flush, compaction) is unbounded
    expect((await gw.oltp.pool.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('0');
  });
});
