import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import * as ort from 'onnxruntime-node';
import type { Config } from '../../../src/config/config.ts';
import { badInput } from '../../../src/services/errors.ts';
import type { ModelKind } from '../../../src/services/worker-registry.service.ts';
import { type Device, GpuPool, type Lease } from '../../gpu.pool.ts';
import { sampleGpus } from '../../telemetry.ts';
import { InferenceHost } from './inference.host.ts';
import { discoverModels, type ModelPack, packsOfKind } from './model.catalog.ts';
import { openSession } from './session.adapter.ts';
import { SessionCache } from './session.cache.ts';
import { probeUpscaleScale } from './upscale.pipeline.ts';

const GB = 1024 ** 3;

export interface ExecutionChoice {
  provider: 'cuda' | 'cpu';
  note: string;
  /** CUDA was asked for (ONNX_EXECUTION_PROVIDER=cuda, or auto with a GPU present) and did not load. */
  cudaMissing?: boolean;
}

/** What to do when the CUDA execution provider does not load: the usual causes, in order. */
export const CUDA_REMEDY =
  'onnxruntime-node ships CPU binaries only; install the CUDA ones with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` ' +
  '(again after every plain `npm ci`), and make the CUDA 12 runtime and cuDNN 9 libraries findable (LD_LIBRARY_PATH)';

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
    return {
      provider: 'cpu',
      note: `${setting}: CUDA execution provider unavailable (${(error as Error).message.split('\n')[0]}); fell back to CPU. ${CUDA_REMEDY}`,
      cudaMissing: true,
    };
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
    // On the provider the jobs will use: an fp16-only model may have no CPU kernels.
    await this.probeUpscalers(this.execution.provider === 'cuda' ? `cuda:${wanted[0] ?? 0}` : 'cpu');
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
        return { session, bytes: await modelBytes(file) };
      },
    });
    if (this.execution.cudaMissing) {
      // Loud: a GPU box quietly running on its CPU is tens of times slower, and a plain `npm ci` causes it.
      this.log.error({ note: this.execution.note }, 'CUDA was asked for but its execution provider did not load: the onnx engine runs on the CPU');
    }
    this.log.info(
      { executionProvider: this.execution.provider, note: this.execution.note, devices, models: this.packs.map((p) => `${p.name} (${p.kind})`) },
      'onnx engine ready',
    );
  }

  /**
   * Each upscaler's scale and names from the model itself, one probe tile on `device`. A model that cannot be
   * probed keeps the declared (or file-name) scale, which every tile then checks.
   */
  private async probeUpscalers(device: string) {
    for (const pack of this.packs) {
      if (pack.kind !== 'UPSCALE') continue;
      const guessed = pack.details.scale;
      const declared = Boolean(pack.details.scaleDeclared);
      delete pack.details.scaleDeclared;
      try {
        const session = await openSession(pack.file!, sessionOptions(device));
        try {
          const scale = await probeUpscaleScale(session);
          if (declared && guessed !== scale) this.log.warn({ pack: pack.name, declared: guessed, probed: scale }, "atelier.json declares another scale than the model has; using the model's");
          pack.details = { ...pack.details, scale, inputName: session.inputMetadata[0]?.name ?? 'input', outputName: session.outputNames[0] ?? 'output' };
        } finally {
          await session.release();
        }
      } catch (error) {
        this.log.warn({ pack: pack.name, scale: guessed, err: error }, `could not probe the upscaler's scale; assuming ×${guessed} (${declared ? 'atelier.json' : 'file name'})`);
      }
    }
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

/**
 * Bytes a model takes: its file plus its external data. Optimum writes large UNets as model.onnx (the graph)
 * and model.onnx_data (the weights); other exporters write one file per tensor beside the graph. A folder with a
 * single .onnx holds only that model's files, so all of it counts but configs.
 */
export async function modelBytes(file: string): Promise<number> {
  const dir = path.dirname(file);
  const entries = await readdir(dir, { withFileTypes: true });
  const onnxFiles = entries.filter((e) => e.isFile() && e.name.endsWith('.onnx'));
  const base = path.basename(file);
  const counted = entries.filter(
    (e) =>
      e.isFile() &&
      (e.name === base || e.name === `${base}_data` || e.name === `${base}.data` || (onnxFiles.length === 1 && !/\.(json|txt|md)$/i.test(e.name))),
  );
  const sizes = await Promise.all(counted.map(async (e) => (await stat(path.join(dir, e.name))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

const splitKey = (key: string): [string, string] => {
  const at = key.indexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
};

