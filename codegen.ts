// GraphQL Code Generator: a typed client (TypedDocumentNode) from the printed schema.
// Run `npm run schema:print && npm run codegen` after changing the definitions in schema/.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['test/**/*.ts', '!test/generated/**'],
  ignoreNoDocuments: false,
  // Our ESM (NodeNext) resolution needs explicit .js extensions in generated imports.
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: {
          UUID: 'string',
          DateTime: 'string',
          Date: 'string',
          BigInt: 'number | string',
          JSON: 'unknown',
        },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
