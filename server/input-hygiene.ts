import type { FastifyInstance } from 'fastify';
import { type ASTNode, GraphQLError, Kind, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { badInput } from '../src/services/errors.ts';
import { findUnsafeInput, type UnsafeInput } from '../src/services/input-hygiene.ts';

const refusal = (unsafe: UnsafeInput) =>
  new GraphQLError(`Invalid input: ${unsafe.field}: ${unsafe.message}`, {
    extensions: { code: 'BAD_USER_INPUT', fields: [unsafe], http: { status: 400 } },
  });

/** The argument and input fields a literal sits under, e.g. `generateImage.input.prompt`. */
function literalPath(ancestors: readonly (ASTNode | readonly ASTNode[])[]): string {
  const names: string[] = [];
  for (const node of ancestors) {
    if (Array.isArray(node) || !('kind' in (node as ASTNode))) continue;
    const n = node as ASTNode;
    if (n.kind === Kind.FIELD) names.length = 0, names.push(n.name.value);
    else if (n.kind === Kind.ARGUMENT || n.kind === Kind.OBJECT_FIELD) names.push(n.name.value);
  }
  return names.join('.') || '(query)';
}

/** NUL characters in string literals written into the query itself. */
const noNulLiterals: ValidationRule = (context) => ({
  StringValue(node, _key, parent, _path, ancestors) {
    if (node.value.includes('\u0000')) context.reportError(refusal({ field: literalPath([...ancestors, parent as ASTNode]), message: 'must not contain NUL (\\u0000) characters' }));
  },
});

/**
 * GraphQL's side of the edge check: variables (named by their path, e.g. `input.prompt`) and string literals
 * that PostgreSQL cannot store, or JSON nested too deep, are refused with BAD_USER_INPUT before anything runs.
 */
export function useInputHygiene(): Plugin {
  return {
    onParams({ params }) {
      const unsafe = findUnsafeInput(params.variables ?? {});
      if (unsafe) throw refusal(unsafe);
    },
    onValidate({ addValidationRule }) {
      addValidationRule(noNulLiterals);
    },
  };
}

/** REST's side: body, query string and path parameters of every route, before validation and handlers. */
export function registerInputHygieneHook(app: FastifyInstance, graphqlEndpoint: string) {
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.url === graphqlEndpoint) return;
    for (const [part, value] of [['body', request.body], ['query', request.query], ['path', request.params]] as const) {
      const unsafe = findUnsafeInput(value);
      if (unsafe) {
        throw badInput(`Invalid ${part}: ${unsafe.field}: ${unsafe.message}`, { fields: [unsafe] });
      }
    }
  });
}
