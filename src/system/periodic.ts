import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Periodic {
  /** One round now (a round already under way is waited for instead). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs `work` every `intervalMs`, one round at a time: a round still going when the next is due is not doubled.
 * A failed round goes to `onError` and the next one tries again. The timer does not keep the process alive.
 */
export function every(intervalMs: number, work: () => Promise<unknown>, onError: (error: unknown) => void): Periodic {
  let running: Promise<void> | undefined;
  const runNow = () =>
    (running ??= (async () => {
      await work();
    })()
      .catch(onError)
      .finally(() => (running = undefined)));
  const timer = setInterval(runNow, intervalMs);
  timer.unref();
  return {
    runNow,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Takes a round's lease, held a little less than the interval so the next round can take it again; true if taken. */
export async function takeRoundLease(redis: Redis, leaseKey: string, intervalMs: number): Promise<boolean> {
  return (await redis.set(leaseKey, randomUUID(), 'PX', Math.max(500, Math.floor(intervalMs * 0.9)), 'NX')) === 'OK';
}

/** As `every`, but each round runs on one machine at a time: whichever takes the round's short Redis lease first. */
export function everyOnOneMachine(redis: Redis, leaseKey: string, intervalMs: number, work: () => Promise<unknown>, onError: (error: unknown) => void): Periodic {
  return every(
    intervalMs,
    async () => {
      if (await takeRoundLease(redis, leaseKey, intervalMs)) await work();
    },
    onError,
  );
}
