import { z } from 'zod';
import { badInput } from './errors.ts';

/** GraphQL sends null for an omitted optional field; the schemas treat null and absent alike. */
export type Nullable<T> = { [K in keyof T]?: T[K] | null };

const withoutNulls = (input: unknown): unknown =>
  input && typeof input === 'object' && !Array.isArray(input)
    ? Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null))
    : input;

/** Parses untrusted input, turning zod's issues into one BAD_USER_INPUT error that names each field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(withoutNulls(input));
  if (result.success) return result.data;
  const fields = result.error.issues.map((issue) => ({
    field: issue.path.join('.') || '(input)',
    message: issue.message,
  }));
  const summary = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  throw badInput(`Invalid input: ${summary}`, { fields });
}

const uuid = z.uuid();
/** Ids are UUIDs; anything else cannot name a row, and must not reach the database as a type error. */
export const isUuid = (value: string): boolean => uuid.safeParse(value).success;
