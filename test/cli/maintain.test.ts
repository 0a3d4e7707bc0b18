// Which entities a maintenance command (flush, compact, verify, rebuild) names when several
// projects define the same entity names.
import { describe, expect, it } from 'vitest';
import { Catalog, parseProjectDefinition } from '../../src/catalog/index.js';
import { entitiesNamed } from '../../src/cli/maintain.js';
import { ValidationError } from '../../src/errors/index.js';

const definition = (project: string, names: string[]) =>
  parseProjectDefinition({ project, entities: names.map((name, i) => ({ id: i + 1, name, attributes: [] })) }, `schema/${project}.json`);
const catalog = new Catalog([definition('acme', ['customers', 'orders']), definition('globex', ['customers', 'invoices'])]);
const named = (target: { entity?: string; project?: string }) => entitiesNamed(catalog, target).map((e) => `${e.project}.${e.name}`);

describe('entities a maintenance command names', () => {
  it('an entity of a project, with --project', () => {
    expect(named({ entity: 'customers', project: 'globex' })).toEqual(['globex.customers']);
  });

  it('an entity name only one project defines, without --project', () => {
    expect(named({ entity: 'invoices' })).toEqual(['globex.invoices']);
  });

  it('refuses an entity name several projects define without --project, naming them', () => {
    expect(() => named({ entity: 'customers' })).toThrow(ValidationError);
    expect(() => named({ entity: 'customers' })).toThrow('defined in several projects (acme, globex)');
  });

  it('every entity of one project with --project alone, every entity of all without', () => {
    expect(named({ project: 'acme' })).toEqual(['acme.customers', 'acme.orders']);
    expect(named({})).toEqual(['acme.customers', 'acme.orders', 'globex.customers', 'globex.invoices']);
  });

  it('refuses an entity of another project', () => {
    expect(() => named({ entity: 'invoices', project: 'acme' })).toThrow('unknown entity "invoices" in project "acme"');
  });
});
