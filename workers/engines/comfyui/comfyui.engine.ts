import { randomUUID } from 'node:crypto';
import path from 'node:path';
import sharp from 'sharp';
import { ComfyClient, type ComfyFile, type ComfyNodeOutput, ComfyUnreachableError, outputFiles } from '../../../src/comfy/comfy.client.ts';
import { checkRequestedServer } from '../../../src/comfy/comfy.server-url.ts';
import { type ApiWorkflow, setInput } from '../../../src/comfy/comfy.workflow.ts';
import type { AssetKind } from '../../../src/db/entities/asset.entity.ts';
import { GENERATION_JOB_NAMES } from '../../../src/queue/queue.names.ts';
import type { WorkflowJobInput } from '../../../src/services/comfy.service.ts';
import { AppError } from '../../../src/services/errors.ts';
import type { Engine, EngineDeps, EngineRun } from '../../engine.types.ts';
import { WorkflowProgress } from './comfyui.progress.ts';
import { runPrompt, ServerLostError } from './comfyui.prompt.ts';

const MEDIA: Record<string, { kind: AssetKind; mime: string }> = {
  png: { kind: 'IMAGE', mime: 'image/png' },
  jpg: { kind: 'IMAGE', mime: 'image/jpeg' },
  jpeg: { kind: 'IMAGE', mime: 'image/jpeg' },
  webp: { kind: 'IMAGE', mime: 'image/webp' },
  gif: { kind: 'IMAGE', mime: 'image/gif' },
  mp4: { kind: 'VIDEO', mime: 'video/mp4' },
  webm: { kind: 'VIDEO', mime: 'video/webm' },
  mov: { kind: 'VIDEO', mime: 'video/quicktime' },
  wav: { kind: 'AUDIO', mime: 'audio/wav' },
  mp3: { kind: 'AUDIO', mime: 'audio/mpeg' },
  flac: { kind: 'AUDIO', mime: 'audio/flac' },
  ogg: { kind: 'AUDIO', mime: 'audio/ogg' },
  m4a: { kind: 'AUDIO', mime: 'audio/mp4' },
};

const PREVIEW_EVERY_MS = 200;

/**
 * Runs WORKFLOW jobs on a pool of ComfyUI servers. With no server configured it still starts; its jobs
 * then fail at once with SERVICE_UNAVAILABLE saying how to add one (they are not held waiting).
 */
export function createComfyEngine(deps: EngineDeps): Engine {
  const comfy = deps.core.comfy;
  // The shipped examples go into the library when a worker starts (the API also adds them on first use).
  void comfy.ensureSeeded(deps.core.orm.em.fork()).catch(() => undefined);

  async function chooseServer(run: EngineRun, input: WorkflowJobInput, promptId: string, lost: Set<string>): Promise<{ origin: string; release: () => void }> {
    if (input.serverUrl) {
      // Checked at submission; checked again here in case the allowlist changed since.
      const origin = checkRequestedServer(input.serverUrl, comfy.allowedServers);
      return { origin, release: comfy.pool.hold(origin, promptId) };
    }
    const choice = await comfy.pool.choose(run.em, { promptId, gpuPreference: input.gpuPreference, exclude: lost });
    if (choice.origin !== null) return choice;
    if (choice.known === 0) {
      throw new AppError('SERVICE_UNAVAILABLE', 'No ComfyUI server is configured: set COMFYUI_SERVER_URLS or add one with addComfyServer');
    }
    const reasons = [...[...lost].map((o) => `${o}: lost during this job`), ...choice.probes.map((p) => `${p.origin}: ${p.error ?? 'unhealthy'}`)];
    throw new AppError('SERVICE_UNAVAILABLE', `No healthy ComfyUI server (${reasons.join('; ')})`);
  }

  async function uploadInputs(run: EngineRun, client: ComfyClient, input: WorkflowJobInput): Promise<ApiWorkflow> {
    const workflow = structuredClone(input.workflow);
    for (const upload of input.uploads) {
      const { asset, data } = await run.readAsset(upload.assetId);
      const extension = asset.mime.split('/')[1]?.replace('jpeg', 'jpg').replace('mpeg', 'mp3') ?? 'bin';
      const stored = await client.uploadFile(data, `atelier-${asset.id}.${extension}`, asset.mime, run.signal);
      const name = stored.subfolder ? `${stored.subfolder}/${stored.filename}` : stored.filename;
      for (const target of upload.targets) setInput(workflow, target, name);
    }
    return workflow;
  }

  async function recordDispatch(run: EngineRun, promptId: string, server: string) {
    // The processor stores it on the job: the REST face finds a job by ComfyUI's prompt id.
    await run.annotate?.({ promptId, server });
  }

  async function saveOutputs(run: EngineRun, client: ComfyClient, outputs: Record<string, ComfyNodeOutput>) {
    const all = outputFiles(outputs);
    // Preview nodes write "temp" files; keep them only when the workflow saved nothing else.
    const saved = all.some((o) => o.file.type === 'output') ? all.filter((o) => o.file.type === 'output') : all;
    const assets = [];
    const files: (ComfyFile & { node: string; assetId: string })[] = [];
    for (const { node, file } of saved) {
      const media = MEDIA[path.extname(file.filename).slice(1).toLowerCase()];
      if (!media) {
        run.note(`Skipped output ${file.filename} of node ${node}: not an image, video or audio file`, 'warn');
        continue;
      }
      const { data } = await client.view(file, run.signal);
      const size = media.kind === 'IMAGE' ? await sharp(data).metadata().catch(() => null) : null;
      const asset = await run.saveAsset({
        kind: media.kind,
        mime: media.mime,
        extension: path.extname(file.filename).slice(1).toLowerCase(),
        data,
        width: size?.width,
        height: size?.height,
        filename: file.filename,
      });
      assets.push(asset);
      files.push({ ...file, node, assetId: asset.id });
    }
    return { assets, files };
  }

  return {
    name: 'comfyui',
    jobNames: [GENERATION_JOB_NAMES.WORKFLOW, GENERATION_JOB_NAMES.IMAGE, GENERATION_JOB_NAMES.VIDEO, GENERATION_JOB_NAMES.TALKING_HEAD],
    async run(run) {
      const input = await comfy.workflowFor(run.em, run.job);
      const progress = new WorkflowProgress(Object.keys(input.workflow));
      let reported = -1;
      let previewAt = 0;
      const lost = new Set<string>();
      const attempts = input.serverUrl ? 1 : comfy.maxAttempts;

      for (let dispatch = 1; ; dispatch++) {
        // A retry or a move to another server is a new prompt; the first keeps the id the caller was given.
        const promptId = dispatch === 1 && run.job.attempt === 0 ? input.promptId : randomUUID();
        const { origin, release } = await chooseServer(run, input, promptId, lost);
        const client = new ComfyClient(origin);
        progress.restart();
        try {
          const workflow = await uploadInputs(run, client, input);
          await recordDispatch(run, promptId, origin);
          const outputs = await runPrompt(client, workflow, promptId, {
            signal: run.signal,
            progress,
            onProgress: () => {
              const fraction = progress.fraction();
              const percent = Math.floor(fraction * 100);
              if (percent <= reported) return;
              reported = percent;
              run.progress(fraction, `ComfyUI: ${progress.finishedCount}/${progress.nodeCount} nodes on ${origin}`);
            },
            onPreview: (mime, data) => {
              const now = Date.now();
              if (now - previewAt < PREVIEW_EVERY_MS) return;
              previewAt = now;
              void comfy.savePreview(run.job.id, mime, data).catch(() => undefined);
            },
            note: (message, level) => run.note(message, level),
          }, { front: run.job.priority === 1 }).finally(release);
          const { assets, files } = await saveOutputs(run, client, outputs);
          return { assets, extra: { promptId, server: origin, outputs: files, dispatches: dispatch } };
        } catch (error) {
          release();
          // Unreachable before the prompt was queued (during an upload) counts as lost too.
          if (!(error instanceof ServerLostError || error instanceof ComfyUnreachableError) || run.signal.aborted) throw error;
          lost.add(origin);
          if (dispatch >= attempts) throw new Error(`${error.message}; gave up after ${dispatch} server(s)`);
          run.note(`${error.message}; sending the prompt to another server (${dispatch + 1}/${attempts})`, 'warn');
        }
      }
    },
  };
}
