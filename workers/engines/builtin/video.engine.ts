import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { GENERATION_JOB_NAMES } from '../../../src/queue/queue.names.ts';
import type { VideoJobInput } from '../../../src/services/generation.inputs.ts';
import type { Engine, EngineDeps, EngineRun } from '../../engine.types.ts';
import { createFramePool, encodeFrames, toSharedRgb, withTempDir } from './frame.pipeline.ts';
import type { FrameTask } from './video.render.ts';

const UPSCALE_NOTE = 'not available in builtin engine';

/** Loads the still to animate, covering the frame (centre crop), as RGB in memory worker threads share. */
async function loadSource(run: EngineRun, assetId: string, width: number, height: number): Promise<Uint8Array> {
  const { data } = await run.readAsset(assetId);
  return toSharedRgb(data, width, height, `asset ${assetId}`);
}

/**
 * Renders video on the CPU: each scene's procedural picture (or the given still) in motion, frame by
 * frame in worker threads, streamed into ffmpeg as raw RGB and encoded to H.264 MP4.
 */
export function createBuiltinVideoEngine(deps: Pick<EngineDeps, 'threads'>): Engine {
  const pool = createFramePool('./video.render.ts', deps.threads);

  return {
    name: 'builtin',
    jobNames: [GENERATION_JOB_NAMES.VIDEO],
    async run(run) {
      run.signal.throwIfAborted();
      const input = run.job.input as unknown as VideoJobInput;
      const { width, height, fps } = input;
      const frames = input.scenes.flatMap((scene, sceneIndex) => Array.from({ length: scene.frames }, (_, frame) => ({ scene, sceneIndex, frame })));
      const totalFrames = frames.length;
      if (totalFrames === 0) throw new Error('the video has no frames');
      const durationSeconds = totalFrames / fps;
      const source = input.imageAssetId ? await loadSource(run, input.imageAssetId, width, height) : null;
      run.note(
        `Rendering ${totalFrames} frames at ${width}x${height}, ${fps} fps (${durationSeconds.toFixed(2)} s) in ${input.scenes.length} scene(s)` +
          (source ? `, animating image ${input.imageAssetId}` : ''),
      );
      if (input.upscale) run.note(`Upscale requested: ${UPSCALE_NOTE}; rendered at ${width}x${height}`, 'warn');

      const started = performance.now();
      const posterIndex = Math.floor(totalFrames / 2);
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
          lookahead: Math.max(2, deps.threads + 1),
          render: (index) => {
            const { scene, frame } = frames[index]!;
            const task: FrameTask = {
              prompt: scene.prompt,
              negativePrompt: input.negativePrompt,
              seed: input.seed,
              width,
              height,
              fps,
              motionScale: input.motionScale,
              frame,
              source,
            };
            return pool.run(task, { signal: run.signal }) as Promise<Uint8Array>;
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
      });
      run.note(`Encoded ${totalFrames} frames (${Math.round(video.length / 1024)} KiB H.264) in ${Math.round(performance.now() - started)} ms`);

      const videoAsset = await run.saveAsset({ kind: 'VIDEO', mime: 'video/mp4', extension: 'mp4', data: video, width, height, durationSeconds });
      const png = await sharp(poster, { raw: { width, height, channels: 3 } }).png().toBuffer();
      const posterAsset = await run.saveAsset({ kind: 'IMAGE', mime: 'image/png', extension: 'png', data: png, width, height });
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
          ...(input.upscale ? { upscale: UPSCALE_NOTE } : {}),
        },
      };
    },
    close: () => pool.destroy(),
  };
}
