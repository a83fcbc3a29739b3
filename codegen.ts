import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * `npm run codegen`: prints the Pothos schema to schema/schema.graphql (committed; a test fails when it
 * is stale) and writes typed documents for the operations the tests and the SDK (sdk/) send.
 */
const config: CodegenConfig = {
  schema: './schema/index.ts',
  ignoreNoDocuments: true,
  // Only graphql(`…`) calls are typed documents; plain query strings in tests are left alone.
  pluckConfig: { globalGqlIdentifierName: ['graphql'], gqlMagicComment: 'typed-document' },
  generates: {
    'schema/schema.graphql': {
      plugins: ['schema-ast'],
      config: { includeDirectives: false, sort: true },
    },
    'test/gql/': {
      documents: ['test/**/*.ts', '!test/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, importExtension: '.ts', emitLegacyCommonJSImports: false, enumsAsTypes: true, scalars: { DateTime: 'string', JSON: 'unknown' } },
    },
    // The SDK's operations, as strings (no graphql-js in the dashboard's bundle).
    'sdk/src/gql/': {
      documents: ['sdk/src/**/*.ts', '!sdk/src/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        useTypeImports: true,
        importExtension: '.ts',
        emitLegacyCommonJSImports: false,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown', File: 'Blob' },
      },
    },
  },
};

export default config;
