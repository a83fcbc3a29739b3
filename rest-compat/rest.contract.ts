import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { badInput } from '../src/services/errors.ts';

/**
 * One zod schema per dialect request is the contract: the route validates with it, and the route's JSON Schema
 * (hence /openapi.json) is generated from it, so the two cannot disagree. A generated schema carries its
 * contract's name under `x-contract`; the server's validator compiler finds the zod schema by that name.
 */
const contracts = new Map<string, z.ZodType>();

export type JsonSchema = Record<string, unknown>;

/** JSON Schema (2020-12, as OpenAPI 3.1 takes it) of a zod schema; `io: 'output'` for answers. */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Registers a request contract and returns its JSON Schema for the route's `schema.body` / `querystring`. */
export function contract(name: string, schema: z.ZodType): JsonSchema {
  if (contracts.has(name) && contracts.get(name) !== schema) throw new Error(`Two contracts named ${name}`);
  contracts.set(name, schema);
  return { ...toJsonSchema(schema), 'x-contract': name };
}

/**
 * A form body's contract: documented like any other, checked by the handler once the form (files and all) is
 * read, since a multipart body is streamed rather than parsed before the handler runs.
 */
export function formContract(schema: z.ZodType, files: Record<string, string>): JsonSchema {
  const json = toJsonSchema(schema);
  const fileProps = Object.fromEntries(Object.entries(files).map(([name, description]) => [name, { type: 'string', format: 'binary', description }]));
  return { ...json, properties: { ...(json.properties as object), ...fileProps }, 'x-form': true };
}

const unwrap = (schema: z.ZodType): z.ZodType => {
  let current = schema;
  for (;;) {
    const def = (current as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
};

/**
 * Forms (multipart or urlencoded) and query strings carry only text: a field the contract types as a number or
 * boolean is read from its text first, as FastAPI does for the documents' Python servers.
 */
export function fromFormText(schema: z.ZodType, data: unknown): unknown {
  const shape = (unwrap(schema) as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape || !data || typeof data !== 'object' || Array.isArray(data)) return data;
  const out: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const [key, value] of Object.entries(out)) {
    const field = shape[key];
    if (typeof value !== 'string' || !field) continue;
    const type = (unwrap(field) as unknown as { def: { type: string } }).def.type;
    if (type === 'number' && value.trim() !== '' && Number.isFinite(Number(value))) out[key] = Number(value);
    else if (type === 'boolean' && /^(true|false|1|0|yes|no|on|off)$/i.test(value.trim())) out[key] = /^(true|1|yes|on)$/i.test(value.trim());
    else if (value === '' && type !== 'string') delete out[key];
  }
  return out;
}

/** A zod failure as the one-line message every family's error shape carries. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`).join('; ');
}

/** Parses with a contract, refusing with BAD_USER_INPUT (400 in every family's shape). */
export function parseContract<T extends z.ZodType>(schema: T, data: unknown): z.output<T> {
  const parsed = schema.safeParse(fromFormText(schema, data));
  if (!parsed.success) throw badInput(describeIssues(parsed.error), { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  return parsed.data;
}

/** The server's validator compiler: contracts validate with zod; form contracts are checked in their handlers. */
export const contractValidatorCompiler: FastifySchemaCompiler<JsonSchema> = ({ schema }) => {
  const name = schema['x-contract'];
  const zod = typeof name === 'string' ? contracts.get(name) : undefined;
  if (!zod) return (data) => ({ value: data });
  return (data) => {
    try {
      return { value: parseContract(zod, data ?? {}) };
    } catch (error) {
      return { error: error as Error };
    }
  };
};
