import { createRequire } from 'node:module';
import type { Core } from '../core.ts';

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
    return { ok: false, latencyMs: null, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(core: Pick<Core, 'orm' | 'redis'>): Promise<Health> {
  const [postgres, redis] = await Promise.all([
    probe(() => core.orm.em.getConnection().execute('select 1')),
    probe(() => core.redis.ping()),
  ]);
  return {
    status: postgres.ok && redis.ok ? 'ok' : 'degraded',
    version,
    uptimeSeconds: Math.round(process.uptime()),
    postgres,
    redis,
  };
}
