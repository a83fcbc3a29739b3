import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * `npm run codegen`: prints the Pothos schema to schema/schema.graphql (committed; a test fails when it
 * is stale) and writes typed documents for the operations the tests send.
 */
const config: CodegenConfig = {
  schema: './schema/index.ts',
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: true,
  // Only graphql(`…`) calls are typed documents; plain query strings in tests are left alone.
  pluckConfig: { globalGqlIdentifierName: ['graphql'], gqlMagicComment: 'typed-document' },
  generates: {
    'schema/schema.graphql': {
      plugins: ['schema-ast'],
      config: { includeDirectives: false, sort: true },
    },
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, importExtension: '.ts', emitLegacyCommonJSImports: false, enumsAsTypes: true, scalars: { DateTime: 'string', JSON: 'unknown' } },
    },
  },
};

export default config;
