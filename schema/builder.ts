import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { GraphQLContext } from './context.ts';
import { assertJsonSize } from '../src/services/input-hygiene.ts';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    /** yoga's multipart uploads: a WHATWG File, input only. */
    File: { Input: File; Output: never };
  };
}>({
  plugins: [RelayPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
// Free-form JSON (extraParams, metadata, workflows) is capped in size: it is stored on rows and sent to engines.
builder.scalarType('JSON', {
  description: JSONResolver.description ?? undefined,
  serialize: (value) => JSONResolver.serialize(value),
  parseValue: (value) => {
    assertJsonSize(value, 'JSON value');
    return JSONResolver.parseValue(value);
  },
  parseLiteral: (node, variables) => {
    const value = JSONResolver.parseLiteral(node, variables);
    assertJsonSize(value, 'JSON value');
    return value;
  },
  specifiedByURL: JSONResolver.specifiedByURL,
  extensions: JSONResolver.extensions,
});
builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
