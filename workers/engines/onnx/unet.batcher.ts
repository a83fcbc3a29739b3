import * as ort from 'onnxruntime-node';
import type { Runner } from './sd.pipeline.ts';

interface Pending {
  feeds: Record<string, ort.Tensor>;
  resolve(out: ort.InferenceSession.ReturnType): void;
  reject(error: unknown): void;
}

interface Group {
  calls: Pending[];
  timer?: NodeJS.Timeout;
}

/**
 * Dynamic batching of UNet calls: jobs on the same pack and size that are at the same timestep share one
 * UNet run along the batch dimension, each getting its own slice back, so their progress and results stay
 * their own. A call waits at most `windowMs` for the other jobs in flight; a lone job never waits.
 */
export class UnetBatcher {
  private readonly session: Runner;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  private readonly bucket: boolean;
  private readonly groups = new Map<string, Group>();
  /** Jobs currently running per shape: a group runs as soon as all of them have called. */
  private readonly active = new Map<string, number>();
  runs = 0;

  /** Batch sizes the UNet actually ran, in order (what bucketing pads to). */
  readonly batchSizes: number[] = [];

  /**
   * `bucket`: pad each run's batch to the next power of two (by repeating its last row, whose result is dropped),
   * so a GPU sees a handful of shapes: the CUDA provider searches cuDNN algorithms afresh for every new shape.
   */
  constructor(session: Runner, options: { windowMs: number; maxBatch: number; bucket?: boolean }) {
    this.session = session;
    this.windowMs = options.windowMs;
    this.maxBatch = options.maxBatch;
    this.bucket = options.bucket ?? false;
  }

  /** The Runner one job uses; `done` must be called when the job stops calling the UNet. */
  forJob(width: number, height: number): { unet: Runner; done(): void } {
    const shape = `${width}x${height}`;
    this.active.set(shape, (this.active.get(shape) ?? 0) + 1);
    let finished = false;
    return {
      unet: { inputMetadata: this.session.inputMetadata, run: ((feeds: Record<string, ort.Tensor>) => this.enqueue(shape, feeds)) as Runner['run'] },
      done: () => {
        if (finished) return;
        finished = true;
        this.active.set(shape, this.active.get(shape)! - 1);
        // A group may have been waiting for this job's call; it will not come.
        for (const [key, group] of this.groups) if (key.startsWith(`${shape}|`)) this.maybeFlush(key, group, shape);
      },
    };
  }

  private enqueue(shape: string, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
    const timestep = Array.from(feeds.timestep!.data as ArrayLike<number | bigint>, String).join(',');
    const inputs = Object.keys(feeds).filter((name) => name !== 'timestep').sort();
    const key = `${shape}|${timestep}|${inputs.map((name) => `${name}:${feeds[name]!.dims.slice(1).join('x')}`).join('|')}`;
    return new Promise((resolve, reject) => {
      let group = this.groups.get(key);
      if (!group) {
        group = { calls: [] };
        this.groups.set(key, group);
        const created = group;
        group.timer = setTimeout(() => this.flush(key, created), this.windowMs);
      }
      group.calls.push({ feeds, resolve, reject });
      this.maybeFlush(key, group, shape);
    });
  }

  private maybeFlush(key: string, group: Group, shape: string) {
    const callers = group.calls.length;
    if (callers >= this.maxBatch || callers >= (this.active.get(shape) ?? 0)) this.flush(key, group);
  }

  private flush(key: string, group: Group) {
    if (this.groups.get(key) !== group) return;
    this.groups.delete(key);
    clearTimeout(group.timer);
    void this.runGroup(group.calls);
  }

  private async runGroup(calls: Pending[]) {
    this.runs++;
    try {
      const rows = calls.reduce((sum, c) => sum + c.feeds.sample!.dims[0]!, 0);
      const padded = this.bucket ? 2 ** Math.ceil(Math.log2(rows)) : rows;
      this.batchSizes.push(padded);
      if (calls.length === 1 && padded === rows) return calls[0]!.resolve(await this.session.run(calls[0]!.feeds));
      const concat = (name: string) => {
        const parts = calls.map((c) => c.feeds[name]!);
        const rowLength = parts[0]!.data.length / parts[0]!.dims[0]!;
        const data = new Float32Array(padded * rowLength);
        let offset = 0;
        for (const p of parts) {
          data.set(p.data as Float32Array, offset);
          offset += p.data.length;
        }
        // Padding rows repeat the last real row: ordinary values, where zeros could be a degenerate input.
        const last = data.subarray(offset - rowLength, offset);
        for (; offset < data.length; offset += rowLength) data.set(last, offset);
        return new ort.Tensor('float32', data, [padded, ...parts[0]!.dims.slice(1)]);
      };
      // Every input but the shared timestep is stacked along the batch axis (SDXL's text_embeds and time_ids too).
      const feeds: Record<string, ort.Tensor> = { timestep: calls[0]!.feeds.timestep! };
      for (const name of Object.keys(calls[0]!.feeds)) if (name !== 'timestep') feeds[name] = concat(name);
      const out = await this.session.run(feeds);
      const result = (out.out_sample ?? Object.values(out)[0])!;
      const data = result.data as Float32Array;
      const perItem = data.length / result.dims[0]!;
      let item = 0;
      for (const call of calls) {
        const batch = call.feeds.sample!.dims[0]!;
        const slice = data.slice(item * perItem, (item + batch) * perItem);
        item += batch;
        call.resolve({ out_sample: new ort.Tensor('float32', slice, [batch, ...result.dims.slice(1)]) });
      }
    } catch (error) {
      for (const call of calls) call.reject(error);
    }
  }
}
