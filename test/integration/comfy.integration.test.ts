import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createComfyEngine } from '../../workers/engines/comfyui/comfyui.engine.ts';
import type { EngineRun } from '../../workers/engine.types.ts';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

describe('ComfyUI core', () => {
  let core: Core;
  let user: TestUser;

  beforeAll(async () => {
    core = await testCore(testEnv());
    user = await createTestUser(core);
  });

  afterAll(async () => {
    await core?.close();
  });

  it('has migrations that match the ComfyUI entities', async () => {
    const sql = await core.orm.schema.getUpdateSchemaSQL({ wrap: false });
    const mine = sql.split('\n').filter((line) => /comfy_|jobs_kind_check/.test(line));
    expect(mine).toEqual([]);
    // The same filter finds the tables in the full schema, so an empty diff above means something.
    const all = (await core.orm.schema.getCreateSchemaSQL({ wrap: false })).split('\n').filter((line) => /comfy_/.test(line));
    expect(all.length).toBeGreaterThan(2);
  });

  it('an engine with no server configured starts, and its jobs fail at once saying how to add one', async () => {
    const engine = createComfyEngine({ core, threads: 1 });
    const em = core.orm.em.fork();
    const job = await core.comfy.execute(em, user.actor, { workflow: { '1': { class_type: 'SaveImage', inputs: {} } } });
    const run = { job, em, signal: new AbortController().signal, progress: () => undefined, note: () => undefined } as unknown as EngineRun;
    await expect(engine.run(run)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: 'No ComfyUI server is configured: set COMFYUI_SERVER_URLS or add one with addComfyServer',
    });
    await core.queues.get('comfyui').obliterate({ force: true });
  });

  it('keeps admin-added servers in the pool list', async () => {
    const em = core.orm.em.fork();
    // Port 9 refuses connections, so a pool that probes it meanwhile only finds it unhealthy.
    const server = await core.comfy.addServer(em, { url: 'http://127.0.0.1:9/some/path', name: 'spare' });
    try {
      expect(server).toMatchObject({ url: 'http://127.0.0.1:9', name: 'spare', enabled: true });
      expect(await core.comfy.pool.servers(em)).toContain('http://127.0.0.1:9');
      await expect(core.comfy.addServer(em, { url: 'http://127.0.0.1:9' })).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(core.comfy.addServer(em, { url: 'http://[fe80::1]:8188' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    } finally {
      await core.comfy.removeServer(em, server.id);
    }
    expect(await core.comfy.pool.servers(em.fork())).not.toContain('http://127.0.0.1:9');
  });

  it('refuses a per-request server before any request: not on the allowlist, link-local, credentials, other schemes', async () => {
    const em = core.orm.em.fork();
    for (const serverUrl of ['http://127.0.0.1:8188', 'http://169.254.169.254/', 'gopher://x']) {
      await expect(core.comfy.execute(em, user.actor, { workflow: { '1': { class_type: 'SaveImage', inputs: {} } }, serverUrl })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    }
  });
});
