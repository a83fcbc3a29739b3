import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import * as ort from 'onnxruntime-node';
import type { Config } from '../../../src/config/config.ts';
import { badInput } from '../../../src/services/errors.ts';
import type { ModelKind } from '../../../src/services/worker-registry.service.ts';
import { type Device, GpuPool, type Lease } from '../../gpu.pool.ts';
import { sampleGpus } from '../../telemetry.ts';
import { InferenceHost } from './inference.host.ts';
import { discoverModels, type ModelPack, packsOfKind } from './model.catalog.ts';
import { SessionCache } from './session.cache.ts';

const GB = 1024 ** 3;

export interface ExecutionChoice {
  provider: 'cuda' | 'cpu';
  note: string;
}

/**
 * CUDA when asked (or, on auto, when nvidia-smi sees a GPU) and the CUDA execution provider actually
 * loads; otherwise the CPU, with the reason kept for the logs and the `workers` query.
 */
export async function chooseExecutionProvider(setting: 'auto' | 'cuda' | 'cpu', gpuCount: number, probeModel?: string): Promise<ExecutionChoice> {
  if (setting === 'cpu') return { provider: 'cpu', note: 'ONNX_EXECUTION_PROVIDER=cpu' };
  if (setting === 'auto' && gpuCount === 0) return { provider: 'cpu', note: 'auto: no GPU reported by nvidia-smi' };
  if (!probeModel) return { provider: 'cpu', note: `${setting}: no model to probe the CUDA execution provider with; using CPU` };
  try {
    const session = await ort.InferenceSession.create(probeModel, { executionProviders: ['cuda'] });
    await session.release();
    return { provider: 'cuda', note: `${setting}: CUDA execution provider loaded` };
  } catch (error) {
    return { provider: 'cpu', note: `${setting}: CUDA execution provider unavailable (${(error as Error).message.split('\n')[0]}); fell back to CPU` };
  }
}

/** How every session is created on a device ("cpu" or "cuda:N"). */
export function sessionOptions(device: string): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device.startsWith('cuda:') ? [{ name: 'cuda', deviceId: Number(device.slice(5)) }] : ['cpu'],
    graphOptimizationLevel: 'all',
    // onnxruntime's CPU threads spin after each run by default, taking the cores the worker's own thread
    // needs to prepare the next step (a 20-step job through an inference thread: ~1,270 ms spinning,
    // ~1,215 ms not, on 2 cores).
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** The onnx family's shared state on one worker: packs, devices, loaded sessions. */
export class OnnxRuntime {
  packs: ModelPack[] = [];
  execution: ExecutionChoice = { provider: 'cpu', note: 'not started' };
  pool!: GpuPool;
  cache!: SessionCache;
  private readonly config: Config;
  private readonly log: Logger;
  /** One inference thread per device: session.run holds its thread for the whole run. */
  private readonly hosts = new Map<string, InferenceHost>();
  readonly ready: Promise<void>;

  constructor(config: Config, log: Logger) {
    this.config = config;
    this.log = log.child({ engine: 'onnx' });
    this.ready = this.start();
    // A failed start is reported by the jobs that await `ready`; it must not be an unhandled rejection.
    this.ready.catch((error) => this.log.error({ err: error }, 'onnx engine failed to start'));
  }

  private async start() {
    const config = this.config;
    this.packs = await discoverModels(config.MODELS_DIR);
    const gpus = await sampleGpus();
    const wanted = config.GPU_IDS ? config.GPU_IDS.split(',').map((s) => Number(s.trim())) : gpus.map((g) => g.id);
    const probe = this.packs.find((p) => p.file)?.file ?? this.packs.find((p) => p.kind === 'STABLE_DIFFUSION')?.dir.concat('/vae_decoder/model.onnx');
    this.execution = await chooseExecutionProvider(config.ONNX_EXECUTION_PROVIDER, wanted.length, probe);
    const devices: Device[] =
      this.execution.provider === 'cuda'
        ? wanted.map((id) => ({
            id: `cuda:${id}`,
            memoryBytes: config.GPU_VRAM_GB ? config.GPU_VRAM_GB * GB : (gpus.find((g) => g.id === id)?.totalVram ?? 0),
            maxConcurrent: config.MAX_CONCURRENT_PER_GPU,
          }))
        : [{ id: 'cpu', memoryBytes: config.ONNX_CPU_MEMORY_GB * GB, maxConcurrent: config.MAX_CONCURRENT_PER_GPU }];
    this.pool = new GpuPool(devices);
    this.cache = new SessionCache({
      maxBytes: config.MODEL_CACHE_MAX_GB * GB,
      load: async (key) => {
        const [device, file] = splitKey(key);
        let host = this.hosts.get(device);
        if (!host?.alive) {
          // A stopped thread took its sessions with it: a new one loads them again.
          if (host) this.cache.drop((cached) => cached.startsWith(`${device}|`));
          this.hosts.set(device, (host = new InferenceHost()));
        }
        const session = await host.load(file, sessionOptions(device));
        return { session, bytes: (await stat(file)).size };
      },
    });
    this.log.info(
      { executionProvider: this.execution.provider, note: this.execution.note, devices, models: this.packs.map((p) => `${p.name} (${p.kind})`) },
      'onnx engine ready',
    );
  }

  /** The pack a job asked for, or the configured / first pack of the kind; unknown → BAD_USER_INPUT listing those here. */
  pick(name: string | null | undefined, kinds: ModelKind[], field = 'model'): ModelPack {
    const candidates = packsOfKind(this.packs, ...kinds);
    const wanted = name ?? (this.config.ONNX_DEFAULT_MODEL && candidates.some((p) => p.name === this.config.ONNX_DEFAULT_MODEL) ? this.config.ONNX_DEFAULT_MODEL : candidates[0]?.name);
    const pack = candidates.find((p) => p.name === wanted);
    if (!pack) {
      const list = candidates.map((p) => p.name).join(', ') || `none in MODELS_DIR (${this.config.MODELS_DIR ?? 'not set'})`;
      throw badInput(name ? `Unknown model "${name}" on this worker. Available: ${list}` : `No ${kinds.join('/')} model on this worker. Available: ${list}`, { field });
    }
    return pack;
  }

  /** Waits for a device with room for the pack; fails at once with RESOURCE_ERROR when none could ever hold it. */
  admit(jobId: string, pack: ModelPack, signal: AbortSignal, preference?: string | null): Promise<Lease> {
    return this.pool.acquire(jobId, pack.vramBytes, { signal, preference });
  }

  session(device: Device, file: string) {
    return this.cache.acquire(`${device.id}|${file}`);
  }

  async close() {
    await this.ready.catch(() => undefined);
    await this.cache?.close();
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
  }
}

const splitKey = (key: string): [string, string] => {
  const at = key.indexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
};

