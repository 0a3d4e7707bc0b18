import { loadCatalog } from '/work/main/src/catalog/index.js';
import { buildSchema } from '/work/main/src/graphql/schema.js';
import { schemaForRole } from '/work/main/src/graphql/role-schema.js';
import { printSchema, validateSchema, lexicographicSortSchema } from 'graphql';
const catalog = await loadCatalog('/work/main/schema');
const full = buildSchema(catalog);
const s = schemaForRole(full, catalog.project(catalog.projectNames[0]!), process.argv[2]!);
console.log(validateSchema(s).map(e=>e.message).slice(0,5));
console.log(printSchema(lexicographicSortSchema(s)));
