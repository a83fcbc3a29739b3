import { z } from 'zod';
import { badInput } from './errors.ts';
import { isUuid } from './validation.ts';

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export const MAX_PAGE_SIZE = 100;

const pageArgs = z.object({
  first: z.number().int().min(1).max(MAX_PAGE_SIZE).nullish(),
  after: z.string().max(200).nullish(),
});

/** Keyset cursors over (createdAt, id): stable under inserts, and cheap at any depth. */
export interface KeysetCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: KeysetCursor): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): KeysetCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (typeof id !== 'string' || !isUuid(id) || Number.isNaN(createdAt.getTime())) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw badInput('Invalid cursor', { field: 'after' });
  }
}

export function parsePageArgs(args: PageArgs, defaultSize = 20): { limit: number; after: KeysetCursor | null } {
  const parsed = pageArgs.safeParse(args);
  if (!parsed.success) throw badInput(`"first" must be between 1 and ${MAX_PAGE_SIZE}`, { field: 'first' });
  return { limit: parsed.data.first ?? defaultSize, after: parsed.data.after ? decodeCursor(parsed.data.after) : null };
}

/** `rows` holds up to limit + 1 items, newest first; the extra one only says whether more exist. */
export function toPage<T extends KeysetCursor>(rows: T[], limit: number, hadCursor: boolean): Page<T> {
  const nodes = rows.slice(0, limit);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage: hadCursor,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
