import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { Request, WireTensor } from './inference.thread.ts';

/** A session that lives in an inference thread; the same `run` / `inputMetadata` as an InferenceSession. */
export interface RemoteSession {
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType>;
  release(): Promise<void>;
}

type Pending = { resolve(value: unknown): void; reject(error: Error): void };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * One thread that holds a device's sessions and runs them, so inference never holds the worker's event loop
 * (heartbeats, progress and cancellation keep flowing). Feeds are copied in, outputs transferred back.
 */
export class InferenceHost {
  private readonly thread: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the thread has stopped: its sessions are gone, and calls fail rather than wait for ever. */
  private stopped: Error | null = null;

  constructor() {
    this.thread = new Worker(new URL('./inference.thread.ts', import.meta.url));
    this.thread.unref();
    this.thread.on('message', (message: { id: number; ok: boolean; result?: unknown; message?: string }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(message.message));
    });
    this.thread.on('error', (error) => this.stop(error));
    this.thread.on('exit', (code) => this.stop(new Error(`inference thread exited (code ${code})`)));
  }

  get alive() {
    return this.stopped === null;
  }

  private stop(reason: Error) {
    this.stopped ??= reason;
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }

  private call<T>(request: WithoutId<Request>): Promise<T> {
    // postMessage to a stopped thread is silently dropped: the answer would never come.
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.thread.postMessage({ ...request, id });
    });
  }

  async load(file: string, options: ort.InferenceSession.SessionOptions): Promise<RemoteSession> {
    const { session, inputMetadata, outputNames } = await this.call<{ session: number; inputMetadata: ort.InferenceSession.ValueMetadata[]; outputNames: string[] }>({
      op: 'load',
      file,
      options,
    });
    return {
      inputMetadata,
      outputNames,
      run: async (feeds) => {
        const wire: Record<string, WireTensor> = {};
        for (const [name, t] of Object.entries(feeds)) wire[name] = { type: t.type, data: t.data, dims: t.dims };
        const { outputs } = await this.call<{ outputs: Record<string, WireTensor> }>({ op: 'run', session, feeds: wire });
        return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, new ort.Tensor(t.type, t.data as never, t.dims)]));
      },
      release: () => this.call<void>({ op: 'release', session }),
    };
  }

  async close() {
    await this.thread.terminate();
  }
}
