import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppError } from '../services/errors.ts';

/**
 * Flushes, turning a unique-constraint violation into the caller's error: a check before the insert cannot
 * stop two requests racing for the same name, the constraint does, and the loser gets a clear answer, not a 500.
 */
export async function flushUnique(em: EntityManager, conflict: () => AppError): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      em.clear();
      throw conflict();
    }
    throw error;
  }
}
