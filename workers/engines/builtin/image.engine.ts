import { MessageChannel } from 'node:worker_threads';
import sharp from 'sharp';
import type { ImageJobInput } from '../../../src/services/generation.inputs.ts';
import { GENERATION_JOB_NAMES } from '../../../src/queue/queue.names.ts';
import type { Engine, EngineRun } from '../../engine.types.ts';
import { createFramePool } from './frame.pipeline.ts';
import type { RenderTask } from './image.render.ts';

/** Renders images on the CPU in worker threads: the default engine, needing no GPU and no weights. */
export function createBuiltinImageEngine(options: { threads: number }): Engine {
  // One thread stays warm: images are the default engine's most common job.
  const pool = createFramePool('./image.render.ts', options.threads, { minThreads: 1 });

  async function renderOne(run: EngineRun, task: RenderTask, onStep: (step: number) => void): Promise<Buffer> {
    const { port1, port2 } = new MessageChannel();
    // Step messages travel on their own port and may trail the result; wait for the last one.
    const allSteps = new Promise<void>((resolve) =>
      port1.on('message', (step: number) => {
        onStep(step);
        if (step === task.steps) resolve();
      }),
    );
    try {
      const rgb: Uint8Array = await pool.run({ ...task, port: port2 }, { transferList: [port2], signal: run.signal });
      await allSteps;
      return await sharp(rgb, { raw: { width: task.width, height: task.height, channels: 3 } }).png().toBuffer();
    } finally {
      port1.close();
    }
  }

  return {
    name: 'builtin',
    jobNames: [GENERATION_JOB_NAMES.IMAGE],
    async run(run) {
      const input = run.job.input as unknown as ImageJobInput;
      const totalSteps = input.steps * input.numImages;
      const assets = [];
      for (let index = 0; index < input.numImages; index++) {
        const seed = input.seed + index;
        const png = await renderOne(
          run,
          { ...input, seed },
          (step) => run.progress((index * input.steps + step) / totalSteps, `Image ${index + 1}/${input.numImages}: step ${step}/${input.steps}`),
        );
        assets.push(
          await run.saveAsset({ kind: 'IMAGE', mime: 'image/png', extension: 'png', data: png, width: input.width, height: input.height }),
        );
      }
      return { assets, extra: { seeds: assets.map((_, i) => input.seed + i) } };
    },
    close: () => pool.destroy(),
  };
}
