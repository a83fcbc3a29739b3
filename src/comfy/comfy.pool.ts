import type { EntityManager } from '@mikro-orm/postgresql';
import { ComfyServer } from '../db/entities/comfy-server.entity.ts';
import { ComfyClient } from './comfy.client.ts';
import { serverOrigin } from './comfy.server-url.ts';

export interface ServerProbe {
  origin: string;
  healthy: boolean;
  /** Prompt ids running and waiting there. */
  queued: string[];
  deviceIndexes: number[];
  error?: string;
}

/**
 * The ComfyUI servers a job may run on: COMFYUI_SERVER_URLS plus the enabled servers admins added.
 * Each choice probes them (GET /system_stats for health and devices, GET /queue for load).
 */
export class ComfyPool {
  readonly configured: readonly string[];
  private readonly timeoutMs: number;
  /**
   * Prompts this process sent or is about to send, per server: counted with the server's own queue (by
   * prompt id, so never twice), so jobs chosen at the same moment spread out before /queue shows them.
   */
  private readonly inFlight = new Map<string, Set<string>>();

  private readonly chosenAt = new Map<string, number>();
  private choices = 0;

  constructor(options: { configured: readonly string[]; probeTimeoutMs?: number }) {
    this.configured = options.configured;
    this.timeoutMs = options.probeTimeoutMs ?? 3000;
  }

  async servers(em: EntityManager): Promise<string[]> {
    const rows = await em.find(ComfyServer, { enabled: true }, { orderBy: { createdAt: 'asc' } });
    const fromDb = rows.map((r) => serverOrigin(r.url)).filter((o): o is string => o !== null);
    return [...new Set([...this.configured, ...fromDb])];
  }

  async probe(origin: string): Promise<ServerProbe> {
    const client = new ComfyClient(origin, { timeoutMs: this.timeoutMs });
    try {
      const [stats, queue] = await Promise.all([client.systemStats(), client.queue()]);
      return {
        origin,
        healthy: true,
        queued: [...queue.running, ...queue.pending],
        deviceIndexes: stats.devices.map((d) => d.index).filter((i): i is number => typeof i === 'number'),
      };
    } catch (error) {
      return { origin, healthy: false, queued: [], deviceIndexes: [], error: (error as Error).message };
    }
  }

  private load(probe: ServerProbe): number {
    return new Set([...probe.queued, ...(this.inFlight.get(probe.origin) ?? [])]).size;
  }

  /**
   * The healthy server with the shortest queue; with a GPU preference, among
   * the servers reporting that device when any does. The choice is held for `promptId` until released.
   */
  async choose(
    em: EntityManager,
    options: { promptId: string; gpuPreference?: number | null; exclude?: ReadonlySet<string> },
  ): Promise<{ origin: string; release: () => void } | { origin: null; probes: ServerProbe[]; known: number }> {
    const all = await this.servers(em);
    const candidates = all.filter((o) => !options.exclude?.has(o));
    const probes = await Promise.all(candidates.map((o) => this.probe(o)));
    let healthy = probes.filter((p) => p.healthy);
    if (options.gpuPreference != null) {
      const withDevice = healthy.filter((p) => p.deviceIndexes.includes(options.gpuPreference!));
      if (withDevice.length) healthy = withDevice;
    }
    if (!healthy.length) return { origin: null, probes, known: all.length };
    // No await from here to the reservation: two choices in one process always see each other.
    // Ties go to the server chosen least recently, so idle servers take turns.
    const rank = (p: ServerProbe) => [this.load(p), this.chosenAt.get(p.origin) ?? 0] as const;
    const best = healthy.reduce((a, b) => {
      const [la, ta] = rank(a);
      const [lb, tb] = rank(b);
      return lb < la || (lb === la && tb < ta) ? b : a;
    });
    this.chosenAt.set(best.origin, ++this.choices);
    return { origin: best.origin, release: this.hold(best.origin, options.promptId) };
  }

  /** Counts a prompt against a server until the returned function is called. */
  hold(origin: string, promptId: string): () => void {
    let set = this.inFlight.get(origin);
    if (!set) this.inFlight.set(origin, (set = new Set()));
    set.add(promptId);
    return () => {
      set.delete(promptId);
      if (!set.size && this.inFlight.get(origin) === set) this.inFlight.delete(origin);
    };
  }
}
