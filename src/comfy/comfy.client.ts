import WebSocket from 'ws';
import { guardedDispatcher, guardedLookup } from '../net/outbound.guard.ts';
import { AppError, badInput } from '../services/errors.ts';
import type { ApiWorkflow } from './comfy.workflow.ts';

/** A file ComfyUI produced or holds: what /view and the history's outputs name. */
export interface ComfyFile {
  filename: string;
  subfolder: string;
  type: string;
}

/** `outputs` of a history entry or an `executed` event: per node, lists of files by media key. */
export type ComfyNodeOutput = Record<string, unknown> & { images?: ComfyFile[]; gifs?: ComfyFile[]; audio?: ComfyFile[]; video?: ComfyFile[] };

export interface ComfyHistoryEntry {
  prompt?: unknown;
  outputs: Record<string, ComfyNodeOutput>;
  status?: { status_str?: string; completed?: boolean; messages?: [string, Record<string, unknown>][] };
}

export interface ComfyDevice {
  name: string;
  type: string;
  index: number | null;
}

export interface ComfyQueue {
  running: string[];
  pending: string[];
}

/** Outputs and inputs can be large videos: their transfers get longer than the API calls' timeout. */
const TRANSFER_TIMEOUT_MS = 300_000;

/** The server did not answer (refused, reset, timed out): the job can move to another server. */
export class ComfyUnreachableError extends Error {}

interface NodeError {
  errors?: { type?: string; message?: string; details?: string }[];
  class_type?: string;
}

/** Turns /prompt's 400 `{error, node_errors}` into one BAD_USER_INPUT naming each failing node. */
export function promptRejection(body: unknown): AppError {
  const { error, node_errors: nodeErrors } = (body ?? {}) as { error?: { type?: string; message?: string; details?: string }; node_errors?: Record<string, NodeError> };
  const nodes = Object.entries(nodeErrors ?? {}).map(([id, node]) => {
    const reasons = (node.errors ?? []).map((e) => [e.message, e.details].filter(Boolean).join(': ')).join('; ');
    return { node: id, classType: node.class_type ?? null, message: `Node ${id}${node.class_type ? ` (${node.class_type})` : ''}: ${reasons || 'invalid'}` };
  });
  const head = error?.message ?? 'ComfyUI refused the workflow';
  const details = error?.details ? `: ${error.details}` : '';
  return badInput(nodes.length ? `${head}. ${nodes.map((n) => n.message).join('. ')}` : `${head}${details}`, {
    field: 'workflow',
    comfyError: error?.type ?? null,
    nodeErrors: nodes,
  });
}

/**
 * One ComfyUI server, spoken to over its own HTTP and WebSocket protocol. Redirects are never followed:
 * a server URL was checked against the allowlist, and a redirect could lead anywhere.
 */
export class ComfyClient {
  readonly origin: string;
  private readonly timeoutMs: number;

  constructor(origin: string, options: { timeoutMs?: number } = {}) {
    this.origin = origin;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private async request(path: string, init: RequestInit & { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Response> {
    const timeout = AbortSignal.timeout(init.timeoutMs ?? this.timeoutMs);
    try {
      const response = await fetch(`${this.origin}${path}`, {
        ...init,
        redirect: 'manual',
        // The address connected to is checked, not only the name when the server was listed.
        dispatcher: guardedDispatcher('internal'),
        signal: init.signal ? AbortSignal.any([init.signal, timeout]) : timeout,
      } as RequestInit);
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        throw new ComfyUnreachableError(`${this.origin}${path} answered with a redirect (${response.status}); redirects are not followed`);
      }
      return response;
    } catch (error) {
      if (error instanceof ComfyUnreachableError) throw error;
      if (init.signal?.aborted) throw init.signal.reason;
      throw new ComfyUnreachableError(`${this.origin} is unreachable: ${(error as Error).cause ?? (error as Error).message}`);
    }
  }

  private async json<T>(path: string, init?: RequestInit & { signal?: AbortSignal; timeoutMs?: number }): Promise<T> {
    const response = await this.request(path, init);
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      if (response.status >= 500) throw new ComfyUnreachableError(`${this.origin}${path} failed with ${response.status}: ${text.slice(0, 200)}`);
      throw new Error(`${this.origin}${path} failed with ${response.status}: ${text.slice(0, 200)}`);
    }
    return (await response.json()) as T;
  }

  async systemStats(signal?: AbortSignal): Promise<{ devices: ComfyDevice[] }> {
    const stats = await this.json<{ devices?: { name?: string; type?: string; index?: number | null }[] }>('/system_stats', { signal });
    return { devices: (stats.devices ?? []).map((d) => ({ name: String(d.name ?? ''), type: String(d.type ?? ''), index: d.index ?? null })) };
  }

  /** Prompt ids running and waiting; ComfyUI lists each as [number, prompt_id, prompt, extra, outputs]. */
  async queue(signal?: AbortSignal): Promise<ComfyQueue> {
    const queue = await this.json<{ queue_running?: unknown[][]; queue_pending?: unknown[][] }>('/queue', { signal });
    return { running: (queue.queue_running ?? []).map((e) => String(e[1])), pending: (queue.queue_pending ?? []).map((e) => String(e[1])) };
  }

  /** `front` puts the prompt at the head of the server's queue. */
  async queuePrompt(prompt: ApiWorkflow, clientId: string, promptId: string, front = false): Promise<{ promptId: string; number: number }> {
    const response = await this.request('/prompt', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, client_id: clientId, prompt_id: promptId, ...(front ? { front: true } : {}) }),
    });
    const body = (await response.json().catch(() => null)) as { prompt_id?: string; number?: number; node_errors?: object; error?: unknown } | null;
    if (response.status === 400) throw promptRejection(body);
    if (!response.ok || !body?.prompt_id) {
      if (response.status >= 500) throw new ComfyUnreachableError(`${this.origin}/prompt failed with ${response.status}`);
      throw new Error(`${this.origin}/prompt failed with ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
    }
    return { promptId: body.prompt_id, number: body.number ?? 0 };
  }

  async history(promptId: string): Promise<ComfyHistoryEntry | null> {
    const history = await this.json<Record<string, ComfyHistoryEntry>>(`/history/${encodeURIComponent(promptId)}`);
    return history[promptId] ?? null;
  }

  async view(file: ComfyFile, signal?: AbortSignal): Promise<{ data: Buffer; contentType: string | null }> {
    const query = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder ?? '', type: file.type ?? 'output' });
    const response = await this.request(`/view?${query}`, { signal, timeoutMs: TRANSFER_TIMEOUT_MS });
    if (!response.ok) throw new Error(`${this.origin}/view of ${file.filename} failed with ${response.status}`);
    return { data: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type') };
  }

  /** ComfyUI takes every input file (images, audio) on /upload/image. */
  async uploadFile(data: Buffer, filename: string, mime: string, signal?: AbortSignal): Promise<ComfyFile> {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(data)], { type: mime }), filename);
    form.append('type', 'input');
    form.append('overwrite', 'true');
    const uploaded = await this.json<{ name: string; subfolder?: string; type?: string }>('/upload/image', {
      method: 'POST',
      body: form,
      signal,
      timeoutMs: TRANSFER_TIMEOUT_MS,
    });
    return { filename: uploaded.name, subfolder: uploaded.subfolder ?? '', type: uploaded.type ?? 'input' };
  }

  /** Stops the running prompt, naming it so another user's prompt is never interrupted by mistake. */
  async interrupt(promptId: string): Promise<void> {
    await this.request('/interrupt', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt_id: promptId }) });
  }

  async deleteQueued(promptIds: string[]): Promise<void> {
    await this.request('/queue', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delete: promptIds }) });
  }

  openSocket(clientId: string): WebSocket {
    const url = `${this.origin.replace(/^http/, 'ws')}/ws?clientId=${encodeURIComponent(clientId)}`;
    return new WebSocket(url, { followRedirects: false, handshakeTimeout: this.timeoutMs, perMessageDeflate: false, lookup: guardedLookup('internal') });
  }
}

/**
 * A binary preview frame: 4-byte event type 1 (preview image), 4-byte format (1 = JPEG, 2 = PNG), the image;
 * or type 4 (newer servers), a 4-byte metadata length, JSON metadata with `image_type`, the image.
 */
export function parsePreviewFrame(frame: Buffer): { mime: string; data: Buffer } | null {
  if (frame.length < 8) return null;
  const type = frame.readUInt32BE(0);
  if (type === 1) return { mime: frame.readUInt32BE(4) === 2 ? 'image/png' : 'image/jpeg', data: frame.subarray(8) };
  if (type !== 4) return null;
  const length = frame.readUInt32BE(4);
  try {
    const meta = JSON.parse(frame.subarray(8, 8 + length).toString('utf8')) as { image_type?: string };
    return { mime: meta.image_type === 'image/png' ? 'image/png' : 'image/jpeg', data: frame.subarray(8 + length) };
  } catch {
    return null;
  }
}

export function outputFiles(outputs: Record<string, ComfyNodeOutput>): { node: string; file: ComfyFile }[] {
  const files: { node: string; file: ComfyFile }[] = [];
  for (const [node, output] of Object.entries(outputs)) {
    for (const key of ['images', 'gifs', 'video', 'audio'] as const) {
      for (const file of output[key] ?? []) {
        if (file && typeof file.filename === 'string') files.push({ node, file: { filename: file.filename, subfolder: file.subfolder ?? '', type: file.type ?? 'output' } });
      }
    }
  }
  return files;
}
