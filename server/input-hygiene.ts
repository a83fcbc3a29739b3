import type { Multipart } from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type ASTNode, GraphQLError, Kind, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AppError, badInput } from '../src/services/errors.ts';
import { findUnsafeInput, type UnsafeInput } from '../src/services/input-hygiene.ts';

/** GraphQL's answer to unsafe input: BAD_USER_INPUT (400) naming the field. */
export const refusal = (unsafe: UnsafeInput) =>
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

/** Throws BAD_USER_INPUT naming the field when `value`, read from request `part`, holds something unsafe. */
function refuseUnsafe(part: string, value: unknown) {
  const unsafe = findUnsafeInput(value);
  if (unsafe) throw badInput(`Invalid ${part}: ${unsafe.field}: ${unsafe.message}`, { fields: [unsafe] });
}

/** The caller's malformed multipart body (no boundary, cut short); the plugin's own limits keep their status (413). */
const malformedForm = (error: unknown) =>
  (error as { statusCode?: number }).statusCode ? error : badInput(`Invalid multipart body: ${(error as Error).message}`);

/**
 * Every multipart text field is checked as it is read, whoever reads it: the request's part iterator is replaced by
 * one that refuses a field before handing it on, so a route that streams its own form (files and all) gets checked
 * fields without reading them twice.
 */
function checkPartsAsRead(request: FastifyRequest) {
  const parts = request.parts.bind(request);
  request.parts = async function* checkedParts(options) {
    for await (const part of parts(options)) {
      if (part.type === 'field') refuseUnsafe('form', { [part.fieldname]: part.value });
      yield part;
    }
  } as typeof request.parts;
}

/**
 * A multipart body sent to a route without a form of its own: its text fields become the body its contract
 * validates, as a urlencoded form's do. Such a route takes no files.
 */
async function readTextForm(request: FastifyRequest): Promise<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  const parts = request.parts();
  for (;;) {
    const next: IteratorResult<Multipart> = await parts.next().catch((error: unknown) => {
      throw error instanceof AppError ? error : malformedForm(error);
    });
    if (next.done) return fields;
    const part = next.value;
    if (part.type === 'file') {
      part.file.resume();
      throw badInput(`Invalid form: ${part.fieldname}: this route takes no files`, { fields: [{ field: part.fieldname, message: 'takes no files' }] });
    }
    fields[part.fieldname] = part.value;
  }
}

const readsOwnForm = (request: FastifyRequest) => Boolean((request.routeOptions.schema?.body as Record<string, unknown> | undefined)?.['x-form']);

/**
 * REST's side: body, query string and path parameters of every route, before validation and handlers, and each
 * text field of a multipart body as it is read (see checkPartsAsRead).
 */
export function registerInputHygieneHook(app: FastifyInstance, graphqlEndpoint: string) {
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.url === graphqlEndpoint) return;
    if (request.isMultipart()) {
      checkPartsAsRead(request);
      if (!readsOwnForm(request)) request.body = await readTextForm(request);
    }
    for (const [part, value] of [['body', request.body], ['query', request.query], ['path', request.params]] as const) refuseUnsafe(part, value);
  });
}
