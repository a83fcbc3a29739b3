import type { Core } from '../core.ts';
import { ENGINE_FAMILIES } from '../queue/queue.names.ts';

/**
 * The image service document's "alertas automáticos: filas grandes": every BATCH_MONITOR_INTERVAL seconds, a queue
 * with more than ALERT_QUEUE_DEPTH jobs waiting raises a QUEUE_BACKLOG alert (at most one per 10 minutes).
 */
export async function checkQueueDepth(core: Pick<Core, 'config' | 'queues' | 'providers' | 'orm'>): Promise<{ family: string; waiting: number }[]> {
  const deep: { family: string; waiting: number }[] = [];
  for (const family of ENGINE_FAMILIES) {
    // Jobs with a priority wait in BullMQ's "prioritized" set, the others in "wait".
    const waiting = await core.queues.get(family).getJobCountByTypes('wait', 'prioritized');
    if (waiting > core.config.ALERT_QUEUE_DEPTH) deep.push({ family, waiting });
  }
  if (deep.length) {
    const list = deep.map((q) => `${q.family} ${q.waiting}`).join(', ');
    await core.providers.raiseAlert(core.orm.em.fork(), 'QUEUE_BACKLOG', null, `Queues over ${core.config.ALERT_QUEUE_DEPTH} waiting jobs: ${list}`, { queues: deep });
  }
  return deep;
}

/** Runs the check on its period until stopped; a failed check is logged, and the next one tries again. */
export function startQueueMonitor(core: Pick<Core, 'config' | 'queues' | 'providers' | 'orm'>, onError: (error: unknown) => void): () => void {
  const timer = setInterval(() => void checkQueueDepth(core).catch(onError), core.config.BATCH_MONITOR_INTERVAL * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
