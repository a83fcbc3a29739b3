import { randomUUID } from 'node:crypto';
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isUnionType,
  isScalarType,
} from 'graphql';
import { schema } from '../../schema/index.ts';

export type RootType = 'Query' | 'Mutation';

/** A plausible value of an input type: every required field filled, strings unique so rows never collide. */
export function sampleValue(type: GraphQLInputType, pick: (name: string) => unknown = () => undefined): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType, pick);
  if (isListType(type)) return [sampleValue(type.ofType, pick)];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      if (isNonNullType(field.type) && field.defaultValue === undefined) value[field.name] = pick(field.name) ?? sampleValue(field.type, pick);
    }
    return value;
  }
  switch ((type as GraphQLNamedType).name) {
    case 'ID':
      return randomUUID();
    case 'Int':
      return 1;
    case 'Float':
      return 1;
    case 'Boolean':
      return false;
    case 'DateTime':
      return '2026-01-01T00:00:00Z';
    case 'JSON':
      return {};
    case 'File':
      return null;
    default:
      return `s-${randomUUID().slice(0, 8)}`;
  }
}

function selection(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (isObjectType(named) || isInterfaceType(named) || isUnionType(named)) return ' { __typename }';
  return '';
}

export interface RootOperation {
  root: RootType;
  field: string;
  query: string;
  variables: Record<string, unknown>;
  /** Variable paths holding a file (sent as a multipart part). */
  files: string[];
  args: readonly GraphQLArgument[];
}

/** A document calling one root field with every required argument as a variable, and its variables. */
export function rootOperation(root: RootType, field: GraphQLField<unknown, unknown>, values: Record<string, unknown> = {}): RootOperation {
  const required = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const variables: Record<string, unknown> = {};
  const files: string[] = [];
  for (const arg of required) {
    variables[arg.name] = arg.name in values ? values[arg.name] : sampleValue(arg.type);
    if (isScalarType(getNamedType(arg.type)) && getNamedType(arg.type).name === 'File') files.push(`variables.${arg.name}`);
  }
  const defs = required.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const uses = required.map((a) => `${a.name}: $${a.name}`).join(', ');
  const keyword = root === 'Query' ? 'query' : 'mutation';
  const query = `${keyword} Op${defs ? `(${defs})` : ''} { ${field.name}${uses ? `(${uses})` : ''}${selection(field.type)} }`;
  return { root, field: field.name, query, variables, files, args: field.args };
}

export const rootFields = (root: RootType) => Object.values((root === 'Query' ? schema.getQueryType() : schema.getMutationType())!.getFields());

export interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] } | null;
}

/** Sends one operation over real HTTP: JSON, or a GraphQL multipart request when it carries a file. */
export async function send(url: string, op: Pick<RootOperation, 'query' | 'variables' | 'files'>, token?: string, fileBytes?: Uint8Array<ArrayBuffer>): Promise<Answer> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let body: BodyInit;
  if (op.files.length) {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: op.query, variables: op.variables }));
    form.append('map', JSON.stringify(Object.fromEntries(op.files.map((path, i) => [String(i), [path]]))));
    op.files.forEach((_p, i) => form.append(String(i), new Blob([fileBytes ?? new Uint8Array([1, 2, 3])]), `f${i}.png`));
    body = form;
  } else {
    headers['content-type'] = 'application/json';
    body = JSON.stringify({ query: op.query, variables: op.variables });
  }
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { ...headers, 'graphql-require-preflight': '1' }, body });
  const text = await response.text();
  let parsed: Answer['body'] = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed };
}
