import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Piscina } from 'piscina';
import sharp from 'sharp';
import { GENERATION_JOB_NAMES } from '../../../src/queue/queue.names.ts';
import type { VideoJobInput } from '../../../src/services/generation.inputs.ts';
import type { Engine, EngineDeps, EngineOutput, EngineRun } from '../../engine.types.ts';
import { createFramePool, encodeFrames, toSharedRgb, withTempDir } from './frame.pipeline.ts';
import type { FrameTask } from './video.render.ts';

/** Super-resolves each rendered frame (the onnx engine's ESRGAN pack); frames are rendered `scale` times smaller. */
export interface FrameUpscaler {
  model: string;
  scale: number;
  upscale(rgb: Uint8Array, width: number, height: number, signal: AbortSignal): Promise<Uint8Array>;
}

/** Why `upscale: true` was not honoured, kept on the result so a client can see it. */
const NOT_UPSCALED = 'no upscale model on this worker (the onnx engine with an ESRGAN pack upscales)';

/** Loads the still to animate, covering the frame (centre crop), as RGB in memory worker threads share. */
async function loadSource(run: EngineRun, assetId: string, width: number, height: number): Promise<Uint8Array> {
  const { data } = await run.readAsset(assetId);
  return toSharedRgb(data, width, height, `asset ${assetId}`);
}

/**
 * Renders a video job on the CPU: each scene's procedural picture (or the given still) in motion, frame by
 * frame in the pool's worker threads, optionally upscaled, streamed into ffmpeg as raw RGB and encoded to
 * H.264 MP4. The job's width × height is the output size; with an upscaler, frames render at 1/scale of it.
 */
export async function renderVideo(run: EngineRun, pool: Piscina, threads: number, upscaler?: FrameUpscaler): Promise<EngineOutput> {
  run.signal.throwIfAborted();
  const input = run.job.input as unknown as VideoJobInput;
  const { width, height, fps } = input;
  const scale = input.upscale && upscaler ? upscaler.scale : 1;
  const [renderWidth, renderHeight] = [width / scale, height / scale];
  if (!Number.isInteger(renderWidth) || !Number.isInteger(renderHeight)) {
    throw new Error(`${width}x${height} is not divisible by the upscale factor ${scale}`);
  }
  const frames = input.scenes.flatMap((scene, sceneIndex) => Array.from({ length: scene.frames }, (_, frame) => ({ scene, sceneIndex, frame })));
  const totalFrames = frames.length;
  if (totalFrames === 0) throw new Error('the video has no frames');
  const durationSeconds = totalFrames / fps;
  const source = input.imageAssetId ? await loadSource(run, input.imageAssetId, renderWidth, renderHeight) : null;
  run.note(
    `Rendering ${totalFrames} frames at ${renderWidth}x${renderHeight}, ${fps} fps (${durationSeconds.toFixed(2)} s) in ${input.scenes.length} scene(s)` +
      (source ? `, animating image ${input.imageAssetId}` : ''),
  );
  if (scale > 1) run.note(`Upscaling every frame ×${scale} with ${upscaler!.model} to ${width}x${height}`);
  else if (input.upscale) run.note(`Upscale requested, but ${NOT_UPSCALED}; rendered at ${width}x${height}`, 'warn');

  const started = performance.now();
  const posterIndex = Math.floor(totalFrames / 2);
  // Frames rendered ahead are dropped when encoding fails; this stops them too, so none runs on (on a GPU
  // session or lease the caller hands back) after this function returns.
  const frameWork = new AbortController();
  const signal = AbortSignal.any([run.signal, frameWork.signal]);
  const { video, poster } = await withTempDir('atelier-video-', async (dir) => {
    const outFile = path.join(dir, 'video.mp4');
    const { poster } = await encodeFrames({
      width,
      height,
      fps,
      totalFrames,
      posterIndex,
      outFile,
      signal: run.signal,
      lookahead: Math.max(2, threads + 1),
      render: async (index) => {
        const { scene, frame } = frames[index]!;
        const task: FrameTask = {
          prompt: scene.prompt,
          negativePrompt: input.negativePrompt,
          seed: input.seed,
          width: renderWidth,
          height: renderHeight,
          fps,
          motionScale: input.motionScale,
          frame,
          source,
        };
        try {
          const rgb = (await pool.run(task, { signal })) as Uint8Array;
          return scale > 1 ? await upscaler!.upscale(rgb, renderWidth, renderHeight, signal) : rgb;
        } catch (error) {
          // The video cannot be finished: the frames rendering beside this one stop now.
          frameWork.abort(error);
          throw error;
        }
      },
      onFrame: (index) => {
        const { scene, sceneIndex, frame } = frames[index]!;
        if (frame === 0) run.note(`Scene ${sceneIndex + 1}/${input.scenes.length}: ${scene.frames} frames, "${scene.prompt.slice(0, 120)}"`);
        run.progress(
          (index + 1) / totalFrames,
          `Frame ${index + 1}/${totalFrames}` + (input.scenes.length > 1 ? ` (scene ${sceneIndex + 1}/${input.scenes.length})` : ''),
        );
      },
    });
    return { video: await readFile(outFile), poster };
  }).finally(() => frameWork.abort(new Error('video rendering ended')));
  run.note(`Encoded ${totalFrames} frames (${Math.round(video.length / 1024)} KiB H.264) in ${Math.round(performance.now() - started)} ms`);

  const videoAsset = await run.saveAsset({ kind: 'VIDEO', mime: 'video/mp4', extension: 'mp4', data: video, width, height, durationSeconds });
  const png = await sharp(poster, { raw: { width, height, channels: 3 } }).png().toBuffer();
  const posterAsset = await run.saveAsset({ kind: 'IMAGE', mime: 'image/png', extension: 'png', data: png, width, height });
  const upscale = scale > 1 ? { applied: true, model: upscaler!.model, scale, renderedWidth: renderWidth, renderedHeight: renderHeight } : { applied: false, reason: NOT_UPSCALED };
  return {
    assets: [videoAsset, posterAsset],
    extra: {
      posterAssetId: posterAsset.id,
      frames: totalFrames,
      fps,
      durationSeconds,
      width,
      height,
      seed: input.seed,
      scenes: input.scenes.map((s) => s.frames),
      ...(input.upscale ? { upscale } : {}),
    },
  };
}

/** Frame-render threads for video jobs; idle threads go away. */
export const createVideoFramePool = (threads: number) => createFramePool('./video.render.ts', threads);

export function createBuiltinVideoEngine(deps: Pick<EngineDeps, 'threads'>): Engine {
  const pool = createVideoFramePool(deps.threads);
  return {
    name: 'builtin',
    jobNames: [GENERATION_JOB_NAMES.VIDEO],
    run: (run) => renderVideo(run, pool, deps.threads),
    close: () => pool.destroy(),
  };
}
