import type { Redis } from 'ioredis';
import { badInput } from './errors.ts';

export type ModelKind = 'STABLE_DIFFUSION' | 'SDXL' | 'UPSCALE' | 'VOICE';

export interface ModelInfo {
  name: string;
  kind: ModelKind;
  sizeBytes: number;
  /** Declared by the pack (atelier.json) or estimated from its files. */
  vramBytes: number;
  details: Record<string, string | number | boolean>;
  /** Ids of the live workers that have the pack. */
  workers: string[];
}

export interface GpuSample {
  id: number;
  name: string;
  totalVram: number;
  usedVram: number;
  temperature: number | null;
  utilization: number | null;
  powerDraw: number | null;
}

export interface SystemSample {
  totalRam: number;
  usedRam: number;
  cpuPercent: number;
}

export interface Allocation {
  jobId: string;
  device: string;
  vramBytes: number;
}

/** What a worker publishes with every heartbeat (units: bytes, °C, %, W). */
export interface WorkerState {
  id: string;
  host: string;
  pid: number;
  engines: string[];
  executionProvider: string | null;
  executionProviderNote: string | null;
  gpus: GpuSample[];
  system: SystemSample;
  models: Omit<ModelInfo, 'workers'>[];
  runningJobs: string[];
  allocations: Allocation[];
  modelLoads: { key: string; ms: number }[];
  startedAt: string;
  lastHeartbeat: string;
}

export type WorkerStatus = 'ONLINE' | 'LOST';

/** A worker silent for this long is reported lost (BullMQ's stalled-job check takes its jobs back). */
export const HEARTBEAT_LOST_MS = 5_000;
/** Lost workers are forgotten after this long. */
const FORGET_AFTER_MS = 10 * 60_000;

/**
 * Workers announce themselves in one Redis hash, field per worker, rewritten every second; the API reads
 * it to answer `workers`, `resources` and `models`, and to check requested models.
 */
export class WorkerRegistry {
  private readonly redis: Redis;
  private readonly key: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.key = `${prefix}:workers`;
  }

  /**
   * Redis's clock, the one every machine shares: beats are stamped and judged by it, so a worker whose own
   * clock is off is neither reported lost nor kept alive by mistake.
   */
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Stores a beat stamped `at` (ms, Redis's clock; tests inject old beats), whatever the worker's own clock said. */
  async publish(state: WorkerState, at?: number): Promise<void> {
    const stamped = { ...state, lastHeartbeat: new Date(at ?? (await this.now())).toISOString() };
    await this.redis.hset(this.key, state.id, JSON.stringify(stamped));
  }

  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.key, id);
  }

  async list(at?: number): Promise<(WorkerState & { status: WorkerStatus })[]> {
    const [raw, now] = await Promise.all([this.redis.hgetall(this.key), at ?? this.now()]);
    const workers = [];
    for (const [id, json] of Object.entries(raw)) {
      const state = JSON.parse(json) as WorkerState;
      const age = now - Date.parse(state.lastHeartbeat);
      if (age > FORGET_AFTER_MS) {
        await this.redis.hdel(this.key, id);
        continue;
      }
      workers.push({ ...state, status: (age > HEARTBEAT_LOST_MS ? 'LOST' : 'ONLINE') as WorkerStatus });
    }
    return workers.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Packs of the live workers, merged by name. */
  async models(): Promise<ModelInfo[]> {
    const byName = new Map<string, ModelInfo>();
    for (const worker of await this.list()) {
      if (worker.status !== 'ONLINE') continue;
      for (const model of worker.models) {
        const known = byName.get(model.name) ?? { ...model, workers: [] };
        known.workers.push(worker.id);
        byName.set(model.name, known);
      }
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The GPUs, host figures and allocations of every live worker, as the `resources` query shows them. */
  async resources() {
    const live = (await this.list()).filter((w) => w.status === 'ONLINE');
    return {
      gpus: live.flatMap((w) => w.gpus.map((g) => ({ ...g, workerId: w.id }))),
      system: live.reduce(
        (sum, w) => ({
          totalRam: sum.totalRam + w.system.totalRam,
          usedRam: sum.usedRam + w.system.usedRam,
          cpuPercent: Math.max(sum.cpuPercent, w.system.cpuPercent),
        }),
        { totalRam: 0, usedRam: 0, cpuPercent: 0 },
      ),
      allocations: live.flatMap((w) => w.allocations.map((a) => ({ ...a, workerId: w.id }))),
      at: new Date().toISOString(),
    };
  }

  /** Refuses an upscale no live worker can do: the named pack, or any pack of that scale. */
  async requireUpscaler(scale: number, name: string | null | undefined): Promise<void> {
    const upscalers = (await this.models()).filter((m) => m.kind === 'UPSCALE');
    if (upscalers.some((m) => (name ? m.name === name : true) && Number(m.details.scale) === scale)) return;
    const list = upscalers.map((m) => `${m.name} (×${m.details.scale})`).join(', ') || 'none (no worker with an upscale pack is online)';
    throw badInput(name ? `No ×${scale} upscale model "${name}". Available: ${list}` : `No ×${scale} upscale model. Available: ${list}`, { field: name ? 'model' : 'scale' });
  }

  /** Refuses a model no live worker has, naming those available of the wanted kinds. */
  async requireModel(name: string, kinds: ModelKind[], field: string): Promise<void> {
    const available = (await this.models()).filter((m) => kinds.includes(m.kind));
    if (available.some((m) => m.name === name)) return;
    const list = available.map((m) => m.name).join(', ') || 'none (no worker with MODELS_DIR is online)';
    throw badInput(`Unknown model "${name}". Available: ${list}`, { field });
  }
}
