import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ffmpeg } from '../../../src/media/ffmpeg.tool.ts';
import { GENERATION_JOB_NAMES } from '../../../src/queue/queue.names.ts';
import type { TalkingHeadJobInput } from '../../../src/services/generation.inputs.ts';
import type { Engine, EngineDeps, EngineRun } from '../../engine.types.ts';
import { createFramePool, encodeFrames, toSharedRgb, withTempDir } from './frame.pipeline.ts';
import { loudnessEnvelope, type HeadFrameTask } from './talking-head.render.ts';

/** The envelope is measured at this rate; plenty for loudness. */
const SAMPLE_RATE = 16_000;
/** The output's longest side; smaller portraits keep their size. */
const MAX_SIDE = 512;

/** The portrait, at most MAX_SIDE a side and both sides even (H.264), as RGB in memory threads share. */
async function loadPortrait(run: EngineRun, assetId: string) {
  const { asset, data } = await run.readAsset(assetId);
  if (asset.kind !== 'IMAGE') throw new Error(`imageAssetId ${assetId} is not an image (${asset.kind})`);
  const fitted = await sharp(data)
    .rotate()
    .resize({ width: MAX_SIDE, height: MAX_SIDE, fit: 'inside', withoutEnlargement: true })
    .toBuffer({ resolveWithObject: true });
  const width = Math.max(16, fitted.info.width - (fitted.info.width % 2));
  const height = Math.max(16, fitted.info.height - (fitted.info.height % 2));
  const shared = await toSharedRgb(fitted.data, width, height, `asset ${assetId}`);
  return { width, height, rgb: shared };
}

/** Decodes any audio ffmpeg reads to mono 16-bit PCM at SAMPLE_RATE. */
async function decodePcm(file: string, signal: AbortSignal): Promise<Int16Array> {
  const raw = await ffmpeg(['-i', file, '-vn', '-f', 's16le', '-ac', '1', '-ar', String(SAMPLE_RATE), '-'], { signal });
  const pcm = new Int16Array(raw.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = raw.readInt16LE(i * 2);
  return pcm;
}

/**
 * Animates a portrait with a driving audio on the CPU: the mouth region opens with the audio's loudness
 * per frame and the head bobs; the audio is muxed in as AAC. No face detection, no model.
 */
export function createBuiltinTalkingHeadEngine(deps: Pick<EngineDeps, 'threads'>): Engine {
  const pool = createFramePool('./talking-head.render.ts', deps.threads);

  return {
    name: 'builtin',
    jobNames: [GENERATION_JOB_NAMES.TALKING_HEAD],
    async run(run) {
      run.signal.throwIfAborted();
      const input = run.job.input as unknown as TalkingHeadJobInput;
      const fps = input.fps ?? 25;
      const portrait = await loadPortrait(run, input.imageAssetId);
      const audio = await run.readAsset(input.audioAssetId);
      if (audio.asset.kind !== 'AUDIO') throw new Error(`audioAssetId ${input.audioAssetId} is not audio (${audio.asset.kind})`);
      // More guidance, more motion; more inference steps, smoother motion.
      const amplitude = input.guidanceScale / 3.5;
      const smoothing = Math.min(0.9, input.inferenceSteps / 200);
      const { width, height } = portrait;

      const started = performance.now();
      const result = await withTempDir('atelier-talking-head-', async (dir) => {
        const audioFile = path.join(dir, `audio${path.extname(audio.asset.storageKey) || '.bin'}`);
        await writeFile(audioFile, audio.data);
        const pcm = await decodePcm(audioFile, run.signal);
        if (pcm.length === 0) throw new Error('the audio has no samples');
        const audioSeconds = pcm.length / SAMPLE_RATE;
        // Exactly enough frames to cover the audio: the video ends less than one frame after it.
        const totalFrames = Math.ceil((pcm.length * fps) / SAMPLE_RATE);
        const envelope = loudnessEnvelope(pcm, SAMPLE_RATE, fps, totalFrames, smoothing);
        run.note(`Audio ${audioSeconds.toFixed(2)} s (${audio.asset.mime}); rendering ${totalFrames} frames at ${width}x${height}, ${fps} fps`);

        const outFile = path.join(dir, 'talking-head.mp4');
        const { poster } = await encodeFrames({
          width,
          height,
          fps,
          totalFrames,
          posterIndex: Math.floor(totalFrames / 2),
          outFile,
          audioFile,
          signal: run.signal,
          lookahead: Math.max(2, deps.threads + 1),
          render: (frame) => {
            const task: HeadFrameTask = {
              width,
              height,
              fps,
              frame,
              open: Math.min(1.5, envelope[frame]! * amplitude),
              sway: Math.min(2, amplitude),
              source: portrait.rgb,
            };
            return pool.run(task, { signal: run.signal }) as Promise<Uint8Array>;
          },
          onFrame: (frame) => run.progress((frame + 1) / totalFrames, `Frame ${frame + 1}/${totalFrames}`),
        });
        const meanLevel = envelope.reduce((sum, v) => sum + v, 0) / totalFrames;
        return { video: await readFile(outFile), poster, totalFrames, audioSeconds, meanLevel };
      });
      const durationSeconds = result.totalFrames / fps;
      run.note(`Encoded ${result.totalFrames} frames with audio (${Math.round(result.video.length / 1024)} KiB) in ${Math.round(performance.now() - started)} ms`);

      const videoAsset = await run.saveAsset({ kind: 'VIDEO', mime: 'video/mp4', extension: 'mp4', data: result.video, width, height, durationSeconds });
      const png = await sharp(result.poster, { raw: { width, height, channels: 3 } }).png().toBuffer();
      const posterAsset = await run.saveAsset({ kind: 'IMAGE', mime: 'image/png', extension: 'png', data: png, width, height });
      return {
        assets: [videoAsset, posterAsset],
        extra: {
          posterAssetId: posterAsset.id,
          frames: result.totalFrames,
          fps,
          durationSeconds,
          audioDurationSeconds: result.audioSeconds,
          width,
          height,
          guidanceScale: input.guidanceScale,
          inferenceSteps: input.inferenceSteps,
          motionAmplitude: amplitude,
          motionSmoothing: smoothing,
          meanMouthLevel: Math.round(result.meanLevel * 1000) / 1000,
          useCache: input.useCache,
        },
      };
    },
    close: () => pool.destroy(),
  };
}
