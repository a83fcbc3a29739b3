/**
 * Runs inside a worker thread (see inference.host.ts): onnxruntime-node's session.run holds the calling
 * thread for the whole inference, so sessions live here, off the worker's event loop.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { adaptFeeds, adaptOutputs } from './session.adapter.ts';

export interface WireTensor {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

export type Request =
  | { op: 'load'; id: number; file: string; options: ort.InferenceSession.SessionOptions }
  | { op: 'run'; id: number; session: number; feeds: Record<string, WireTensor> }
  | { op: 'release'; id: number; session: number };

const sessions = new Map<number, ort.InferenceSession>();
let nextSession = 1;

async function handle(request: Request) {
  if (request.op === 'load') {
    const session = await ort.InferenceSession.create(request.file, request.options);
    const handle = nextSession++;
    sessions.set(handle, session);
    return { session: handle, inputMetadata: session.inputMetadata, outputNames: session.outputNames };
  }
  const session = sessions.get(request.session);
  if (!session) throw new Error(`No session ${request.session} in this inference thread`);
  if (request.op === 'release') {
    sessions.delete(request.session);
    await session.release();
    return {};
  }
  const feeds = Object.fromEntries(Object.entries(request.feeds).map(([name, t]) => [name, new ort.Tensor(t.type, t.data as never, t.dims)]));
  // Converted here, next to the session: an fp16 tensor's raw bits would not survive the trip between threads.
  const out = adaptOutputs(await session.run(adaptFeeds(session.inputMetadata, feeds)));
  return { outputs: Object.fromEntries(Object.entries(out).map(([name, t]) => [name, { type: t.type, data: t.data, dims: t.dims }])) };
}

parentPort!.on('message', (request: Request) => {
  handle(request).then(
    (result) => {
      const transfer = 'outputs' in result ? Object.values(result.outputs as Record<string, WireTensor>).map((t) => (t.data as ArrayBufferView).buffer as ArrayBuffer) : [];
      parentPort!.postMessage({ id: request.id, ok: true, result }, transfer);
    },
    (error: unknown) => parentPort!.postMessage({ id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
});
