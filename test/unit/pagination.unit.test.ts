import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/services/errors.ts';
import { decodeCursor, encodeCursor, MAX_PAGE_SIZE, parsePageArgs, toPage } from '../../src/services/pagination.ts';

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError, but nothing was thrown');
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

describe('keyset cursors', () => {
  it('round-trips (createdAt, id) exactly', () => {
    const row = { createdAt: new Date('2026-03-04T05:06:07.891Z'), id: randomUUID() };
    const cursor = encodeCursor(row);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const decoded = decodeCursor(cursor);
    expect(decoded.id).toBe(row.id);
    expect(decoded.createdAt).toBeInstanceOf(Date);
    expect(decoded.createdAt.getTime()).toBe(row.createdAt.getTime());
  });

  it('gives different rows different cursors', () => {
    const at = new Date();
    expect(encodeCursor({ createdAt: at, id: randomUUID() })).not.toBe(encodeCursor({ createdAt: at, id: randomUUID() }));
    const id = randomUUID();
    expect(encodeCursor({ createdAt: new Date(1000), id })).not.toBe(encodeCursor({ createdAt: new Date(1001), id }));
  });

  it.each([
    ['garbage', 'not-a-cursor!!'],
    ['empty', ''],
    ['base64 of non-JSON', b64('hello')],
    ['JSON null', b64('null')],
    ['JSON object', b64('{"a":1}')],
    ['missing id', b64(JSON.stringify(['2026-01-01T00:00:00.000Z']))],
    ['numeric id', b64(JSON.stringify(['2026-01-01T00:00:00.000Z', 5]))],
    ['invalid date', b64(JSON.stringify(['not a date', randomUUID()]))],
    // Ids are UUIDs: anything else would reach Postgres as a uuid type error rather than a client error.
    ['non-UUID id', b64(JSON.stringify(['2026-01-01T00:00:00.000Z', 'not-a-uuid']))],
  ])('refuses a %s cursor with BAD_USER_INPUT naming "after"', (_name, cursor) => {
    const error = thrown(() => decodeCursor(cursor));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.details).toEqual({ field: 'after' });
  });
});

describe('parsePageArgs', () => {
  it('defaults the page size and has no cursor when none is given', () => {
    expect(parsePageArgs({})).toEqual({ limit: 20, after: null });
    expect(parsePageArgs({ first: null, after: null }, 7)).toEqual({ limit: 7, after: null });
  });

  it('accepts 1 and the maximum page size', () => {
    expect(parsePageArgs({ first: 1 }).limit).toBe(1);
    expect(parsePageArgs({ first: MAX_PAGE_SIZE }).limit).toBe(MAX_PAGE_SIZE);
  });

  it.each([0, -1, MAX_PAGE_SIZE + 1, 2.5])('refuses first = %s with BAD_USER_INPUT', (first) => {
    const error = thrown(() => parsePageArgs({ first }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.details).toEqual({ field: 'first' });
  });

  it('decodes the after cursor', () => {
    const row = { createdAt: new Date('2025-12-31T23:59:59.999Z'), id: randomUUID() };
    const { after } = parsePageArgs({ first: 5, after: encodeCursor(row) });
    expect(after).not.toBeNull();
    expect(after!.id).toBe(row.id);
    expect(after!.createdAt.getTime()).toBe(row.createdAt.getTime());
  });

  it('refuses an invalid after cursor with BAD_USER_INPUT', () => {
    expect(thrown(() => parsePageArgs({ after: 'nope' })).code).toBe('BAD_USER_INPUT');
  });
});

describe('toPage', () => {
  const rows = Array.from({ length: 4 }, (_, i) => ({ createdAt: new Date(10_000 - i * 1000), id: randomUUID() }));

  it('cuts the extra row and reports a next page', () => {
    const page = toPage(rows, 3, false);
    expect(page.edges.map((e) => e.node)).toEqual(rows.slice(0, 3));
    expect(page.edges.map((e) => e.cursor)).toEqual(rows.slice(0, 3).map(encodeCursor));
    expect(page.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: encodeCursor(rows[0]!),
      endCursor: encodeCursor(rows[2]!),
    });
  });

  it('reports no next page when every row fits, and a previous page when a cursor was given', () => {
    const page = toPage(rows, 4, true);
    expect(page.edges).toHaveLength(4);
    expect(page.pageInfo.hasNextPage).toBe(false);
    expect(page.pageInfo.hasPreviousPage).toBe(true);
  });

  it('has null cursors when empty', () => {
    expect(toPage([], 10, false).pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
  });
});
