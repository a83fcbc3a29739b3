import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import { User } from '../../src/db/entities/user.entity.ts';
import { FakeComfyUI } from '../fakes/comfyui.fake.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { collect, gql, wsClient } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const EXECUTE = `mutation Exec($workflow: JSON!, $serverUrl: String, $timeout: Int) {
  executeComfyWorkflow(workflow: $workflow, serverUrl: $serverUrl, timeout: $timeout, priority: 3) { id status kind engine input }
}`;
const EXECUTE_SAVED = `mutation ExecSaved($name: String!, $params: ComfyWorkflowParams, $serverUrl: String) {
  executeSavedWorkflow(name: $name, params: $params, serverUrl: $serverUrl) { id status input }
}`;
const DETAILS = `query Details($id: ID!) {
  job(id: $id) { id status progress preview result error { code message } logs { message } assets { id kind mime width height url } }
}`;
const PROGRESS = `subscription P($id: ID!) { jobProgress(id: $id) { status progress error { code message } } }`;
const CANCEL = `mutation C($id: ID!) { cancelJob(id: $id) { id status } }`;

/** SDXL txt2img in API format: 7 nodes, the sampler reports steps. */
export const sdxl = (checkpoint = 'sd_xl_base_1.0.safetensors') => ({
  '3': {
    class_type: 'KSampler',
    inputs: { seed: 1, steps: 20, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] },
  },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: checkpoint } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse', clip: ['4', 1] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
  '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'atelier', images: ['8', 0] } },
});

interface Details {
  id: string;
  status: string;
  progress: number;
  preview: string | null;
  result: { promptId: string; server: string; dispatches: number; urls: string[] } | null;
  error: { code: string; message: string } | null;
  logs: { message: string }[];
  assets: { id: string; kind: string; mime: string; width: number | null; height: number | null; url: string }[];
}

describe('ComfyUI workflows end to end', () => {
  // Slow enough to watch (previews, cancel); the sampler's three steps share each node's time.
  const comfy = new FakeComfyUI({ nodeDelayMs: 120 });
  let env: Record<string, string>;
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;

  const execute = async (workflow: unknown, serverUrl: string | null = comfy.url) => {
    const response = await gql<{ executeComfyWorkflow: { id: string; status: string; kind: string; engine: string; input: { promptId: string } } }, unknown>(
      system.url,
      EXECUTE,
      { workflow, serverUrl },
      user.token,
    );
    return response;
  };
  const details = async (id: string) => (await gql<{ job: Details }, unknown>(system.url, DETAILS, { id }, user.token)).data!.job;

  beforeAll(async () => {
    await comfy.start();
    env = testEnv({ COMFYUI_ALLOWED_SERVERS: comfy.url, WORKER_ENGINES: 'comfyui', WORKER_CONCURRENCY: '2' });
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    await comfy.stop();
  });

  it('runs a workflow: live progress only moves forward and ends at 100, outputs become Assets, the prompt id is kept', async () => {
    const submitted = await execute(sdxl());
    expect(submitted.errors).toBeUndefined();
    const job = submitted.data!.executeComfyWorkflow;
    expect(job).toMatchObject({ status: 'QUEUED', kind: 'WORKFLOW', engine: 'comfyui' });

    const client = wsClient(system.wsUrl, user.token);
    const previews: (string | null)[] = [];
    const watching = collect<{ jobProgress: { status: string; progress: number } }>(client, PROGRESS, { id: job.id }, (event) => {
      // From the sampler's first step on (4⅓ of 7 nodes), a preview frame has arrived.
      if (event.jobProgress.status === 'PROCESSING' && event.jobProgress.progress >= 61 && previews.length === 0) {
        previews.push(null);
        void details(job.id).then((d) => previews.push(d.status === 'PROCESSING' ? d.preview : 'finished before the check'));
      }
    });
    const events = await watching.done;
    await client.dispose();

    const progress = events.filter((e) => e.jobProgress.status === 'PROCESSING').map((e) => e.jobProgress.progress);
    expect(progress.length).toBeGreaterThan(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(events.at(-1)!.jobProgress).toMatchObject({ status: 'COMPLETED', progress: 100 });

    const done = await details(job.id);
    expect(done.result!.promptId).toBe(job.input.promptId);
    expect(comfy.prompts.find((p) => p.promptId === job.input.promptId)).toMatchObject({ front: false });
    expect(done.assets).toEqual([expect.objectContaining({ kind: 'IMAGE', mime: 'image/png', width: 64, height: 48 })]);
    const file = await fetch(done.assets[0]!.url, { headers: { authorization: `Bearer ${user.token}` } });
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
    await expect.poll(() => previews[1]).toMatch(/^data:image\/jpeg;base64,/);

    const status = await gql<{ comfyStatus: { promptId: string; server: string; status: string; job: { id: string } } }, unknown>(
      system.url,
      `query S($p: String!) { comfyStatus(promptId: $p) { promptId server status job { id } } }`,
      { p: job.input.promptId },
      user.token,
    );
    expect(status.data!.comfyStatus).toEqual({ promptId: job.input.promptId, server: comfy.url, status: 'COMPLETED', job: { id: job.id } });
    const history = await gql<{ comfyHistory: { edges: { node: { id: string; kind: string } }[] } }, unknown>(
      system.url,
      `{ comfyHistory(first: 10) { edges { node { id kind } } } }`,
      {},
      user.token,
    );
    expect(history.data!.comfyHistory.edges.map((e) => e.node)).toContainEqual({ id: job.id, kind: 'WORKFLOW' });
  });

  it('counts nodes ComfyUI reports cached as done at once', async () => {
    comfy.switches.cache = true;
    try {
      const first = (await execute(sdxl())).data!.executeComfyWorkflow;
      expect((await waitForJob(system.url, user.token, first.id)).status).toBe('COMPLETED');
      // Only the sampler's seed changes: the loader, the two prompts and the latent come from the cache.
      const reseeded = sdxl();
      reseeded['3'].inputs.seed = 2;
      const second = (await execute(reseeded)).data!.executeComfyWorkflow;
      const client = wsClient(system.wsUrl, user.token);
      const events = await collect<{ jobProgress: { status: string; progress: number } }>(client, PROGRESS, { id: second.id }).done;
      await client.dispose();
      const sent = comfy.sent.get(comfy.prompts.find((p) => p.promptId === second.input.promptId)!.clientId!)!;
      expect([...(sent.find((e) => e.type === 'execution_cached')!.data.nodes as string[])].sort()).toEqual(['4', '5', '6', '7']);
      const progress = events.filter((e) => e.jobProgress.status === 'PROCESSING' && e.jobProgress.progress > 0).map((e) => e.jobProgress.progress);
      expect(progress[0]).toBeGreaterThanOrEqual(57);
      expect(events.at(-1)!.jobProgress).toMatchObject({ status: 'COMPLETED', progress: 100 });
      expect((await details(second.id)).assets).toHaveLength(1);
    } finally {
      comfy.switches.cache = false;
    }
  });

  it('maps the simplified {nodes: [...]} list to API format by position', async () => {
    const response = await execute({
      nodes: [
        { type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'model.safetensors' } },
        { type: 'SaveImage', inputs: { filename_prefix: 'simple', images: ['1', 0] } },
      ],
    });
    const job = response.data!.executeComfyWorkflow;
    expect((await waitForJob(system.url, user.token, job.id)).status).toBe('COMPLETED');
    const sent = comfy.prompts.find((p) => p.promptId === job.input.promptId)!.prompt;
    expect(sent).toEqual({
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'model.safetensors' } },
      '2': { class_type: 'SaveImage', inputs: { filename_prefix: 'simple', images: ['1', 0] } },
    });
  });

  it("turns ComfyUI's node_errors into BAD_USER_INPUT with the node's message, and execution_error into a failure", async () => {
    const job = (await execute(sdxl('missing.safetensors'))).data!.executeComfyWorkflow;
    const failed = await waitForJob(system.url, user.token, job.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error!.code).toBe('BAD_USER_INPUT');
    expect(failed.error!.message).toContain("Node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'missing.safetensors' not in");

    const broken = { ...sdxl(), '8': { class_type: 'FailNode', inputs: { message: 'CUDA out of memory', samples: ['3', 0] } }, '9': { class_type: 'SaveImage', inputs: { images: ['8', 0] } } };
    const crashed = (await execute(broken)).data!.executeComfyWorkflow;
    const result = await waitForJob(system.url, user.token, crashed.id);
    expect(result.status).toBe('FAILED');
    expect(result.error!.message).toBe('ComfyUI node 8 (FailNode) failed: RuntimeError: CUDA out of memory');

    const invalid = await execute({ '1': { inputs: {} } });
    expect(invalid.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('cancel interrupts the running prompt and unqueues the waiting one, each by its own prompt id', async () => {
    const jobs = [(await execute(sdxl())).data!.executeComfyWorkflow, (await execute(sdxl())).data!.executeComfyWorkflow];
    const ids = jobs.map((j) => j.input.promptId);
    // Both jobs run in Atelier; on the server the prompt queued first runs and the other waits behind it.
    await expect.poll(() => comfy.prompts.filter((p) => ids.includes(p.promptId)).length, { timeout: 20_000 }).toBe(2);
    const order = comfy.prompts.filter((p) => ids.includes(p.promptId)).map((p) => p.promptId);
    const running = jobs.find((j) => j.input.promptId === order[0])!;
    const waiting = jobs.find((j) => j.input.promptId === order[1])!;
    await waitForJob(system.url, user.token, running.id, (j) => j.status === 'PROCESSING' && j.progress > 0);

    const cancelWaiting = await gql<{ cancelJob: { status: string } }, unknown>(system.url, CANCEL, { id: waiting.id }, user.token);
    expect(cancelWaiting.data!.cancelJob.status).toBe('CANCELLED');
    await expect.poll(() => comfy.deletes, { timeout: 20_000 }).toContainEqual([waiting.input.promptId]);

    const cancelRunning = await gql<{ cancelJob: { status: string } }, unknown>(system.url, CANCEL, { id: running.id }, user.token);
    expect(cancelRunning.data!.cancelJob.status).toBe('CANCELLED');
    await expect.poll(() => comfy.interrupts.filter((i) => ids.includes(i.promptId!)), { timeout: 20_000 }).toEqual([
      { promptId: running.input.promptId, running: running.input.promptId },
    ]);
    await expect.poll(() => comfy.history.get(running.input.promptId)?.status, { timeout: 20_000 }).toMatchObject({ status_str: 'error' });
    expect(comfy.history.has(waiting.input.promptId)).toBe(false);
    const stopped = await details(running.id);
    expect(stopped.status).toBe('CANCELLED');
    expect(stopped.logs.map((l) => l.message)).toContain('Stopped: cancelled');
  });

  it('a dropped websocket reconnects and catches up from /history', async () => {
    comfy.switches.dropSocketAfterEvents = 4;
    try {
      const job = (await execute(sdxl())).data!.executeComfyWorkflow;
      const done = await waitForJob(system.url, user.token, job.id);
      expect(done.status).toBe('COMPLETED');
      expect(done.progress).toBe(100);
      const finished = await details(job.id);
      expect(finished.assets).toHaveLength(1);
      expect(finished.logs.map((l) => l.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^Lost the websocket/), expect.stringMatching(/^Reconnected to .* catching up from \/history$/)]),
      );
    } finally {
      comfy.switches.dropSocketAfterEvents = null;
    }
  });

  it('saves workflows with bindings, validates names, fills a template, and lists the shipped examples', async () => {
    const SAVE = `mutation Save($name: String!, $workflow: JSON!, $bindings: JSON) { saveWorkflow(name: $name, workflow: $workflow, bindings: $bindings) { name shipped bindings } }`;
    for (const name of ['../etc/passwd', 'a/b', 'a\\b', 'bad\u0007name', '..']) {
      const refused = await gql(system.url, SAVE, { name, workflow: sdxl() }, user.token);
      expect(refused.errors?.[0]?.extensions?.code, name).toBe('BAD_USER_INPUT');
    }
    const badBinding = await gql(system.url, SAVE, { name: 'x', workflow: sdxl(), bindings: { prompt: '42.text' } }, user.token);
    expect(badBinding.errors?.[0]?.message).toContain('node 42 is not in the workflow');

    const name = `portrait-${user.id.slice(0, 8)}`;
    const saved = await gql<{ saveWorkflow: { name: string; shipped: boolean; bindings: unknown } }, unknown>(
      system.url,
      SAVE,
      { name, workflow: sdxl(), bindings: { prompt: '6.text', negativePrompt: '7.text', seed: '3.seed', width: ['5.width'] } },
      user.token,
    );
    expect(saved.data!.saveWorkflow).toEqual({ name, shipped: false, bindings: { prompt: ['6.text'], negativePrompt: ['7.text'], seed: ['3.seed'], width: ['5.width'] } });

    const list = await gql<{ workflows: { name: string; shipped: boolean }[] }, unknown>(system.url, `{ workflows { name shipped } }`, {}, user.token);
    expect(list.data!.workflows).toEqual(
      expect.arrayContaining([
        { name: 'sdxl_txt2img', shipped: true },
        { name: 'image_to_video', shipped: true },
        { name: 'hallo2_talking_head', shipped: true },
        { name, shipped: false },
      ]),
    );

    const run = await gql<{ executeSavedWorkflow: { id: string; input: { promptId: string } } }, unknown>(
      system.url,
      EXECUTE_SAVED,
      { name, params: { prompt: 'a red fox in snow', seed: 7, width: 768 }, serverUrl: comfy.url },
      user.token,
    );
    expect(run.errors).toBeUndefined();
    const job = run.data!.executeSavedWorkflow;
    expect((await waitForJob(system.url, user.token, job.id)).status).toBe('COMPLETED');
    const sent = comfy.prompts.find((p) => p.promptId === job.input.promptId)!.prompt;
    expect(sent['6']!.inputs.text).toBe('a red fox in snow');
    expect(sent['7']!.inputs.text).toBe('blurry');
    expect(sent['3']!.inputs.seed).toBe(7);
    expect(sent['5']!.inputs.width).toBe(768);

    const unbound = await gql(system.url, EXECUTE_SAVED, { name: 'sdxl_txt2img', params: { audio: user.id } }, user.token);
    expect(unbound.errors?.[0]).toMatchObject({ message: 'This workflow has no binding for "audio"', extensions: { code: 'BAD_USER_INPUT' } });

    const DELETE = `mutation D($name: String!) { deleteWorkflow(name: $name) }`;
    expect((await gql<{ deleteWorkflow: boolean }, unknown>(system.url, DELETE, { name }, user.token)).data!.deleteWorkflow).toBe(true);
    const shipped = await gql(system.url, DELETE, { name: 'sdxl_txt2img' }, user.token);
    expect(shipped.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const gone = await gql(system.url, EXECUTE_SAVED, { name }, user.token);
    expect(gone.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('uploads a bound image asset to the server and points the LoadImage node at it', async () => {
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();
    const em = core.orm.em.fork();
    const asset = em.create(Asset, { kind: 'IMAGE', mime: 'image/png', bytes: png.length, sha256: '0'.repeat(64), storageKey: '', owner: em.getReference(User, user.id) });
    asset.storageKey = `assets/${user.id}/${asset.id}.png`;
    await core.storage.put(asset.storageKey, png);
    await em.flush();

    const name = `animate-${user.id.slice(0, 8)}`;
    const saved = await gql(
      system.url,
      `mutation S($name: String!, $workflow: JSON!, $bindings: JSON) { saveWorkflow(name: $name, workflow: $workflow, bindings: $bindings) { name } }`,
      {
        name,
        workflow: { '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } }, '2': { class_type: 'SaveImage', inputs: { images: ['1', 0] } } },
        bindings: { image: '1.image' },
      },
      user.token,
    );
    expect(saved.errors).toBeUndefined();
    const run = await gql<{ executeSavedWorkflow: { id: string; input: { promptId: string } } }, unknown>(
      system.url,
      EXECUTE_SAVED,
      { name, params: { image: asset.id }, serverUrl: comfy.url },
      user.token,
    );
    expect(run.errors).toBeUndefined();
    const job = run.data!.executeSavedWorkflow;
    expect((await waitForJob(system.url, user.token, job.id)).status).toBe('COMPLETED');
    const uploaded = `atelier-${asset.id}.png`;
    expect(comfy.uploads.get(uploaded)?.equals(png)).toBe(true);
    expect(comfy.prompts.find((p) => p.promptId === job.input.promptId)!.prompt['1']!.inputs.image).toBe(uploaded);
  });
});
