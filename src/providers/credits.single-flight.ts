const inFlight = new Map<string, Promise<unknown>>();

/**
 * One credits check per provider at a time in this process: callers that arrive while it runs get its answer
 * rather than each calling the provider with its key. (Across processes, the row's creditsCheckedAt is the TTL.)
 */
export function creditsOnce<T>(providerId: string, check: () => Promise<T>): Promise<T> {
  const running = inFlight.get(providerId) as Promise<T> | undefined;
  if (running) return running;
  const started = check().finally(() => inFlight.delete(providerId));
  inFlight.set(providerId, started);
  return started;
}
