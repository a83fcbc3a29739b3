import path from 'node:path';
import sharp from 'sharp';
import { GENERATION_JOB_NAMES } from '../../../src/queue/queue.names.ts';
import { AppError } from '../../../src/services/errors.ts';
import { createEspeak, encodeWav } from '../../../src/media/espeak.tool.ts';
import { ffmpeg } from '../../../src/media/ffmpeg.tool.ts';
import { chooseVideoUpscaler, type ImageJobInput, type SpeechJobInput, type UpscaleJobInput, type VideoJobInput } from '../../../src/services/generation.inputs.ts';
import type { Engine, EngineDeps, EngineRun } from '../../engine.types.ts';
import { createVideoFramePool, renderVideo } from '../builtin/video.engine.ts';
import type { ModelPack } from './model.catalog.ts';
import { OnnxRuntime } from './onnx.runtime.ts';
import { loadSdPackFiles, pngToRgb, rgbToPng, type Runner, runStableDiffusion, type SdPackFiles, type SdSessions } from './sd.pipeline.ts';
import { phonemeIds, type PiperConfig, SENTENCE_SILENCE_SECONDS, sentencePhonemes, speakerIdFor, splitClauses, synthesiseIds, toInt16 } from './piper.pipeline.ts';
import { UnetBatcher } from './unet.batcher.ts';
import { UPSCALE_TILES, upscaleTiled } from './upscale.pipeline.ts';

/** Loads a pack's components for one job from the session cache; `release` hands them back. */
async function sdSessions(runtime: OnnxRuntime, run: EngineRun, pack: ModelPack, device: Parameters<OnnxRuntime['session']>[0], withEncoder: boolean) {
  const components = ['text_encoder', 'unet', 'vae_decoder', ...(withEncoder ? ['vae_encoder'] : []), ...(pack.kind === 'SDXL' ? ['text_encoder_2'] : [])];
  const settled = await Promise.allSettled(components.map((c) => runtime.session(device, path.join(pack.dir, c, 'model.onnx'))));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) {
    // Hand back what did load, or those sessions would count as in use forever.
    for (const r of settled) if (r.status === 'fulfilled') r.value.release();
    throw failed.reason;
  }
  const held = settled.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<OnnxRuntime['session']>>>).value);
  const of = (component: string) => held[components.indexOf(component)]?.session;
  const loaded = held.filter((h) => !h.cached);
  if (loaded.length) run.note(`Loaded ${pack.name} on ${device.id}: ${components.map((c, i) => `${c} ${held[i]!.loadMs} ms${held[i]!.cached ? ' (cached)' : ''}`).join(', ')}`);
  else run.note(`${pack.name} already loaded on ${device.id}`);
  const sessions: SdSessions = {
    textEncoder: of('text_encoder')!,
    textEncoder2: of('text_encoder_2'),
    unet: of('unet')!,
    vaeDecoder: of('vae_decoder')!,
    vaeEncoder: of('vae_encoder'),
  };
  return { sessions, loadMs: loaded.reduce((sum, h) => sum + h.loadMs, 0), release: () => held.forEach((h) => h.release()) };
}

/**
 * Local ONNX models through onnxruntime-node: Stable Diffusion / SDXL packs in the Optimum layout (IMAGE jobs,
 * txt2img and img2img), ESRGAN upscalers (IMAGE jobs from upscaleImage) and Piper voices (SPEECH jobs). Each job
 * waits for a device with room in the GPU pool, then borrows the pack's sessions from the LRU cache.
 */
export function createOnnxEngines(deps: EngineDeps): Engine[] {
  const runtime = new OnnxRuntime(deps.core.config, deps.log ?? silentLog);
  const packFiles = new Map<string, Promise<SdPackFiles>>();
  const filesOf = (pack: ModelPack) => {
    let files = packFiles.get(pack.dir);
    if (!files) {
      // A failed read (a file being copied in, say) is tried again by the next job, not remembered.
      files = loadSdPackFiles(pack.dir).catch((error: unknown) => {
        packFiles.delete(pack.dir);
        throw error;
      });
      packFiles.set(pack.dir, files);
    }
    return files;
  };

  /** Runs `use` with a single-file pack's session on a device with room for it; both are handed back however it ends. */
  async function withPackSession<T>(run: EngineRun, pack: ModelPack, use: (session: Runner, deviceId: string) => Promise<T>): Promise<T> {
    const lease = await runtime.admit(run.job.id, pack, run.signal);
    try {
      const held = await runtime.session(lease.device, pack.file!);
      try {
        if (!held.cached) run.note(`Loaded ${pack.name} on ${lease.device.id} in ${held.loadMs} ms`);
        return await use(held.session, lease.device.id);
      } finally {
        held.release();
      }
    } finally {
      lease.release();
    }
  }

  async function upscale(run: EngineRun, request: UpscaleJobInput['upscale']) {
    const candidates = runtime.packs.filter((p) => p.kind === 'UPSCALE' && Number(p.details.scale) === request.scale);
    const pack = request.model ? runtime.pick(request.model, ['UPSCALE']) : candidates[0] ?? runtime.pick(`×${request.scale} upscaler`, ['UPSCALE']);
    const scale = Number(pack.details.scale);
    if (scale !== request.scale) throw new AppError('BAD_USER_INPUT', `Model "${pack.name}" upscales ×${scale}, not ×${request.scale}`, { field: 'scale' });
    const { data } = await run.readAsset(request.assetId);
    // Upright first: a phone photo's EXIF orientation would otherwise come back sideways, twice the size.
    const { data: rgb, info } = await sharp(data).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return withPackSession(run, pack, async (session, device) => {
      const out = await upscaleTiled(session, new Uint8Array(rgb), info.width, info.height, scale, {
        ...UPSCALE_TILES,
        signal: run.signal,
        onTile: (done, total) => run.progress(done / total, `Tile ${done}/${total}`),
      });
      const [width, height] = [info.width * scale, info.height * scale];
      const png = await rgbToPng(out, width, height);
      const asset = await run.saveAsset({ kind: 'IMAGE', mime: 'image/png', extension: 'png', data: png, width, height });
      return { assets: [asset], extra: { model: pack.name, scale, sourceAssetId: request.assetId, device } };
    });
  }

  // One batcher per loaded UNet session, so concurrent jobs on the same pack and device can share calls.
  const batchers = new WeakMap<object, UnetBatcher>();
  const batcherFor = (unet: SdSessions['unet']) => {
    let batcher = batchers.get(unet);
    if (!batcher) {
      const { ONNX_BATCH_WINDOW_MS: windowMs, ONNX_MAX_BATCH: maxBatch } = deps.core.config;
      // On a GPU every new batch size is a new cuDNN algorithm search: sizes are padded to a few buckets there.
      batchers.set(unet, (batcher = new UnetBatcher(unet, { windowMs, maxBatch, bucket: runtime.execution.provider === 'cuda' })));
    }
    return batcher;
  };

  const image: Engine = {
    name: 'onnx',
    jobNames: [GENERATION_JOB_NAMES.IMAGE],
    async run(run) {
      await runtime.ready;
      if ('upscale' in run.job.input) return upscale(run, (run.job.input as unknown as UpscaleJobInput).upscale);
      const input = run.job.input as unknown as ImageJobInput;
      const pack = runtime.pick(input.model, ['STABLE_DIFFUSION', 'SDXL']);
      requireUnetSize(input.width, input.height);
      const files = await filesOf(pack);
      const init = input.initImageAssetId ? await run.readAsset(input.initImageAssetId) : undefined;
      if (init && !pack.details.img2img) throw new AppError('BAD_USER_INPUT', `Model "${pack.name}" has no vae_encoder, so it cannot start from an image`, { field: 'initImageAssetId' });

      const queuedAt = performance.now();
      const lease = await runtime.admit(run.job.id, pack, run.signal, input.gpuPreference);
      const waitedMs = Math.round(performance.now() - queuedAt);
      if (waitedMs > 50) run.note(`Waited ${waitedMs} ms for room on ${lease.device.id}`);
      try {
        const held = await sdSessions(runtime, run, pack, lease.device, Boolean(init));
        const batched = batcherFor(held.sessions.unet).forJob(input.width, input.height);
        try {
          const initRgb = init ? await pngToRgb(init.data, input.width, input.height) : undefined;
          const assets = [];
          for (let index = 0; index < input.numImages; index++) {
            const rgb = await runStableDiffusion(
              files,
              { ...held.sessions, unet: batched.unet },
              {
                prompt: input.prompt,
                negativePrompt: input.negativePrompt,
                width: input.width,
                height: input.height,
                steps: input.steps,
                guidance: input.guidance,
                seed: input.seed + index,
                init: initRgb ? { rgb: initRgb, strength: input.strength ?? 0.75 } : undefined,
              },
              {
                signal: run.signal,
                // Said once per job, not once per image.
                onNote: (message) => index === 0 && run.note(message),
                onStep: (step, total) =>
                  run.progress((index * total + step) / (total * input.numImages), `Image ${index + 1}/${input.numImages}: step ${step}/${total}`),
              },
            );
            const png = await rgbToPng(rgb, input.width, input.height);
            assets.push(await run.saveAsset({ kind: 'IMAGE', mime: 'image/png', extension: 'png', data: png, width: input.width, height: input.height }));
          }
          return {
            assets,
            extra: {
              seeds: assets.map((_, i) => input.seed + i),
              model: pack.name,
              scheduler: pack.details.scheduler,
              device: lease.device.id,
              executionProvider: runtime.execution.provider,
              modelLoadMs: held.loadMs,
            },
          };
        } finally {
          batched.done();
          held.release();
        }
      } finally {
        lease.release();
      }
    },
    status: () => ({
      executionProvider: runtime.execution.provider,
      executionProviderNote: runtime.execution.note,
      models: runtime.packs.map(({ name, kind, sizeBytes, vramBytes, details }) => ({ name, kind, sizeBytes, vramBytes, details })),
      allocations: runtime.pool?.allocations() ?? [],
      modelLoads: runtime.cache?.loads.slice(-20) ?? [],
    }),
    ready: () => runtime.ready,
    close: () => runtime.close(),
  };
  // eSpeak NG phonemises for Piper voices; its thread starts on the first speech job.
  const espeak = createEspeak({ threads: 1 });
  const speech: Engine = {
    name: 'onnx',
    jobNames: [GENERATION_JOB_NAMES.SPEECH],
    async run(run) {
      await runtime.ready;
      const input = run.job.input as unknown as SpeechJobInput;
      const pack = runtime.pick(input.voiceId, ['VOICE'], 'voiceId');
      const config = pack.config as unknown as PiperConfig;
      const sampleRate = config.audio?.sample_rate ?? 22050;
      const speakerId = speakerIdFor(config, pack.name, input.speakerId);
      // Clause by clause, so each clause's punctuation can be written back as Piper voices are trained with it.
      const clauses = splitClauses(input.text);
      const phonemised = [];
      let espeakVoice = '';
      for (const clause of clauses) {
        const { clauses: lines, voice } = await espeak.phonemise(clause.text, config.espeak?.voice ?? 'en-us', run.signal);
        espeakVoice = voice;
        // eSpeak separates a word's phonemes with "_"; Piper's ids are per code point.
        phonemised.push({ phonemes: lines.join(' ').replaceAll('_', ''), terminator: clause.terminator });
      }
      const sentences = sentencePhonemes(phonemised);
      if (!sentences.length) throw new AppError('BAD_USER_INPUT', 'The text has nothing to speak (only punctuation or spaces)', { field: 'text' });
      run.note(`Phonemised with eSpeak NG voice ${espeakVoice}: ${clauses.length} clause(s), ${sentences.length} sentence(s)${(config.num_speakers ?? 1) > 1 ? `, speaker ${speakerId}` : ''}`);
      return withPackSession(run, pack, async (session, device) => {
        const chunks: Float32Array[] = [];
        for (const [index, sentence] of sentences.entries()) {
          run.signal.throwIfAborted();
          chunks.push(await synthesiseIds(session, config, phonemeIds(config, sentence), input.speed, speakerId));
          run.progress((index + 1) / sentences.length, `Sentence ${index + 1}/${sentences.length}`);
        }
        const samples = toInt16(chunks, Math.round(sampleRate * SENTENCE_SILENCE_SECONDS));
        const wav = encodeWav({ samples, sampleRate });
        const durationSeconds = samples.length / sampleRate;
        const asset =
          input.format === 'mp3'
            ? await run.saveAsset({
                kind: 'AUDIO',
                mime: 'audio/mpeg',
                extension: 'mp3',
                data: await ffmpeg(['-f', 'wav', '-i', 'pipe:0', '-c:a', 'libmp3lame', '-b:a', '96k', '-f', 'mp3', 'pipe:1'], { input: wav, signal: run.signal }),
                durationSeconds,
              })
            : await run.saveAsset({ kind: 'AUDIO', mime: 'audio/wav', extension: 'wav', data: wav, durationSeconds });
        return { assets: [asset], extra: { voice: pack.name, sampleRate, durationSeconds, device, ...((config.num_speakers ?? 1) > 1 ? { speakerId } : {}) } };
      });
    },
    close: () => espeak.close(),
  };
  // Video jobs render as the builtin engine does; `upscale: true` runs each frame through an ESRGAN pack.
  const framePool = createVideoFramePool(deps.threads);
  const video: Engine = {
    name: 'onnx',
    jobNames: [GENERATION_JOB_NAMES.VIDEO],
    async run(run) {
      await runtime.ready;
      const input = run.job.input as unknown as VideoJobInput;
      const upscalers = runtime.packs.filter((p) => p.kind === 'UPSCALE');
      // The pack chosen at submission, else one of this worker's that fits: the queue may hand the job to any
      // onnx worker. Without one the video is still made, marked not upscaled, rather than lost.
      const pack = input.upscale
        ? (upscalers.find((p) => p.name === input.upscaleModel) ?? chooseVideoUpscaler(upscalers, input.width, input.height))
        : undefined;
      if (!pack) return renderVideo(run, framePool, deps.threads);
      const scale = Number(pack.details.scale);
      return withPackSession(run, pack, async (session, device) => {
        const output = await renderVideo(run, framePool, deps.threads, {
          model: pack.name,
          scale,
          upscale: (rgb, width, height, signal) => upscaleTiled(session, rgb, width, height, scale, { ...UPSCALE_TILES, signal }),
        });
        return { ...output, extra: { ...output.extra, device, executionProvider: runtime.execution.provider } };
      });
    },
    close: () => framePool.destroy(),
  };
  return [image, speech, video];
}

/** Traced UNets downsample the latents three times: the image sides must be multiples of 64, not just of 8. */
function requireUnetSize(width: number, height: number) {
  const bad = [
    ['width', width],
    ['height', height],
  ].filter(([, side]) => (side as number) % 64 !== 0);
  if (!bad.length) return;
  const [field, side] = bad[0] as [string, number];
  const lower = Math.max(64, Math.floor(side / 64) * 64);
  throw new AppError('BAD_USER_INPUT', `${field} ${side} is not a multiple of 64, which the onnx engine's UNets need; use ${lower} or ${lower + 64}`, { field });
}

const silentLog = {
  child: () => silentLog,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
} as unknown as NonNullable<EngineDeps['log']>;
