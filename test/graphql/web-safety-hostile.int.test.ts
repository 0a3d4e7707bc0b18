// At least 500 generated hostile or malformed requests: each gets a clear error or a correct answer, the server stays up, nothing is written.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEB_SAFETY } from '../../src/graphql/index.js';
import { startTestGateway, TEST_ADMIN_TOKEN, type TestGateway } from '../support/gateway.js';

const SECRET = 'hostile-test-secret-of-32-characters!!';
let gw: TestGateway;
let userAuth: string;

beforeAll(async () => {
  gw = await startTestGateway({
    auth: { adminToken: TEST_ADMIN_TOKEN, jwt: { secret: SECRET } },
    webSafety: { ...DEFAULT_WEB_SAFETY, maxRequestBytes: 1024 * 1024 },
  });
  // The demo's analyst (schema/demo.json): reads its country's rows, may update and delete some.
  userAuth = `Bearer ${await new SignJWT({ 'https://hasura.io/jwt/claims': { 'x-hasura-allowed-roles': ['analyst'], 'x-hasura-default-role': 'analyst', 'x-hasura-country': 'DE' } })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET))}`;
  const customer = await gw.gql(
    `mutation { insert_customers_one(object: {name: "Ada", country: "DE"}) { row_id } }`,
    undefined,
    { admin: true },
  );
  expect(customer.errors).toBeUndefined();
  const c = customer.data.insert_customers_one.row_id;
  const seeded = await gw.gql(
    `mutation { insert_orders(objects: [{customer: "${c}", total: 1, note: "first", quantity: 1}, {customer: "${c}", total: 2, note: "second", quantity: 2}, {customer: "${c}", total: 3, note: "third"}]) { affected_rows } }`,
    undefined,
    { admin: true },
  );
  expect(seeded.errors).toBeUndefined();
});
afterAll(() => gw?.close());

/** Strings no stored value equals: SQL and GraphQL injection, NUL and control bytes, odd Unicode, long text. */
const HOSTILE_STRINGS = [
  "' OR 1=1 --",
  "'; DROP TABLE change_log; --",
  '"; DELETE FROM entity_rows; --',
  "' UNION SELECT row_id, NULL FROM change_log --",
  "\\'; SELECT pg_sleep(5); --",
  '$1',
  '$$; DROP TABLE x; $$',
  'E\'\\x00\'',
  '\u0000',
  'a\u0000b',
  '\u0000\u0001\u0002\u001f',
  '\r\n\r\nHTTP/1.1 200 OK',
  '\t\v\f',
  '\u202eevil\u202c',
  '\ud800',
  '\udfff\ud800',
  '😀👍🏽‍',
  'ﬁ ǅ Å Å',
  '\u2028\u2029\u0085',
  '%',
  '_',
  '%_%\\%',
  '\\',
  '} } mutation { insert_orders_one(object: {total: 9}) { row_id } } {',
  '{"_or": [{}]}',
  '__proto__',
  'constructor',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  'x'.repeat(100_000),
  'ä'.repeat(20_000),
  'null',
  '',
];

/**
 * Defects found by these requests in code this suite does not own, answered today with a masked
 * internal error (the server stays up, nothing is written); each has its own failing test below.
 */
// Defects these requests found are fixed (a LIKE pattern ending in a backslash; 60,000 sort terms):
// a new one is listed here only while it is being fixed.
const KNOWN_DEFECTS: RegExp[] = [];

interface HostileRequest {
  name: string;
  init: RequestInit & { path?: string };
  /** A correct answer to check, when the request is a valid question. */
  expect?: (data: any) => void;
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

function hostileRequests(): HostileRequest[] {
  const requests: HostileRequest[] = [];
  const add = (name: string, init: RequestInit, expectation?: (data: any) => void) => requests.push({ name, init, expect: expectation });
  const asUser = (query: string, variables?: unknown, extra: Record<string, string> = {}) => json({ query, variables }, { authorization: userAuth, ...extra });
  const none = (data: any, field: string) => expect(data[field], field).toEqual([]);

  for (const [i, s] of HOSTILE_STRINGS.entries()) {
    const literal = JSON.stringify(s); // a GraphQL string literal (JSON's escapes are GraphQL's)
    add(`#${i} _eq variable`, asUser('query($s: String) { orders(where: {note: {_eq: $s}}) { row_id } }', { s }), (d) => none(d, 'orders'));
    add(`#${i} _eq literal`, asUser(`{ orders(where: {note: {_eq: ${literal}}}) { row_id } }`), (d) => none(d, 'orders'));
    add(`#${i} _in variable`, asUser('query($s: String!) { orders(where: {note: {_in: [$s, $s]}}) { row_id } }', { s }), (d) => none(d, 'orders'));
    add(`#${i} _like variable`, asUser('query($s: String) { orders(where: {note: {_like: $s}}) { note } }', { s }));
    add(`#${i} _ilike in _or`, asUser('query($s: String) { orders(where: {_or: [{note: {_ilike: $s}}, {note: {_eq: $s}}]}) { note } }', { s }));
    add(`#${i} aggregate where`, asUser('query($s: String) { orders_aggregate(where: {note: {_eq: $s}}) { aggregate { count } } }', { s }), (d) =>
      expect(d.orders_aggregate.aggregate.count).toBe(0),
    );
    add(`#${i} order_by enum literal`, asUser(`{ orders(order_by: {total: ${s.replace(/[^A-Za-z_]/g, '') || 'x'}_x}) { row_id } }`));
    add(`#${i} order_by variable`, asUser('query($o: [orders_order_by!]) { orders(order_by: $o) { row_id } }', { o: [{ total: s }] }));
    add(`#${i} row_id of _by_pk`, asUser('query($s: UUID!) { orders_by_pk(row_id: $s) { row_id } }', { s }));
    add(`#${i} DateTime filter`, asUser('query($s: DateTime) { orders(where: {placed_at: {_gt: $s}}) { row_id } }', { s }));
    add(`#${i} BigInt filter`, asUser('query($s: BigInt) { orders(where: {quantity: {_eq: $s}}) { row_id } }', { s }));
    // A row that does not exist: the answer is null and nothing is written.
    add(`#${i} update of no row (writes nothing)`, asUser('mutation($s: String) { update_orders_by_pk(row_id: "00000000-0000-7000-8000-000000000000", _set: {note: $s}) { row_id } }', { s }), (d) =>
      expect(d.update_orders_by_pk).toBeNull(),
    );
    add(`#${i} delete by a hostile key`, asUser('mutation($s: UUID!) { delete_orders_by_pk(row_id: $s) { row_id } }', { s }));
    add(`#${i} insert without a credential`, json({ query: 'mutation($s: String) { insert_orders_one(object: {note: $s}) { row_id } }', variables: { s } }));
    add(`#${i} admin field as a user`, asUser('mutation($s: String!) { flush(entity: $s) { flushed } }', { s }));
    add(`#${i} operationName`, json({ query: '{ orders(limit: 1) { row_id } }', operationName: s }, { authorization: userAuth }));
    add(`#${i} as the document`, json({ query: s }, { authorization: userAuth }));
    // Headers carry bytes only: the strings a client can put in one.
    const header = s.replace(/[^\x20-\x7e]/g, '?').slice(0, 4_000);
    add(`#${i} x-request-id`, asUser('{ orders(where: {note: {_eq: "none"}}) { row_id } }', undefined, { 'x-request-id': header }), (d) => none(d, 'orders'));
    add(`#${i} x-hasura-role`, asUser('{ orders(limit: 1) { row_id } }', undefined, { 'x-hasura-role': header }));
    add(`#${i} bearer token`, json({ query: '{ orders(limit: 1) { row_id } }' }, { authorization: `Bearer ${header}` }));
    add(`#${i} admin secret`, json({ query: 'mutation { insert_orders_one(object: {total: 9}) { row_id } }' }, { 'x-hasura-admin-secret': header }));
  }

  const numbers: unknown[] = [-1, 0, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1e20, 1.5, -0, 1e308, '12', 'NaN', null, true, [1], { n: 1 }];
  for (const n of numbers) {
    const shown = JSON.stringify(n);
    add(`limit ${shown}`, asUser('query($n: Int) { orders(limit: $n) { row_id } }', { n }));
    add(`offset ${shown}`, asUser('query($n: Int) { orders(offset: $n) { row_id } }', { n }));
    add(`total _gt ${shown}`, asUser('query($n: Float) { orders(where: {total: {_gt: $n}}) { row_id } }', { n }));
    add(`quantity _eq ${shown}`, asUser('query($n: BigInt) { orders(where: {quantity: {_eq: $n}}) { row_id } }', { n }));
  }
  for (const literal of ['-1', '2147483648', '1e400', '99999999999999999999999999', '0x10', '1_000']) {
    add(`limit literal ${literal}`, asUser(`{ orders(limit: ${literal}) { row_id } }`));
    add(`total literal ${literal}`, asUser(`{ orders(where: {total: {_lt: ${literal}}}) { row_id } }`));
  }
  for (const q of ['"9223372036854775807"', '"9223372036854775808"', '"-9223372036854775809"', '"1e3"', '"0x7f"']) {
    add(`BigInt ${q}`, asUser(`{ orders(where: {quantity: {_eq: ${q}}}) { row_id } }`));
  }

  // Built as text: JSON.stringify itself recurses, so a client could not even send 5,000 levels.
  const nest = (depth: number, op: '_and' | '_or' | '_not'): string =>
    op === '_not' ? `${'{"_not":'.repeat(depth)}{"total":{"_eq":1}}${'}'.repeat(depth)}` : `${`{"${op}":[`.repeat(depth)}{"total":{"_eq":1}}${']}'.repeat(depth)}`;
  for (const depth of [10, 100, 1_000, 5_000]) {
    for (const op of ['_and', '_or', '_not'] as const) {
      add(`${op} nested ${depth} deep (variables)`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: userAuth },
        body: `{"query": "query($w: orders_bool_exp) { orders(where: $w) { total } }", "variables": {"w": ${nest(depth, op)}}}`,
      });
    }
    add(`_and nested ${depth} deep (inline)`, asUser(`{ orders(where: ${'{_and: ['.repeat(depth)}{total: {_eq: 1}}${']}'.repeat(depth)}) { total } }`));
  }
  // Not 60,000 sort terms: DuckDB then takes all its memory (1.8 GiB) and fails — a defect of the
  // sorts room, reported, not run here on a shared machine.
  for (const size of [1_000, 10_000]) {
    add(`_in of ${size} strings`, asUser('query($v: [String!]) { orders(where: {note: {_in: $v}}) { row_id } }', { v: Array.from({ length: size }, (_, i) => `v${i}`) }), (d) =>
      none(d, 'orders'),
    );
    add(`_or of ${size} terms`, asUser('query($w: [orders_bool_exp!]) { orders(where: {_or: $w}) { row_id } }', { w: Array.from({ length: size }, (_, i) => ({ total: { _eq: -i - 1 } })) }));
    add(`order_by of ${size} terms`, asUser('query($o: [orders_order_by!]) { orders(order_by: $o, limit: 1) { row_id } }', { o: Array.from({ length: size }, () => ({ total: 'asc' })) }));
    add(`_in of ${size * 6} strings`, asUser('query($v: [String!]) { orders(where: {note: {_in: $v}}) { row_id } }', { v: Array.from({ length: size * 6 }, (_, i) => `v${i}`) }), (d) =>
      none(d, 'orders'),
    );
    add(`insert of ${size} objects without a credential`, json({ query: 'mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { affected_rows } }', variables: { o: Array.from({ length: size }, () => ({ total: 1 })) } }));
  }

  // A body that names a mutation goes without a credential: it must be refused, never run.
  const raw = (name: string, body: BodyInit | null, contentType?: string, method = 'POST', extra: Record<string, string> = {}) =>
    add(name, {
      method,
      headers: { ...(contentType ? { 'content-type': contentType } : {}), ...(typeof body === 'string' && body.includes('mutation') ? {} : { authorization: userAuth }), ...extra },
      body,
    });
  for (const [name, body] of [
    ['empty body', ''],
    ['truncated JSON', '{"query": "{ orders { row_id } }"'],
    ['null', 'null'],
    ['a number', '42'],
    ['an empty array', '[]'],
    ['an array of numbers', '[1, 2]'],
    ['query as a number', '{"query": 1}'],
    ['query null', '{"query": null}'],
    ['query as an object', '{"query": {"a": 1}}'],
    ['variables as a string', '{"query": "{ orders(limit: 1) { row_id } }", "variables": "x"}'],
    ['variables as an array', '{"query": "{ orders(limit: 1) { row_id } }", "variables": [1]}'],
    ['extensions as a string', '{"query": "{ orders(limit: 1) { row_id } }", "extensions": "x"}'],
    ['persistedQuery malformed', '{"extensions": {"persistedQuery": {"sha256Hash": 5}}}'],
    ['duplicate keys', '{"query": "{ orders(limit: 1) { row_id } }", "query": "mutation { insert_orders_one(object: {total: 9}) { row_id } }"}'],
    ['__proto__ pollution', '{"query": "query($a: String) { orders(where: {note: {_eq: $a}}) { row_id } }", "variables": {"__proto__": {"a": "first"}}}'],
    ['BOM then JSON', '\ufeff{"query": "{ orders(limit: 1) { row_id } }"}'],
    ['NUL in the document', '{"query": "{ orders\\u0000 { row_id } }"}'],
    ['a NUL byte body', '\u0000'],
    ['deeply nested JSON', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['a batch of 1000 operations', JSON.stringify(Array.from({ length: 1_000 }, () => ({ query: '{ orders(limit: 1) { row_id } }' })))],
    ['a subscription', '{"query": "subscription { orders { row_id } }"}'],
    ['two operations, none named', '{"query": "query A { orders(limit: 1) { row_id } } mutation B { insert_orders_one(object: {total: 9}) { row_id } }"}'],
    ['a mutation named as the operation under a query', '{"query": "query A { orders(limit: 1) { row_id } } mutation B { insert_orders_one(object: {total: 9}) { row_id } }", "operationName": "B", "variables": {}}'],
    ['a fragment cycle', '{"query": "{ orders { ...A } } fragment A on orders { customer { ...B } } fragment B on customers { orders { ...A } }"}'],
    ['a directive flood', JSON.stringify({ query: `{ orders(limit: 1) { row_id ${'@include(if: true) '.repeat(500)} } }` })],
    ['unknown directive', '{"query": "{ orders(limit: 1) @evil { row_id } }"}'],
  ] as const) {
    raw(name, body, 'application/json');
  }
  raw('invalid UTF-8', new Uint8Array([0x7b, 0x22, 0x71, 0xff, 0xfe, 0xc3, 0x28, 0x7d]), 'application/json');
  for (const type of ['text/plain', 'application/xml', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/graphql', 'image/png', '*/*', 'application/json, text/html']) {
    raw(`content-type ${type}`, '{"query": "mutation { insert_orders_one(object: {total: 9}) { row_id } }"}', type);
  }
  raw('no content-type', '{"query": "mutation { insert_orders_one(object: {total: 9}) { row_id } }"}');
  for (const method of ['PUT', 'DELETE', 'PATCH']) raw(`method ${method}`, '{"query": "mutation { insert_orders_one(object: {total: 9}) { row_id } }"}', 'application/json', method);
  add('mutation over GET', { method: 'GET', path: `/graphql?query=${encodeURIComponent('mutation { insert_orders_one(object: {total: 9}) { row_id } }')}`, headers: { authorization: userAuth } } as HostileRequest['init']);
  add('GET with a hostile query string', { method: 'GET', path: `/graphql?query=%00%ff&variables=%7B&operationName=${'x'.repeat(5_000)}`, headers: { authorization: userAuth } } as HostileRequest['init']);
  for (const mb of [1.5, 4]) {
    raw(`an oversized body of ${mb} MB`, JSON.stringify({ query: '{ orders { row_id } }', variables: { pad: 'x'.repeat(mb * 1024 * 1024) } }), 'application/json');
    raw(`an oversized body of ${mb} MB declaring a small length`, JSON.stringify({ query: '{ orders { row_id } }', variables: { pad: 'x'.repeat(mb * 1024 * 1024) } }), 'application/json', 'POST', {});
  }
  raw('a lying Content-Length', '{"query": "{ orders(limit: 1) { row_id } }"}', 'application/json', 'POST', { 'content-length': '99999999999' });
  raw('a negative Content-Length', '{"query": "{ orders(limit: 1) { row_id } }"}', 'application/json', 'POST', { 'content-length': '-1' });
  return requests;
}

describe('hostile and malformed requests', () => {
  it('answers each with a clear error or a correct answer, stays up, and writes nothing', async () => {
    const changes = async () => Number((await gw.oltp.pool.query('SELECT count(*) AS n FROM change_log')).rows[0].n);
    const rows = async () => (await gw.gql('{ orders_aggregate { aggregate { count sum { total } } } }', undefined, { admin: true })).data.orders_aggregate.aggregate;
    const before = { changes: await changes(), rows: await rows() };
    const requests = hostileRequests();
    expect(requests.length).toBeGreaterThanOrEqual(500);

    const problems: string[] = [];
    let answered = 0;
    for (const request of requests) {
      const { path = '/graphql', ...init } = request.init as HostileRequest['init'];
      let response: Response;
      try {
        response = await gw.yoga.fetch(`http://test${path}`, init);
      } catch (error) {
        problems.push(`${request.name}: the server threw ${(error as Error).message}`);
        continue;
      }
      const text = await response.text();
      if (response.status >= 500) problems.push(`${request.name}: HTTP ${response.status} ${text.slice(0, 200)}`);
      if (text === '') {
        if (response.status < 400) problems.push(`${request.name}: an empty ${response.status} answer`);
        answered++;
        continue;
      }
      let body: { data?: any; errors?: { message?: string; extensions?: { code?: string } }[] };
      try {
        body = JSON.parse(text);
      } catch {
        problems.push(`${request.name}: not JSON (${response.status}): ${text.slice(0, 120)}`);
        continue;
      }
      for (const error of body.errors ?? []) {
        if (!error.message || error.extensions?.code === 'INTERNAL_SERVER_ERROR' || /unexpected error/i.test(error.message)) {
          problems.push(`${request.name}: unclear error ${JSON.stringify(error).slice(0, 200)}`);
        }
      }
      if (request.expect && !body.errors) {
        try {
          request.expect(body.data);
        } catch (error) {
          problems.push(`${request.name}: wrong answer: ${(error as Error).message.slice(0, 200)}`);
        }
      } else if (request.expect && body.errors) {
        // A valid question answered with an error: acceptable only when it names a bound.
        if (!body.errors.every((e) => /bytes|MAX_|limit|at most|not allowed|Unicode|Invalid|invalid|cannot represent|Syntax/i.test(e.message ?? ''))) {
          problems.push(`${request.name}: error on a valid question: ${body.errors[0]?.message?.slice(0, 160)}`);
        }
      }
      answered++;
    }
    const known = problems.filter((p) => KNOWN_DEFECTS.some((defect) => defect.test(p)));
    expect(problems.filter((p) => !known.includes(p))).toEqual([]);
    expect(answered).toBe(requests.length);

    // the server is up, answers correctly, and nothing was written
    expect((await gw.yoga.fetch('http://test/healthz')).status).toBe(200);
    expect(await changes()).toBe(before.changes);
    expect(await rows()).toEqual(before.rows);
    const read = await gw.gql('{ orders(order_by: {total: asc}) { note } }', undefined, { headers: { authorization: userAuth } });
    expect(read.data.orders.map((o: { note: string }) => o.note)).toEqual(['first', 'second', 'third']);
    console.info(`hostile requests: ${requests.length} sent, ${answered} answered, 0 crashes, ${known.length} masked internal errors of known defects:\n  ${known.join('\n  ')}`);
  }, 300_000);
});

describe('defects these requests found outside this suite', () => {
  const asUser = (query: string, variables?: unknown) => gw.gql(query, variables as Record<string, unknown>, { headers: { authorization: userAuth } });

  it('a _like pattern ending in a backslash gets a clear error; an escaped backslash is a pattern', async () => {
    const answer = await asUser('query($s: String) { orders(where: {note: {_like: $s}}) { note } }', { s: '\\' });
    expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.errors?.[0]?.message).toContain('must not end with the escape character');
    const escaped = await asUser('query($s: String) { orders(where: {note: {_like: $s}}) { note } }', { s: 'x\\\\' });
    expect(escaped.errors).toBeUndefined();
    expect(escaped.data.orders).toEqual([]);
  });

  it('60,000 order_by terms are refused before they reach DuckDB', async () => {
    const orderBy = Array.from({ length: 60_000 }, () => ({ total: 'asc' }));
    const answer = await asUser('query($o: [orders_order_by!]) { orders(order_by: $o) { note } }', { o: orderBy });
    expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.errors?.[0]?.message).toContain('at most 64');
  });
});
