import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import stringify from 'safe-stable-stringify';
import { AppError, badInput } from '../services/errors.ts';

export type IdempotentResource = { kind: 'job' | 'batch'; id: string };

/** The fingerprint of a request: its operation and its body, keys in a stable order. */
export const requestFingerprint = (operation: string, body: unknown) =>
  createHash('sha256').update(`${operation}\n${stringify(body ?? null)}`).digest('hex');

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * Idempotency keys: the first request with a key claims it (the unique (owner, key) row), makes its job, and
 * records the job on the row; a repeat of the same request gets that job back, a different request under the
 * same key a 409. A repeat arriving while the first is still making its job waits for it.
 */
/** Thrown by a `create` whose resource was made before a later step of it failed. */
export class MadeThenFailed extends Error {
  readonly resource: IdempotentResource;

  constructor(resource: IdempotentResource, cause: unknown) {
    super('made, then failed', { cause });
    this.resource = resource;
  }
}

export class IdempotencyService {
  private readonly ttlMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(options: { ttlHours: number; waitMs?: number; pollMs?: number }) {
    this.ttlMs = options.ttlHours * 3_600_000;
    this.waitMs = options.waitMs ?? 30_000;
    this.pollMs = options.pollMs ?? 25;
  }

  static check(key: string, field: string) {
    if (!KEY_PATTERN.test(key)) throw badInput('An idempotency key is 1–255 printable ASCII characters', { field });
  }

  /**
   * Runs `create` once per (user, key, fingerprint). Returns what it made, or what the first request with
   * this key made (`replayed`).
   */
  async run<T>(
    em: EntityManager,
    ownerId: string,
    key: string,
    fingerprint: string,
    create: () => Promise<{ value: T; resource: IdempotentResource }>,
    load: (resource: IdempotentResource) => Promise<T>,
  ): Promise<{ value: T; replayed: boolean }> {
    const conn = em.getConnection();
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      // An expired key is free again: the first request to see it so takes it over.
      await conn.execute(`delete from idempotency_keys where owner_id = ? and key = ? and created_at < ?`, [ownerId, key, new Date(Date.now() - this.ttlMs)]);
      const claimed = await conn.execute<{ id: string }[]>(
        `insert into idempotency_keys (id, owner_id, key, fingerprint, created_at) values (gen_random_uuid(), ?, ?, ?, now())
         on conflict (owner_id, key) do nothing returning id`,
        [ownerId, key, fingerprint],
      );
      if (claimed[0]) {
        const id = claimed[0].id;
        let made: { value: T; resource: IdempotentResource };
        try {
          made = await create();
        } catch (error) {
          if (error instanceof MadeThenFailed) {
            // The job exists (a later step failed): the key keeps it, so the client's retry gets it, not a second one.
            await conn.execute(`update idempotency_keys set resource_type = ?, resource_id = ? where id = ?`, [error.resource.kind, error.resource.id, id]);
            throw error.cause;
          }
          // Nothing was made: the key is free for the client's next try.
          await conn.execute(`delete from idempotency_keys where id = ?`, [id]).catch(() => undefined);
          throw error;
        }
        await conn.execute(`update idempotency_keys set resource_type = ?, resource_id = ? where id = ?`, [made.resource.kind, made.resource.id, id]);
        return { value: made.value, replayed: false };
      }
      const [row] = await conn.execute<{ fingerprint: string; resource_type: string | null; resource_id: string | null }[]>(
        `select fingerprint, resource_type, resource_id from idempotency_keys where owner_id = ? and key = ?`,
        [ownerId, key],
      );
      if (!row) continue; // its first request failed and let go of it meanwhile
      if (row.fingerprint !== fingerprint) {
        throw new AppError('IDEMPOTENCY_KEY_REUSED', `Idempotency key "${key}" was already used with a different request`, { idempotencyKey: key });
      }
      if (row.resource_type && row.resource_id) {
        return { value: await load({ kind: row.resource_type as IdempotentResource['kind'], id: row.resource_id }), replayed: true };
      }
      if (Date.now() > deadline) {
        throw new AppError('CONFLICT', `A request with idempotency key "${key}" is still being processed; retry shortly`, { idempotencyKey: key });
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** Drops keys past their time (the delete in `run` frees one key; this keeps the table small). */
  async sweep(em: EntityManager): Promise<number> {
    const rows = await em.getConnection().execute<{ id: string }[]>(`delete from idempotency_keys where created_at < ? returning id`, [new Date(Date.now() - this.ttlMs)]);
    return rows.length;
  }
}
