import { createRequire } from 'node:module';
import type { Core } from '../core.ts';
import { ENGINE_FAMILIES } from '../queue/queue.names.ts';
import { withoutPaths } from './outage.ts';

export interface DependencyHealth {
  ok: boolean;
  latencyMs: number | null;
  error: string | null;
}

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  uptimeSeconds: number;
  postgres: DependencyHealth;
  redis: DependencyHealth;
  storage: DependencyHealth;
}

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

async function probe(check: () => Promise<unknown>, timeoutMs = 2000): Promise<DependencyHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs))),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100, error: null };
  } catch (error) {
    // Public answers: the reason, never an address or a path.
    const message = withoutPaths((error as Error).message).replace(/\[?[0-9a-f.:]+\]?:\d{2,5}\b/gi, '<address>');
    return { ok: false, latencyMs: null, error: message };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(core: Pick<Core, 'orm' | 'redis' | 'storage'>): Promise<Health> {
  const [postgres, redis, storage] = await Promise.all([
    probe(() => core.orm.em.getConnection().execute('select 1')),
    probe(() => core.redis.ping()),
    probe(() => core.storage.probe()),
  ]);
  return {
    status: postgres.ok && redis.ok && storage.ok ? 'ok' : 'degraded',
    version,
    uptimeSeconds: Math.round(process.uptime()),
    postgres,
    redis,
    storage,
  };
}

export interface WorkerPresence {
  total: number;
  /** Engine families that at least one live worker consumes. */
  engines: string[];
}

/** Live workers, as BullMQ sees them (connections named by each generation queue's workers). */
export async function countWorkers(core: Pick<Core, 'queues'>): Promise<WorkerPresence> {
  const seen = new Set<string>();
  const engines: string[] = [];
  for (const family of ENGINE_FAMILIES) {
    const workers = await core.queues.get(family).getWorkers();
    if (workers.length) engines.push(family);
    for (const worker of workers) seen.add(String(worker.id ?? worker.addr ?? JSON.stringify(worker)));
  }
  return { total: seen.size, engines };
}

/** Readiness: Postgres and Redis answer and, where required, at least one worker is consuming. */
export async function checkReadiness(core: Pick<Core, 'orm' | 'redis' | 'queues' | 'config' | 'storage'>) {
  const health = await checkHealth(core);
  const workers = await countWorkers(core).catch(() => ({ total: 0, engines: [] }));
  const workerOk = !core.config.READY_REQUIRES_WORKER || workers.total > 0;
  return { ...health, status: health.status === 'ok' && workerOk ? ('ok' as const) : ('degraded' as const), workers };
}

/** Jobs of every user by status, for the health documents' task counts. */
export async function countJobsByStatus(core: Pick<Core, 'orm'>): Promise<Record<string, number>> {
  const rows = await core.orm.em
    .fork()
    .getConnection()
    .execute<{ status: string; n: number }[]>('select status, count(*)::int as n from jobs group by status');
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
