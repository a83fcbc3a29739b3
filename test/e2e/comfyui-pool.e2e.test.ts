import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset, type AssetKind } from '../../src/db/entities/asset.entity.ts';
import { User } from '../../src/db/entities/user.entity.ts';
import { FakeComfyUI } from '../fakes/comfyui.fake.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const EXECUTE = `mutation Exec($workflow: JSON!, $serverUrl: String, $gpu: Int) {
  executeComfyWorkflow(workflow: $workflow, serverUrl: $serverUrl, gpuPreference: $gpu) { id input }
}`;
const RESULT = `query R($id: ID!) { job(id: $id) { status result error { code message } logs { message } } }`;

const workflow = {
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'model.safetensors' } },
  '2': { class_type: 'KSampler', inputs: { steps: 10, seed: 1, model: ['1', 0] } },
  '3': { class_type: 'VAEDecode', inputs: { samples: ['2', 0], vae: ['1', 2] } },
  '4': { class_type: 'SaveImage', inputs: { filename_prefix: 'pool', images: ['3', 0] } },
};

describe('ComfyUI server pool', () => {
  const a = new FakeComfyUI({ nodeDelayMs: 80, devices: [0, 2] });
  const b = new FakeComfyUI({ nodeDelayMs: 80, devices: [0, 1] });
  // Not on any list: nothing may ever connect to it.
  const target = new FakeComfyUI();
  // Allowed, but answers everything with a redirect to the target.
  const redirector = new FakeComfyUI();
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let admin: TestUser;

  const execute = (variables: Record<string, unknown>, token = user.token) =>
    gql<{ executeComfyWorkflow: { id: string; input: { promptId: string } } }, unknown>(system.url, EXECUTE, { workflow, ...variables }, token);
  const result = async (id: string) =>
    (await gql<{ job: { status: string; result: { server: string; promptId: string; dispatches: number } | null; error: { code: string; message: string } | null; logs: { message: string }[] } }, unknown>(system.url, RESULT, { id }, user.token)).data!.job;

  beforeAll(async () => {
    await Promise.all([a.start(), b.start(), target.start(), redirector.start()]);
    redirector.switches.redirectTo = `${target.url}/system_stats`;
    const env = testEnv({
      COMFYUI_SERVER_URLS: `${a.url},${b.url}`,
      COMFYUI_ALLOWED_SERVERS: redirector.url,
      WORKER_ENGINES: 'comfyui',
      WORKER_CONCURRENCY: '2',
    });
    core = await testCore(env);
    [user, admin] = await Promise.all([createTestUser(core), createTestUser(core, 'admin')]);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
    await Promise.all([a.stop(), b.stop(), target.stop(), redirector.stop()]);
  });

  it('spreads jobs over the two servers by queue length', async () => {
    const jobs = await Promise.all([1, 2, 3, 4].map(() => execute({})));
    const ids = jobs.map((j) => j.data!.executeComfyWorkflow.id);
    for (const id of ids) expect((await waitForJob(system.url, user.token, id)).status).toBe('COMPLETED');
    expect([a.prompts.length, b.prompts.length]).toEqual([2, 2]);

    // Someone else fills A's queue directly: the next jobs all go to B, whose queue is shorter.
    for (let i = 0; i < 3; i++) {
      const queued = await fetch(`${a.url}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: workflow, client_id: 'someone-else' }) });
      expect(queued.status).toBe(200);
    }
    const more = await Promise.all([1, 2].map(() => execute({})));
    for (const r of more) expect((await waitForJob(system.url, user.token, r.data!.executeComfyWorkflow.id)).status).toBe('COMPLETED');
    const onB = b.prompts.map((p) => p.promptId);
    expect(more.map((r) => onB.includes(r.data!.executeComfyWorkflow.input.promptId))).toEqual([true, true]);
  });

  it('honours gpuPreference where a server reports that device', async () => {
    await expect.poll(() => a.load, { timeout: 5000 }).toBe(0);
    const before = b.prompts.length;
    const job = (await execute({ gpu: 1 })).data!.executeComfyWorkflow;
    expect((await waitForJob(system.url, user.token, job.id)).status).toBe('COMPLETED');
    expect((await result(job.id)).result!.server).toBe(b.url);
    expect(b.prompts.length).toBe(before + 1);
  });

  it('runs an image request sent with engine "comfyui" through the library\'s sdxl_txt2img workflow', async () => {
    const response = await gql<{ generateImage: { id: string } }, unknown>(
      system.url,
      `mutation G($input: GenerateImageInput!) { generateImage(input: $input) { id } }`,
      { input: { prompt: 'a lighthouse in fog', negativePrompt: 'people', seed: 5, width: 768, height: 512, engine: 'comfyui', priority: 1 } },
      user.token,
    );
    expect(response.errors).toBeUndefined();
    const id = response.data!.generateImage.id;
    expect((await waitForJob(system.url, user.token, id)).status).toBe('COMPLETED');
    const details = await result(id);
    const dispatched = [...a.prompts, ...b.prompts].find((p) => p.promptId === details.result!.promptId)!;
    // Priority 1 asks the server to put the prompt at the front of its queue.
    expect(dispatched.front).toBe(true);
    const sent = dispatched.prompt;
    expect(sent['6']!.inputs.text).toBe('a lighthouse in fog');
    expect(sent['7']!.inputs.text).toBe('people');
    expect(sent['3']!.inputs.seed).toBe(5);
    expect([sent['5']!.inputs.width, sent['5']!.inputs.height]).toEqual([768, 512]);
  });

  it('runs a talking-head request sent with engine "comfyui" through the Hallo2 workflow: portrait and audio uploaded, video out', async () => {
    const em = core.orm.em.fork();
    const stored = async (kind: AssetKind, mime: string, extension: string, data: Buffer) => {
      const asset = em.create(Asset, { kind, mime, bytes: data.length, sha256: '0'.repeat(64), storageKey: '', owner: em.getReference(User, user.id) });
      asset.storageKey = `assets/${user.id}/${asset.id}.${extension}`;
      await core.storage.put(asset.storageKey, data);
      return asset;
    };
    const portrait = await stored('IMAGE', 'image/png', 'png', Buffer.from('portrait bytes'));
    const speech = await stored('AUDIO', 'audio/wav', 'wav', Buffer.from('speech bytes'));
    await em.flush();
    const response = await gql<{ generateTalkingHead: { id: string } }, unknown>(
      system.url,
      `mutation T($input: GenerateTalkingHeadInput!) { generateTalkingHead(input: $input) { id } }`,
      { input: { imageAssetId: portrait.id, audioAssetId: speech.id, engine: 'comfyui' } },
      user.token,
    );
    expect(response.errors).toBeUndefined();
    const id = response.data!.generateTalkingHead.id;
    expect((await waitForJob(system.url, user.token, id)).status).toBe('COMPLETED');
    const details = await result(id);
    const server = [a, b].find((s) => s.url === details.result!.server)!;
    const sent = server.prompts.find((p) => p.promptId === details.result!.promptId)!.prompt;
    expect(sent['1']!.inputs.image).toBe(`atelier-${portrait.id}.png`);
    expect(sent['2']!.inputs.audio).toBe(`atelier-${speech.id}.wav`);
    expect(server.uploads.get(`atelier-${speech.id}.wav`)?.toString()).toBe('speech bytes');
    const assets = await gql<{ job: { assets: { kind: string; mime: string }[] } }, unknown>(system.url, `query A($id: ID!) { job(id: $id) { assets { kind mime } } }`, { id }, user.token);
    expect(assets.data!.job.assets).toEqual([{ kind: 'VIDEO', mime: 'video/mp4' }]);
  });

  it('moves the prompt of a server that restarts and forgets it to another server', async () => {
    b.switches.restartAfterNodes = 2;
    // Only B reports GPU 1, so the job starts there.
    const job = (await execute({ gpu: 1 })).data!.executeComfyWorkflow;
    const done = await waitForJob(system.url, user.token, job.id, undefined, 20_000);
    expect(done.status).toBe('COMPLETED');
    const details = await result(job.id);
    expect(b.prompts.map((p) => p.promptId)).toContain(job.input.promptId);
    expect(details.result).toMatchObject({ server: a.url, dispatches: 2 });
    expect(details.logs.map((l) => l.message)).toContainEqual(expect.stringMatching(/no longer knows prompt .* sending the prompt to another server/));
  });

  it('moves the prompt of a server that dies mid-job to another server', async () => {
    a.switches.crashAfterNodes = 2;
    // Only A reports GPU 2, so the job starts there; once A is gone the preference falls back to any server.
    const job = (await execute({ gpu: 2 })).data!.executeComfyWorkflow;
    const done = await waitForJob(system.url, user.token, job.id, undefined, 20_000);
    expect(done.status).toBe('COMPLETED');
    const details = await result(job.id);
    expect(a.prompts.map((p) => p.promptId)).toContain(job.input.promptId);
    expect(details.result).toMatchObject({ server: b.url, dispatches: 2 });
    expect(b.prompts.map((p) => p.promptId)).toContain(details.result!.promptId);
    expect(details.logs.map((l) => l.message)).toContainEqual(expect.stringMatching(/^Lost ComfyUI server .* sending the prompt to another server \(2\/3\)$/));
  });

  it('refuses server URLs off the allowlist without a single connection to them', async () => {
    const attempts = [
      target.url,
      `${target.url}/prompt`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
      'http://metadata.google.internal/',
      `http://user:pw@${redirector.url.slice('http://'.length)}`,
      'file:///etc/passwd',
      `${redirector.url}@${target.url.slice('http://'.length)}`,
    ];
    for (const serverUrl of attempts) {
      const refused = await execute({ serverUrl });
      expect(refused.errors?.[0]?.extensions?.code, serverUrl).toBe('BAD_USER_INPUT');
    }
    const ADD = `mutation A($url: String!) { addComfyServer(url: $url) { id } }`;
    const metadata = await gql(system.url, ADD, { url: 'http://169.254.169.254' }, admin.token);
    expect(metadata.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    // An allowed server that redirects elsewhere: the redirect is not followed.
    const redirected = (await execute({ serverUrl: redirector.url })).data!.executeComfyWorkflow;
    const failed = await waitForJob(system.url, user.token, redirected.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error!.message).toMatch(/302|redirect/);
    expect(redirector.requests.length).toBeGreaterThan(0);
    expect(target.connections).toEqual([]);
    expect(target.requests).toEqual([]);
  });
});
