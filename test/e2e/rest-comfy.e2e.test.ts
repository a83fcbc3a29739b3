import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { FakeComfyUI } from '../fakes/comfyui.fake.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { getJson, pngBytes, postJson } from '../helpers/media.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/** SDXL txt2img in ComfyUI's API format. */
const sdxl = () => ({
  '3': {
    class_type: 'KSampler',
    inputs: { seed: 1, steps: 20, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] },
  },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'uma paisagem futurista', clip: ['4', 1] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'baixa qualidade', clip: ['4', 1] } },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
  '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'atelier', images: ['8', 0] } },
});

/** A workflow an admin adds to the library, which ENGINE_ALIASES names below; nothing else in the library has its node. */
const storyboard = {
  '1': { class_type: 'StoryboardPanel', inputs: { caption: 'a panel', seed: 0, width: 64, height: 64 } },
  '2': { class_type: 'SaveImage', inputs: { filename_prefix: 'storyboard', images: ['1', 0] } },
};

/** Document 000's /comfy routes against a local fake ComfyUI server, with a real comfyui worker. */
describe('REST media API (000): /comfy routes', () => {
  const comfy = new FakeComfyUI({ nodeDelayMs: 5, checkpoints: ['sd_xl_base_1.0.safetensors', 'ltx-video-2b-v0.9.5.safetensors'] });
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let admin: TestUser;
  let headers: Record<string, string>;

  beforeAll(async () => {
    await comfy.start();
    const env = testEnv({
      COMFYUI_SERVER_URLS: comfy.url,
      WORKER_ENGINES: 'comfyui',
      ENGINE_ALIASES: JSON.stringify({ 'Storyboard Sketch': { engine: 'comfyui', workflow: 'storyboard_sketch' } }),
    });
    core = await testCore(env);
    [user, admin] = await Promise.all([createTestUser(core), createTestUser(core, 'admin')]);
    headers = { authorization: `Bearer ${user.token}` };
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    await comfy.stop();
  });

  it('executes a workflow, waits for it, then answers its status and history by prompt id', async () => {
    const response = await postJson(`${system.url}/comfy/execute`, { workflow: sdxl(), timeout: 300, priority: 1, gpu_preference: 0 }, headers);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ prompt_id: expect.any(String), status: 'completed', urls: [expect.stringContaining('/files/')] });
    expect(comfy.prompts.map((p) => p.promptId)).toContain(response.body.prompt_id);

    const status = await getJson(`${system.url}/comfy/status/${response.body.prompt_id}`, headers);
    expect(status.body).toMatchObject({ prompt_id: response.body.prompt_id, status: 'completed', server: comfy.url });
    const history = await getJson(`${system.url}/comfy/history`, headers);
    // ComfyUI's own /history shape: a map from prompt id to {prompt, outputs, status}.
    expect(history.body[response.body.prompt_id]).toMatchObject({ status: { status_str: 'success', completed: true }, meta: { status: 'completed' } });
  });

  it('answers the documented example workflow and a missing workflow file in the {detail, type} shape', async () => {
    const documented = await postJson(
      `${system.url}/comfy/execute`,
      { workflow: { nodes: [{ type: 'SDXLLoader', inputs: { prompt: 'uma paisagem futurista', negative_prompt: 'baixa qualidade' } }] }, timeout: 300, priority: 1, gpu_preference: 0 },
      headers,
    );
    // ComfyUI refuses a workflow without an output node; the client learns why.
    expect(documented.status).toBe(400);
    expect(documented.body).toEqual({ detail: expect.any(String), type: 'validation_error' });

    const missing = await postJson(`${system.url}/comfy/execute/file`, { workflow_name: 'sdxl_refiner', timeout: 300, priority: 1, gpu_preference: 0 }, headers);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: expect.stringContaining('sdxl_refiner'), type: 'not_found' });

    const unauthenticated = await getJson(`${system.url}/comfy/history`);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body.type).toBe('authentication_error');
  });

  it('004 /api/generate with comfyPipeline runs the library workflow on ComfyUI and answers workflowResponse', async () => {
    const upload = new FormData();
    upload.append('image', new Blob([new Uint8Array(await pngBytes())]), 'photo.png');
    const uploaded = (await (await fetch(`${system.url}/api/upload`, { method: 'POST', body: upload, headers })).json()) as { imageUrl: string };
    const formData = new FormData();
    formData.append('imageUrl', uploaded.imageUrl);
    formData.append('text', 'Описание сцены...');
    formData.append('comfyPipeline', 'image_to_video');
    const response = await fetch(`${system.url}/api/generate`, { method: 'POST', body: formData, headers });
    const body = (await response.json()) as any;
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ workflowResponse: { prompt_id: expect.any(String), server: comfy.url }, isDemo: false });
    const sent = comfy.prompts.find((p) => p.promptId === body.workflowResponse.prompt_id)!.prompt;
    expect(JSON.stringify(sent)).toContain('Описание сцены...');
    expect(body.image ?? body.video).toMatch(/\/files\/[0-9a-f-]{36}\?exp=\d+&sig=[\w-]+$/);

    const elsewhere = new FormData();
    elsewhere.append('imageUrl', uploaded.imageUrl);
    elsewhere.append('text', 'x');
    elsewhere.append('comfyPipeline', 'image_to_video');
    elsewhere.append('serverUrl', 'http://169.254.169.254');
    const refused = await fetch(`${system.url}/api/generate`, { method: 'POST', body: elsewhere, headers });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'Invalid input', details: expect.any(String) });
  });

  it('runs a preset’s engine alias as the library workflow it names: InstantID → sdxl_base, an ENGINE_ALIASES name → its own', async () => {
    const em = core.orm.em.fork();
    await core.comfy.saveWorkflow(em, admin.actor, { name: 'storyboard_sketch', workflow: storyboard, bindings: { prompt: '1.caption', seed: '1.seed' } });
    const xianxia = await core.profiles.savePreset(em, { name: `xianxia-${Date.now()}`, defaultEngine: 'instantid' });
    const boards = await core.profiles.savePreset(em, { name: `boards-${Date.now()}`, defaultEngine: 'storyboard-sketch' });
    // 003's request, with the project named: the preset's engine decides where and what runs.
    const run = async (project: string, prompt: string) => {
      const response = await postJson(`${system.url}/api/v1/images/generate`, { prompt, width: 512, height: 512, num_inference_steps: 4, project_id: project }, headers);
      expect(response.body).toMatchObject({ status: 'completed' });
      const job = await core.orm.em.fork().findOneOrFail(Job, { id: response.body.task_id });
      const promptId = job.result?.promptId;
      return { job, sent: comfy.prompts.find((p) => p.promptId === promptId)!.prompt };
    };

    const instantid = await run(xianxia.name, 'Han Li, calm cultivator');
    expect(instantid.job).toMatchObject({ engine: 'comfyui', input: { workflowName: 'sdxl_base' } });
    // sdxl_base names its outputs after itself (the kind's default, sdxl_txt2img, writes "atelier_sdxl").
    expect(instantid.sent['9']).toMatchObject({ class_type: 'SaveImage', inputs: { filename_prefix: 'atelier_sdxl_base' } });
    expect(instantid.sent['6']!.inputs.text).toBe('Han Li, calm cultivator');
    expect([instantid.sent['5']!.inputs.width, instantid.sent['5']!.inputs.height]).toEqual([512, 512]);

    const sketch = await run(boards.name, 'three panels of a duel');
    expect(sketch.job.input).toMatchObject({ workflowName: 'storyboard_sketch' });
    expect(Object.values(sketch.sent).map((node) => node.class_type)).toEqual(['StoryboardPanel', 'SaveImage']);
    expect(sketch.sent['1']!.inputs).toMatchObject({ caption: 'three panels of a duel', seed: (sketch.job.input as { seed: number }).seed });
  });

  it('reports resources in the documented shape', async () => {
    const resources = await getJson(`${system.url}/comfy/resources`, headers);
    expect(resources.status).toBe(200);
    expect(resources.body).toMatchObject({
      gpus: expect.any(Array),
      system: { total_ram: expect.any(Number), used_ram: expect.any(Number), cpu_percent: expect.any(Number) },
      allocations: expect.any(Number),
    });
  });
});
