// Tenant isolation: two projects in one process both define customers and orders with the same
// schema ids and different attributes. Every operation at project A's endpoint reads, writes and
// maintains A's rows and files only, in every tier (buffer, delta, base) and through the read
// cache of an S3 lake; B's entities are absent from A's schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProjectsGateway, type ProjectsGateway } from '../support/projects-gateway.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

const ACME = {
  project: 'acme',
  entities: [
    { id: 1, name: 'customers', attributes: [{ name: 'name', type: 'string', required: true }, { name: 'country', type: 'string' }] },
    { id: 2, name: 'orders', attributes: [{ name: 'customer', type: 'ref', entity: 'customers' }, { name: 'total', type: 'float' }, { name: 'note', type: 'string' }] },
  ],
};
const GLOBEX = {
  project: 'globex',
  entities: [
    { id: 1, name: 'customers', attributes: [{ name: 'name', type: 'string', required: true }, { name: 'tier', type: 'enum', values: ['FREE', 'PRO'] }] },
    { id: 2, name: 'orders', attributes: [{ name: 'customer', type: 'ref', entity: 'customers' }, { name: 'total', type: 'float' }, { name: 'coupon', type: 'string' }] },
    { id: 3, name: 'invoices', attributes: [{ name: 'amount', type: 'int' }] },
  ],
};
const PROJECTS = ['acme', 'globex'] as const;
type Project = (typeof PROJECTS)[number];
const other = (p: Project): Project => (p === 'acme' ? 'globex' : 'acme');

/** What each project holds, as the test wrote it. */
interface Rows {
  customers: Map<string, string>; // row_id → name
  orders: Map<string, { total: number; customer: string }>;
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe.each([
  ['a local lake', false],
  ['an S3 lake (files through the read cache)', true],
])('two projects with the same entity names and schema ids, on %s', (_lake, useS3) => {
  let gw: ProjectsGateway;
  let s3: TestS3 | undefined;
  const rows: Record<Project, Rows> = {
    acme: { customers: new Map(), orders: new Map() },
    globex: { customers: new Map(), orders: new Map() },
  };

  const ok = async <T = any>(project: Project, query: string, variables?: Record<string, unknown>, admin?: boolean): Promise<T> => {
    const res = await gw.gql<T>(project, query, variables, { admin });
    expect(res.errors, `${project}: ${query}`).toBeUndefined();
    return res.data!;
  };

  async function addCustomers(project: Project, names: string[]): Promise<string[]> {
    const data = await ok(project, `mutation($o: [customers_insert_input!]!) { insert_customers(objects: $o) { returning { row_id name } } }`, {
      o: names.map((name) => ({ name })),
    });
    const ids = data.insert_customers.returning.map((r: { row_id: string; name: string }) => {
      rows[project].customers.set(r.row_id, r.name);
      return r.row_id;
    });
    return ids;
  }

  async function addOrders(project: Project, orders: { customer: string; total: number }[]): Promise<void> {
    const data = await ok(project, `mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { returning { row_id total customer { row_id } } } }`, {
      o: orders,
    });
    for (const r of data.insert_orders.returning) rows[project].orders.set(r.row_id, { total: r.total, customer: r.customer.row_id });
  }

  /** Everything of `project` in Postgres: change_log, EAV rows and values, manifest rows. */
  async function postgresState(project: Project): Promise<string> {
    const { rows: result } = await gw.oltp.pool.query<{ state: string }>(
      `SELECT json_build_object(
         'change_log', (SELECT coalesce(json_agg(c ORDER BY c::text), '[]') FROM change_log c WHERE c.project = $1),
         'entities', (SELECT coalesce(json_agg(e ORDER BY e::text), '[]') FROM eav_entity e WHERE e.project = $1),
         'values', (SELECT coalesce(json_agg(v ORDER BY v::text), '[]') FROM eav_value v JOIN eav_entity e USING (row_id) WHERE e.project = $1),
         'files', (SELECT coalesce(json_agg(f ORDER BY f::text), '[]') FROM lake_file f WHERE f.project = $1)
       )::text AS state`,
      [project],
    );
    return result[0]!.state;
  }

  /** The objects under `project`'s lake prefix, with their ETags. */
  async function lakeObjects(project: Project): Promise<string[]> {
    const keys: string[] = [];
    for await (const object of gw.lakehouse.store.list(`${project}/`)) keys.push(`${object.key} ${object.etag}`);
    return keys.sort();
  }

  /** B's Postgres rows and lake objects, to prove an operation at A left them alone. */
  async function untouched(project: Project, action: () => Promise<void>): Promise<void> {
    const before = { pg: await postgresState(project), lake: await lakeObjects(project) };
    await action();
    expect(await postgresState(project)).toBe(before.pg);
    expect(await lakeObjects(project)).toEqual(before.lake);
  }

  /** Every read at each endpoint answers that project's rows only. */
  async function expectIsolatedReads(): Promise<void> {
    for (const project of PROJECTS) {
      const mine = rows[project];
      const theirs = rows[other(project)];
      const data = await ok(
        project,
        `query($theirCustomers: [UUID!], $theirNames: [String!], $myNames: [String!], $theirOrders: [UUID!]) {
          customers(order_by: [{ name: asc }], limit: 1000) { row_id name orders(limit: 1000) { row_id customer { row_id } } }
          orders(limit: 1000) { row_id total customer { row_id name } }
          customers_aggregate { aggregate { count } }
          orders_aggregate { aggregate { count sum { total } } }
          byTheirNames: orders(where: { customer: { name: { _in: $theirNames } } }) { row_id }
          byTheirIds: orders(where: { customer: { row_id: { _in: $theirCustomers } } }) { row_id }
          byMyNames: orders(where: { customer: { name: { _in: $myNames } } }, limit: 1000) { row_id }
          theirOrders: orders(where: { row_id: { _in: $theirOrders } }) { row_id }
          theirCount: orders_aggregate(where: { row_id: { _in: $theirOrders } }) { aggregate { count } }
        }`,
        {
          theirCustomers: [...theirs.customers.keys()],
          theirNames: [...theirs.customers.values()],
          myNames: [...mine.customers.values()],
          theirOrders: [...theirs.orders.keys()],
        },
      );
      expect(sorted(data.customers.map((c: { row_id: string }) => c.row_id))).toEqual(sorted(mine.customers.keys()));
      for (const customer of data.customers) {
        const expected = [...mine.orders].filter(([, o]) => o.customer === customer.row_id).map(([id]) => id);
        expect(sorted(customer.orders.map((o: { row_id: string }) => o.row_id))).toEqual(sorted(expected));
      }
      expect(sorted(data.orders.map((o: { row_id: string }) => o.row_id))).toEqual(sorted(mine.orders.keys()));
      for (const order of data.orders) expect(order.customer.name).toBe(mine.customers.get(order.customer.row_id));
      expect(data.customers_aggregate.aggregate.count).toBe(mine.customers.size);
      expect(data.orders_aggregate.aggregate.count).toBe(mine.orders.size);
      expect(data.orders_aggregate.aggregate.sum.total).toBe([...mine.orders.values()].reduce((s, o) => s + o.total, 0));
      expect(data.byTheirNames).toEqual([]);
      expect(data.byTheirIds).toEqual([]);
      expect(sorted(data.byMyNames.map((o: { row_id: string }) => o.row_id))).toEqual(sorted(mine.orders.keys()));
      expect(data.theirOrders).toEqual([]);
      expect(data.theirCount.aggregate.count).toBe(0);

      // _by_pk of the other project's row_ids: absent here (the same schema id holds them there).
      for (const id of theirs.customers.keys()) {
        expect((await ok(project, `query($id: UUID!) { customers_by_pk(row_id: $id) { row_id } }`, { id })).customers_by_pk).toBeNull();
      }
      for (const id of theirs.orders.keys()) {
        expect((await ok(project, `query($id: UUID!) { orders_by_pk(row_id: $id) { row_id } }`, { id })).orders_by_pk).toBeNull();
      }
      const [mineId, mineName] = [...mine.customers][0]!;
      expect((await ok(project, `query($id: UUID!) { customers_by_pk(row_id: $id) { name } }`, { id: mineId })).customers_by_pk).toEqual({ name: mineName });
    }
  }

  beforeAll(async () => {
    if (useS3) s3 = await startTestS3();
    gw = await startProjectsGateway({ definitions: [ACME, GLOBEX], lake: s3?.settings('tenants') });
    const acme = await addCustomers('acme', ['A-1', 'A-2', 'A-3']);
    const globex = await addCustomers('globex', ['G-1', 'G-2']);
    await addOrders('acme', [
      { customer: acme[0]!, total: 10 },
      { customer: acme[0]!, total: 20 },
      { customer: acme[1]!, total: 30 },
      { customer: acme[2]!, total: 40 },
    ]);
    await addOrders('globex', [
      { customer: globex[0]!, total: 100 },
      { customer: globex[1]!, total: 200 },
      { customer: globex[1]!, total: 300 },
    ]);
    await ok('globex', `mutation { insert_invoices_one(object: { amount: 5 }) { row_id } }`);
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    await s3?.close();
  });

  it('each endpoint has its own schema: the other project’s entities and attributes are absent, introspection too', async () => {
    const roots = await ok('acme', `{ __schema { queryType { fields { name } } mutationType { fields { name } } } }`);
    const names = [...roots.__schema.queryType.fields, ...roots.__schema.mutationType.fields].map((f: { name: string }) => f.name);
    expect(names.filter((n) => n.includes('invoices'))).toEqual([]);
    expect(names).toContain('customers');
    const types = await ok('acme', `{ c: __type(name: "customers") { fields { name } } i: __type(name: "invoices") { name } }`);
    expect(types.c.fields.map((f: { name: string }) => f.name)).toContain('country');
    expect(types.c.fields.map((f: { name: string }) => f.name)).not.toContain('tier');
    expect(types.i).toBeNull();
    const theirs = await ok('globex', `{ c: __type(name: "customers") { fields { name } } }`);
    expect(theirs.c.fields.map((f: { name: string }) => f.name)).toContain('tier');
    expect(theirs.c.fields.map((f: { name: string }) => f.name)).not.toContain('country');

    const invoices = await gw.gql('acme', `{ invoices { row_id } }`);
    expect(invoices.errors?.[0]?.message).toContain('Cannot query field "invoices"');
    const tier = await gw.gql('acme', `{ customers(where: { tier: { _eq: PRO } }) { row_id } }`);
    expect(tier.errors?.[0]?.message).toMatch(/tier/);
  });

  it('plain /graphql lists the endpoints when several projects are defined; an unknown project is refused', async () => {
    const plain = await gw.gqlAt('/graphql', `{ __typename }`);
    expect(plain.status).toBe(404);
    expect(plain.body.errors?.[0]?.message).toContain('/graphql/acme, /graphql/globex');
    const unknown = await gw.gqlAt('/graphql/initech', `{ __typename }`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors?.[0]?.message).toContain('unknown project "initech"');
    // the router's own answers carry a request id, the caller's when it sends a sane one
    const mine = await gw.endpoints.fetch('http://test/graphql/initech', { method: 'POST', headers: { 'x-request-id': 'trace-42' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-42');
    const generated = await gw.endpoints.fetch('http://test/graphql', { method: 'POST', headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('GraphiQL opens per project on its endpoint; probes and metrics answer for the process', async () => {
    const page = await gw.endpoints.fetch('http://test/graphql/globex', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/graphql/globex');
    expect(html).not.toContain('/graphql/acme');
    expect((await gw.endpoints.fetch('http://test/healthz')).status).toBe(200);
    expect((await gw.endpoints.fetch('http://test/readyz')).status).toBe(200);
    expect((await gw.endpoints.fetch('http://test/metrics')).status).toBe(200);
    const response = await gw.endpoints.fetch('http://test/graphql/acme', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'tenant-req-1' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.headers.get('x-request-id')).toBe('tenant-req-1');
  });

  it('reads see only their project’s rows with every row buffered (the hot mirror of the same schema id)', async () => {
    await expectIsolatedReads();
  });

  it('a flush at A writes A’s buffer only; reads stay isolated with A in delta files and B buffered', async () => {
    await untouched('globex', async () => {
      for (const entity of ['customers', 'orders']) {
        const data = await ok('acme', `mutation($e: String!) { flush(entity: $e, force: true) { flushed rows path } }`, { e: entity }, true);
        expect(data.flush.flushed).toBe(true);
        expect(data.flush.path).toMatch(new RegExp(`^acme/${entity === 'customers' ? 1 : 2}/delta/`));
      }
    });
    await expectIsolatedReads();
    // An entity only B defines cannot be named at A's endpoint, not even by the admin.
    const invoices = await gw.gql('acme', `mutation { flush(entity: "invoices", force: true) { flushed } }`, {}, { admin: true });
    expect(invoices.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(invoices.errors?.[0]?.message).toContain('unknown entity "invoices" in project "acme"');
  });

  it('writes at A cannot reach B’s rows by row_id, and leave B’s change_log and EAV rows untouched', async () => {
    const [theirCustomer] = [...rows.globex.customers.keys()];
    const [theirOrder] = [...rows.globex.orders.keys()];
    await untouched('globex', async () => {
      const update = await gw.gql('acme', `mutation($id: UUID!) { update_customers_by_pk(row_id: $id, _set: { name: "hijacked" }) { row_id } }`, { id: theirCustomer });
      expect(update.data?.update_customers_by_pk ?? null).toBeNull();
      const remove = await gw.gql('acme', `mutation($id: UUID!) { delete_orders_by_pk(row_id: $id) { row_id } }`, { id: theirOrder });
      expect(remove.data?.delete_orders_by_pk ?? null).toBeNull();
      // A ref to B's customer is a ref to a row A does not have.
      const ref = await gw.gql('acme', `mutation($c: UUID!) { insert_orders_one(object: { customer: $c, total: 1 }) { row_id } }`, { c: theirCustomer });
      expect(ref.errors?.[0]?.message).toContain('no customers row');
      // A's own writes: an insert, an update and a delete.
      const [mine] = [...rows.acme.customers.keys()];
      await addOrders('acme', [{ customer: mine!, total: 50 }]);
      await ok('acme', `mutation($id: UUID!) { update_customers_by_pk(row_id: $id, _set: { country: "DE" }) { row_id } }`, { id: mine });
      const [gone] = [...rows.acme.orders.keys()];
      await ok('acme', `mutation($id: UUID!) { delete_orders_by_pk(row_id: $id) { row_id } }`, { id: gone });
      rows.acme.orders.delete(gone!);
    });
    // B's rows are as they were.
    expect((await ok('globex', `query($id: UUID!) { customers_by_pk(row_id: $id) { name } }`, { id: theirCustomer })).customers_by_pk.name).toBe(
      rows.globex.customers.get(theirCustomer!),
    );
    await expectIsolatedReads();
  });

  it('compaction at A rewrites A’s files only; reads stay isolated across base, delta and buffer of both', async () => {
    await untouched('globex', async () => {
      for (const entity of ['customers', 'orders']) {
        await ok('acme', `mutation($e: String!) { flush(entity: $e, force: true) { flushed } }`, { e: entity }, true);
        const data = await ok('acme', `mutation($e: String!) { compact(entity: $e, force: true) { compacted added { path } removed } }`, { e: entity }, true);
        expect(data.compact.compacted).toBe(true);
        for (const path of [...data.compact.added.map((a: { path: string }) => a.path), ...data.compact.removed]) expect(path).toMatch(/^acme\//);
      }
    });
    // B: some rows in a delta file, some buffered.
    await ok('globex', `mutation { flush(entity: "orders", force: true) { flushed } }`, {}, true);
    await addCustomers('globex', ['G-3']);
    await expectIsolatedReads();
    await ok('globex', `mutation { flush(entity: "customers", force: true) { flushed } }`, {}, true);
    await ok('globex', `mutation { compact(entity: "customers", force: true) { compacted } }`, {}, true);
    await expectIsolatedReads();
  });

  it('verify, lake_status and jobs at A report A’s entities and jobs only', async () => {
    for (const project of PROJECTS) {
      const verify = await ok(project, `mutation { c: verify(entity: "customers") { ok truth_rows lake_rows } o: verify(entity: "orders") { ok truth_rows } }`, {}, true);
      expect(verify.c).toEqual({ ok: true, truth_rows: rows[project].customers.size, lake_rows: rows[project].customers.size });
      expect(verify.o).toEqual({ ok: true, truth_rows: rows[project].orders.size });

      const status = await ok(project, `{ lake_status { project entity schema_id base_files delta_files buffered_rows } }`, {}, true);
      expect(status.lake_status.map((s: { project: string }) => s.project)).toEqual(status.lake_status.map(() => project));
      expect(status.lake_status.map((s: { entity: string }) => s.entity)).toEqual(project === 'acme' ? ['customers', 'orders'] : ['customers', 'orders', 'invoices']);

      const jobs = await ok(project, `{ jobs(limit: 1000) { job_id kind entity } }`, {}, true);
      const { rows: own } = await gw.oltp.pool.query<{ job_id: string }>(`SELECT job_id::text FROM lake_job WHERE project = $1 ORDER BY job_id DESC`, [project]);
      expect(own.length).toBeGreaterThan(0);
      expect(jobs.jobs.map((j: { job_id: string }) => String(j.job_id))).toEqual(own.map((r) => r.job_id));
    }
  });

  it('the admin calls still need the admin credential at every endpoint (other roles do not even see them)', async () => {
    for (const project of PROJECTS) {
      const refused = await gw.gql(project, `{ lake_status { entity } }`, {}, { admin: false });
      expect(refused.errors?.[0]?.message).toContain('Cannot query field "lake_status"');
    }
  });

  it('job metrics name the project beside the entity', async () => {
    const text = await gw.metrics.scrape();
    expect(text).toMatch(/ltbase_lake_job_rows_total\{kind="flush",project="acme",entity="customers"\} \d+/);
    expect(text).toMatch(/ltbase_lake_job_rows_total\{kind="flush",project="globex",entity="customers"\} \d+/);
  });
});

describe('a gateway with one project', () => {
  let gw: ProjectsGateway;
  beforeAll(async () => {
    gw = await startProjectsGateway({ definitions: [ACME] });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('answers at plain /graphql and at /graphql/<project>, and at no other project’s endpoint', async () => {
    const inserted = await gw.gqlAt('/graphql', `mutation { insert_customers_one(object: { name: "Solo" }) { row_id } }`);
    expect(inserted.body.errors).toBeUndefined();
    for (const at of ['/graphql', '/graphql/', '/graphql/acme']) {
      const read = await gw.gqlAt(at, `{ customers { name } }`);
      expect(read.status, at).toBe(200);
      expect(read.body.data).toEqual({ customers: [{ name: 'Solo' }] });
    }
    expect((await gw.gqlAt('/graphql/globex', `{ __typename }`)).status).toBe(404);
    const page = await gw.endpoints.fetch('http://test/graphql', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/graphql/acme');
  });
});
