import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import {
  type ComfyClient,
  type ComfyHistoryEntry,
  type ComfyNodeOutput,
  ComfyUnreachableError,
  parsePreviewFrame,
} from '../../../src/comfy/comfy.client.ts';
import type { ApiWorkflow } from '../../../src/comfy/comfy.workflow.ts';
import type { WorkflowProgress } from './comfyui.progress.ts';

/** The server went away mid-prompt: the prompt may run again elsewhere. */
export class ServerLostError extends Error {}

/** ComfyUI ran the prompt and a node failed (execution_error): running it elsewhere would fail the same way. */
export class PromptFailedError extends Error {}

export interface PromptHooks {
  signal: AbortSignal;
  progress: WorkflowProgress;
  onProgress(): void;
  onPreview(mime: string, data: Buffer): void;
  note(message: string, level?: 'info' | 'warn'): void;
}

export interface PromptOptions {
  /** Ask the server to run it before prompts already waiting there (Atelier priority 1). */
  front?: boolean;
  /** Delays between reconnection attempts after a lost socket. */
  reconnectDelaysMs?: number[];
  /** How often /history is read while waiting, in case a completion event was lost with a socket. */
  historyPollMs?: number;
}

interface ComfyMessage {
  type: string;
  data?: Record<string, unknown> & { prompt_id?: string; node?: string | null };
}

/**
 * Runs one prompt on one server and resolves with its outputs: opens the client's socket first so no
 * event is missed, queues the prompt under our own prompt id, follows the events, reconnects and
 * catches up from /history when the socket drops, and interrupts or unqueues it on abort.
 */
export function runPrompt(client: ComfyClient, workflow: ApiWorkflow, promptId: string, hooks: PromptHooks, options: PromptOptions = {}) {
  const clientId = randomUUID();
  const delays = options.reconnectDelaysMs ?? [100, 300, 900, 2000];
  const pollMs = options.historyPollMs ?? 2000;
  const outputs: Record<string, ComfyNodeOutput> = {};
  let socket: WebSocket | null = null;
  let settled = false;
  let reconnecting = false;
  let catchingUp = false;
  let queued = false;
  let poller: NodeJS.Timeout | undefined;

  return new Promise<Record<string, ComfyNodeOutput>>((resolve, reject) => {
    const settle = (error: unknown, result?: Record<string, ComfyNodeOutput>) => {
      if (settled) return;
      settled = true;
      clearInterval(poller);
      hooks.signal.removeEventListener('abort', onAbort);
      socket?.removeAllListeners();
      socket?.on('error', () => undefined);
      socket?.terminate();
      if (error) reject(error);
      else resolve(result!);
    };

    const succeed = async (entry?: ComfyHistoryEntry | null) => {
      if (settled) return;
      // History is the record: it holds every output, including any whose event went with a lost socket.
      const fromHistory = entry ?? (await client.history(promptId).catch(() => null));
      settle(null, { ...outputs, ...(fromHistory?.outputs ?? {}) });
    };

    const onText = (text: string) => {
      let message: ComfyMessage;
      try {
        message = JSON.parse(text) as ComfyMessage;
      } catch {
        return;
      }
      const data = message.data ?? {};
      if (data.prompt_id !== undefined && data.prompt_id !== promptId) return;
      switch (message.type) {
        case 'execution_start':
          hooks.note(`ComfyUI started prompt ${promptId} on ${client.origin}`);
          break;
        case 'execution_cached':
          hooks.progress.cached(((data.nodes as unknown[]) ?? []).map(String));
          hooks.onProgress();
          break;
        case 'executing':
          if (data.node == null) {
            if (data.prompt_id === promptId) void succeed();
            return;
          }
          hooks.progress.executing(String(data.node));
          hooks.onProgress();
          break;
        case 'progress':
          hooks.progress.step(data.node == null ? null : String(data.node), Number(data.value), Number(data.max));
          hooks.onProgress();
          break;
        case 'executed':
          if (data.node != null) {
            outputs[String(data.node)] = (data.output ?? {}) as ComfyNodeOutput;
            hooks.progress.executed(String(data.node));
            hooks.onProgress();
          }
          break;
        case 'execution_success':
          void succeed();
          break;
        case 'execution_error':
          settle(
            new PromptFailedError(
              `ComfyUI node ${data.node_id ?? '?'} (${data.node_type ?? 'unknown'}) failed: ${[data.exception_type, data.exception_message].filter(Boolean).join(': ')}`,
            ),
          );
          break;
        case 'execution_interrupted':
          settle(hooks.signal.aborted ? hooks.signal.reason : new PromptFailedError(`ComfyUI interrupted prompt ${promptId} (stopped on the server)`));
          break;
      }
    };

    const attach = (ws: WebSocket) => {
      socket = ws;
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return onText(data.toString('utf8'));
        const preview = parsePreviewFrame(data);
        if (preview) hooks.onPreview(preview.mime, preview.data);
      });
      ws.on('error', () => undefined);
      ws.on('close', () => {
        if (!settled && socket === ws) void reconnect();
      });
    };

    const connect = () =>
      new Promise<WebSocket>((ok, fail) => {
        const ws = client.openSocket(clientId);
        ws.once('open', () => {
          ws.removeAllListeners('error');
          ok(ws);
        });
        ws.once('error', (error) => fail(new ComfyUnreachableError(`${client.origin}/ws: ${error.message}`)));
      });

    /**
     * Reads where the prompt is: still queued or running goes on; in the history it settles; in neither, the
     * server has lost it (restarted). The queue is read first: a prompt leaves it only once its history is written.
     */
    const catchUp = async () => {
      if (settled || catchingUp || !queued) return;
      catchingUp = true;
      try {
        const queue = await client.queue();
        if (queue.running.includes(promptId) || queue.pending.includes(promptId)) return;
        const entry = await client.history(promptId);
        if (settled) return;
        if (!entry) return settle(new ServerLostError(`ComfyUI server ${client.origin} no longer knows prompt ${promptId} (restarted?)`));
        if (entry.status?.status_str === 'error') {
          const failure = entry.status.messages?.find(([type]) => type === 'execution_error')?.[1] ?? {};
          settle(new PromptFailedError(`ComfyUI node ${failure.node_id ?? '?'} (${failure.node_type ?? 'unknown'}) failed: ${failure.exception_message ?? 'execution error'}`));
        } else if (entry.status?.completed) {
          for (const node of Object.keys(entry.outputs ?? {})) hooks.progress.executed(node);
          await succeed(entry);
        }
      } catch (error) {
        if (error instanceof ComfyUnreachableError && !reconnecting) socket?.terminate();
      } finally {
        catchingUp = false;
      }
    };

    const reconnect = async () => {
      if (reconnecting || settled) return;
      reconnecting = true;
      hooks.note(`Lost the websocket to ${client.origin}; reconnecting`, 'warn');
      for (const [attempt, delay] of delays.entries()) {
        await sleep(delay);
        if (settled) return;
        try {
          attach(await connect());
          reconnecting = false;
          hooks.note(`Reconnected to ${client.origin}; catching up from /history`);
          await catchUp();
          return;
        } catch {
          // A server that no longer answers HTTP either has lost the prompt with its in-memory queue.
          if (attempt >= 1 && !(await client.systemStats().then(() => true, () => false))) break;
        }
      }
      reconnecting = false;
      settle(new ServerLostError(`Lost ComfyUI server ${client.origin} during prompt ${promptId}`));
    };

    const onAbort = () => {
      const reason = hooks.signal.reason;
      void cancelPrompt(client, promptId).finally(() => settle(reason));
    };

    void (async () => {
      try {
        attach(await connect());
        if (hooks.signal.aborted) return settle(hooks.signal.reason);
        hooks.signal.addEventListener('abort', onAbort, { once: true });
        await client.queuePrompt(workflow, clientId, promptId, options.front);
        queued = true;
        // Aborted while the prompt was being queued: the cancel above may have looked too early.
        if (hooks.signal.aborted) return void (await cancelPrompt(client, promptId));
        hooks.note(`Queued prompt ${promptId} on ${client.origin}`);
        poller = setInterval(() => void catchUp(), pollMs);
      } catch (error) {
        settle(error instanceof ComfyUnreachableError ? new ServerLostError(error.message) : error);
      }
    })();
  });
}

/** Interrupts the prompt if it is the one running there, or removes it from the server's queue. */
export async function cancelPrompt(client: ComfyClient, promptId: string): Promise<void> {
  try {
    const queue = await client.queue();
    if (queue.running.includes(promptId)) await client.interrupt(promptId);
    else if (queue.pending.includes(promptId)) await client.deleteQueued([promptId]);
  } catch {
    // The server is gone or busy; the prompt dies with it or runs to an unread end.
  }
}
