import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelInfo, ModelKind } from '../../../src/services/worker-registry.service.ts';

/** A pack found under MODELS_DIR: what it is, where its files are, and what it needs. */
export interface ModelPack extends Omit<ModelInfo, 'workers'> {
  dir: string;
  /** The ONNX file for single-file packs (upscalers, voices). */
  file?: string;
  /** Parsed `<voice>.onnx.json` for Piper voices, scheduler_config.json for Stable Diffusion. */
  config?: Record<string, unknown>;
}

const GB = 1024 ** 3;

async function sizeOnDisk(target: string): Promise<number> {
  const info = await stat(target);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(target)) total += await sizeOnDisk(path.join(target, entry));
  return total;
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Weights plus activations: without a declared figure (atelier.json `vramGb`), a pack is assumed to
 * need 1.5× its ONNX files, a rough rule for fp16 diffusion exports at 512².
 */
const estimateVram = (bytes: number, declaredGb: unknown) => (typeof declaredGb === 'number' ? Math.round(declaredGb * GB) : Math.ceil(bytes * 1.5));

async function describePack(dir: string): Promise<ModelPack | undefined> {
  const name = path.basename(dir);
  const files = await readdir(dir);
  const declared = (await readJson(path.join(dir, 'atelier.json'))) ?? {};
  const sizeBytes = await sizeOnDisk(dir);
  const base = { name, dir, sizeBytes, vramBytes: estimateVram(sizeBytes, declared.vramGb) };
  if (files.includes('model_index.json') && files.includes('unet')) {
    const scheduler = (await readJson(path.join(dir, 'scheduler', 'scheduler_config.json'))) ?? {};
    const sdxl = files.includes('text_encoder_2');
    return {
      ...base,
      kind: sdxl ? 'SDXL' : 'STABLE_DIFFUSION',
      config: scheduler,
      details: {
        scheduler: String(scheduler._class_name ?? 'EulerDiscreteScheduler'),
        predictionType: String(scheduler.prediction_type ?? 'epsilon'),
        img2img: files.includes('vae_encoder'),
      },
    };
  }
  const voice = files.find((f) => f.endsWith('.onnx') && files.includes(`${f}.json`));
  if (voice) {
    const config = (await readJson(path.join(dir, `${voice}.json`))) ?? {};
    const audio = (config.audio ?? {}) as { sample_rate?: number };
    const language = (config.language ?? {}) as { code?: string };
    return {
      ...base,
      kind: 'VOICE',
      file: path.join(dir, voice),
      config,
      details: { sampleRate: audio.sample_rate ?? 22050, language: language.code ?? 'unknown', voice: voice.replace(/\.onnx$/, '') },
    };
  }
  const single = files.find((f) => f.endsWith('.onnx'));
  if (single) {
    // A first guess only: the worker probes the model for its real scale at start.
    const named = /(?:^|[^a-z0-9])x([1-8])(?![0-9])|(?:^|[^0-9])([1-8])x(?![a-z0-9])/i.exec(single);
    const scale = Number(declared.scale ?? named?.[1] ?? named?.[2] ?? 4);
    return { ...base, kind: 'UPSCALE', file: path.join(dir, single), details: { scale, ...(declared.scale !== undefined ? { scaleDeclared: true } : {}) } };
  }
  return undefined;
}

/** Scans MODELS_DIR once at worker start; a folder that is not a known layout is skipped. */
export async function discoverModels(modelsDir: string | undefined): Promise<ModelPack[]> {
  if (!modelsDir) return [];
  let entries: string[];
  try {
    entries = await readdir(modelsDir);
  } catch {
    return [];
  }
  const packs: ModelPack[] = [];
  for (const entry of entries.sort()) {
    const dir = path.join(modelsDir, entry);
    if (!(await stat(dir)).isDirectory()) continue;
    const pack = await describePack(dir);
    if (pack) packs.push(pack);
  }
  return packs;
}

export const packsOfKind = (packs: ModelPack[], ...kinds: ModelKind[]) => packs.filter((p) => kinds.includes(p.kind));
