import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { createLogger } from '../../src/config/logger.ts';
import type { Core } from '../../src/core.ts';
import { ConfigFilesService } from '../../src/services/config-files.service.ts';
import { registerStaticApiKey } from '../../src/services/static-api-key.ts';
import { createUser } from '../../src/services/user.service.ts';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { getJson, postJson } from '../helpers/media.ts';
import { type RunningProcess, startApi } from '../helpers/processes.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const examples = path.join(root, 'examples/003/configs');
const run = promisify(execFile);

/** A copy of the document's example configs/ (examples/003/configs, the document's files as they are). */
const exampleCopy = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atelier-configs-'));
  cpSync(examples, dir, { recursive: true });
  return dir;
};

/** Files of a directory tree, relative path → content. */
const tree = (dir: string): Record<string, string> =>
  Object.fromEntries(
    (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((e) => e.isFile())
      .map((e) => {
        const file = path.join(e.parentPath, e.name);
        return [path.relative(dir, file), readFileSync(file, 'utf8')];
      })
      .sort(([a], [b]) => a!.localeCompare(b!)),
  );

const configCli = (env: Record<string, string>, ...args: string[]) =>
  run(process.execPath, ['src/config/config.main.ts', ...args], { cwd: root, env: { ...process.env, ...env } });

async function userWithToken(core: Core, username: string, role: 'user' | 'admin' = 'user') {
  const user = await createUser(core.orm.em.fork(), { username, password: `pw-${username}-0123456789`, role });
  return { id: user.id, username, token: (await core.auth.issueToken(user)).accessToken };
}

const QUOTA = `query Q($userId: ID) { userQuota(userId: $userId) { imagesPerDay videosPerDay maxResolution maxDurationSeconds maxFrames source } }`;
const PRESETS = `query { projectPresets { id name style defaultEngine source characters { id name promptFragment negativeFragment seed source } sceneProfiles { name prompt durationSeconds source } } }`;
const JOB = `query J($id: ID!) { job(id: $id) { engine input } }`;

describe('document 003 configuration: .env and YAML files, through the real API', () => {
  let scratch: ScratchDatabase;
  let configs: string;
  let env: Record<string, string>;
  let core: Core;
  let api: RunningProcess;
  let url: string;
  let admin: { id: string; username: string; token: string };
  let demo: { id: string; username: string; token: string };
  let reloadNow: () => void = () => undefined;
  let watcher: ConfigFilesService;

  beforeAll(async () => {
    scratch = await createScratchDatabase(inject('databaseUrl'), 'configfiles');
    configs = exampleCopy();
    // /data/outputs (the document's base_path) is not ours to write here: the environment wins over the file.
    env = testEnv({
      DATABASE_URL: scratch.url,
      CONFIG_DIR: configs,
      STORAGE_DIR: mkdtempSync(path.join(tmpdir(), 'atelier-storage-')),
      // The document's .env as it is: its API_KEY is read from it; the test's own database, Redis and
      // JWT_SECRET are in the environment, which wins over the file (and over its placeholder SECRET_KEY).
      ENV_FILE: path.join(root, 'examples/003/.env'),
    });
    core = await testCore(env);
    admin = await userWithToken(core, 'admin_003', 'admin');
    // The document's users/{user_id}.yaml: here the file is users/demo_user.yaml, matched by username.
    demo = await userWithToken(core, 'demo_user');
    ({ api, port: url } = await startApi(env).then(({ api, port }) => ({ api, port: `http://127.0.0.1:${port}` })));
    // A second reader of the same files, its change notifications under the test's control.
    watcher = new ConfigFilesService({
      dir: configs,
      orm: core.orm,
      log: createLogger('config-test', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
      // What it applies reaches the API process's caches, as the API's own reader's changes do.
      authCache: core.auth.cache,
      watch: (_dir, onChange) => {
        reloadNow = onChange;
        return () => undefined;
      },
    });
    await watcher.start();
  });

  afterAll(async () => {
    watcher?.stop();
    await api?.stop();
    await core?.close();
    await scratch?.drop();
  });

  it('has migrations that match the scene profile entity and the source columns', async () => {
    const sql = await core.orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(sql.split('\n').filter((line) => /scene_profiles|"source"/.test(line))).toEqual([]);
    // The same filter finds them in the full schema, so an empty diff above means something.
    const all = (await core.orm.schema.getCreateSchemaSQL({ wrap: false })).split('\n').filter((line) => /scene_profiles|"source"/.test(line));
    expect(all.length).toBeGreaterThan(3);
  });

  it('loads the example files verbatim: every value visible through GraphQL with its source', async () => {
    const quota = await gql<any, any>(url, QUOTA, {}, demo.token);
    expect(quota.errors).toBeUndefined();
    expect(quota.data.userQuota).toEqual({
      imagesPerDay: 100,
      videosPerDay: 10,
      maxResolution: '1920x1080',
      maxDurationSeconds: 60,
      maxFrames: 1440,
      source: 'users/demo_user.yaml',
    });

    const presets = (await gql<any, any>(url, PRESETS, {}, demo.token)).data.projectPresets;
    expect(presets).toEqual([
      expect.objectContaining({ name: 'xianxia_novel', style: 'xianxia', defaultEngine: 'onnx', source: 'projects/xianxia_novel.yaml' }),
    ]);
    expect(presets[0].characters).toEqual([
      expect.objectContaining({ name: 'hanli', seed: 42, negativeFragment: 'modern clothes, armor', source: 'character_profiles.yaml' }),
    ]);
    expect(presets[0].sceneProfiles).toEqual([
      { name: 'immortal_sky', prompt: 'xianxia fantasy, immortal realm sky, golden scroll', durationSeconds: 5, source: 'scene_profiles.yaml' },
      { name: 'sand_shore', prompt: 'Han Li lying on sand, calm expression', durationSeconds: 4, source: 'scene_profiles.yaml' },
    ]);

    const system = await gql<any, any>(url, `query { systemSettings { key value source } configFiles { dir lastError restartNeeded } }`, {}, admin.token);
    const setting = (key: string) => system.data.systemSettings.find((s: { key: string }) => s.key === key);
    expect(setting('GPU_IDS')).toEqual({ key: 'GPU_IDS', value: '0,1,2,3', source: 'system_config.yaml' });
    expect(setting('WORKER_CONCURRENCY')).toEqual({ key: 'WORKER_CONCURRENCY', value: '4', source: 'system_config.yaml' });
    expect(setting('MODEL_CACHE_MAX_GB')).toEqual({ key: 'MODEL_CACHE_MAX_GB', value: '100', source: 'system_config.yaml' });
    expect(setting('STORAGE_DIR').source).toBe('environment');
    expect(system.data.configFiles).toEqual({ dir: configs, lastError: null, restartNeeded: [] });
    // Admins only.
    expect((await gql<any, any>(url, `query { systemSettings { key } }`, {}, demo.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('keeps file settings read-only over the API with a clear error, other settings editable', async () => {
    const presetId = (await gql<any, any>(url, PRESETS, {}, admin.token)).data.projectPresets[0].id;
    const attempts = [
      [`mutation { setUserQuota(userId: "${demo.id}", input: { videosPerDay: 99 }) { videosPerDay } }`, 'users/demo_user.yaml'],
      [`mutation { updateProjectPreset(id: "${presetId}", input: { name: "xianxia_novel", style: "wuxia" }) { id } }`, 'projects/xianxia_novel.yaml'],
      [`mutation { deleteSceneProfile(id: "immortal_sky") }`, 'scene_profiles.yaml'],
    ] as const;
    for (const [mutation, file] of attempts) {
      const response = await gql<any, any>(url, mutation, {}, admin.token);
      expect(response.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      expect(response.errors?.[0]?.message).toContain(`comes from the configuration file ${file}`);
    }
    const other = await userWithToken(core, 'not_in_files');
    const edited = await gql<any, any>(url, `mutation { setUserQuota(userId: "${other.id}", input: { imagesPerDay: 3 }) { imagesPerDay source } }`, {}, admin.token);
    expect(edited.data.setUserQuota).toEqual({ imagesPerDay: 3, source: null });
  });

  it('enforces them: the preset and character applied, a scene profile cited, max_resolution and videos_per_day reached', async () => {
    const headers = { authorization: `Bearer ${demo.token}`, prefer: 'respond-async' };
    const image = await postJson(
      `${url}/api/v1/images/generate`,
      { prompt: 'medium shot', width: 1536, height: 864, character_id: 'hanli', project_id: 'xianxia_novel', num_inference_steps: 4 },
      headers,
    );
    expect(image.status).toBe(200);
    const imageJob = (await gql<any, any>(url, JOB, { id: image.body.task_id }, demo.token)).data.job;
    // default_engine "instantid" runs on the local ONNX engine; style and the character's fragments and seed apply.
    expect(imageJob.engine).toBe('onnx');
    expect(imageJob.input).toMatchObject({ style: 'xianxia', seed: 42, negativePrompt: 'modern clothes, armor' });
    expect(imageJob.input.prompt).toBe('Han Li, young male cultivator, calm focused eyes, long black hair tied up, deep cyan cultivator robe, medium shot');

    const tooLarge = await postJson(`${url}/api/v1/images/generate`, { prompt: 'wide', width: 2048, height: 1152 }, headers);
    expect(tooLarge.status).toBe(429);
    expect(tooLarge.body).toMatchObject({ error_code: 'QUOTA_EXCEEDED' });
    expect(tooLarge.body.detail).toContain('max_resolution 1920x1080');

    const video = (scenes: unknown[]) =>
      postJson(`${url}/api/v1/videos/generate`, { scenes, video_config: { fps: 8, resolution: '256x256' }, project_id: 'xianxia_novel' }, headers);
    const cited = await video([{ id: 'immortal_sky' }, { id: 'sand_shore', duration: 2 }]);
    expect(cited.status).toBe(200);
    const videoJob = (await gql<any, any>(url, JOB, { id: cited.body.task_id }, demo.token)).data.job;
    expect(videoJob.input.scenes).toEqual([
      { prompt: 'xianxia fantasy, immortal realm sky, golden scroll', frames: 40 },
      { prompt: 'Han Li lying on sand, calm expression', frames: 16 },
    ]);
    const unknown = await video([{ id: 'no_such_scene' }]);
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toContain('unknown scene profile "no_such_scene"');

    // GraphQL cites scenes too; together with the REST video above, that makes 2 of videos_per_day's 10.
    const viaGraphql = await gql<any, any>(
      url,
      `mutation { generateVideo(input: { prompt: "p", scenes: [{ sceneProfileId: "sand_shore" }], fps: 8, videoConfig: { resolution: "256x256" } }) { input } }`,
      {},
      demo.token,
    );
    expect(viaGraphql.data.generateVideo.input.scenes).toEqual([{ prompt: 'Han Li lying on sand, calm expression', frames: 32 }]);
    for (let i = 3; i <= 10; i++) expect((await video([{ id: 'sand_shore' }])).status).toBe(200);
    const eleventh = await video([{ id: 'sand_shore' }]);
    expect(eleventh.status).toBe(429);
    expect(eleventh.body.detail).toContain('videos_per_day (10) reached');
  });

  it('applies a changed quota without a restart; a broken change is refused and the last good settings stay', async () => {
    writeFileSync(path.join(configs, 'users/demo_user.yaml'), 'quotas:\n  images_per_day: 100\n  videos_per_day: 12\n  max_resolution: "1920x1080"\n');
    reloadNow();
    await watcher.reload();
    expect((await gql<any, any>(url, QUOTA, {}, demo.token)).data.userQuota).toMatchObject({ videosPerDay: 12, maxFrames: 1440, source: 'users/demo_user.yaml' });
    const headers = { authorization: `Bearer ${demo.token}`, prefer: 'respond-async' };
    expect((await postJson(`${url}/api/v1/videos/generate`, { scenes: [{ id: 'sand_shore' }], video_config: { fps: 8, resolution: '256x256' } }, headers)).status).toBe(200);

    writeFileSync(path.join(configs, 'users/demo_user.yaml'), 'quotas:\n  videos_per_day: -1\n');
    await watcher.reload();
    expect(watcher.status.lastError).toBe('users/demo_user.yaml:2: quotas.videos_per_day: Too small: expected number to be >=0');
    expect((await gql<any, any>(url, QUOTA, {}, demo.token)).data.userQuota.videosPerDay).toBe(12);

    // GPU ids are fixed when workers start: a change is reported as needing a restart, not applied.
    writeFileSync(path.join(configs, 'users/demo_user.yaml'), readFileSync(path.join(examples, 'users/demo_user.yaml')));
    writeFileSync(path.join(configs, 'system_config.yaml'), readFileSync(path.join(examples, 'system_config.yaml'), 'utf8').replace('[0, 1, 2, 3]', '[0, 1]'));
    await watcher.reload();
    expect(watcher.status).toMatchObject({ lastError: null, restartNeeded: ['GPU_IDS', 'MAX_CONCURRENT_PER_GPU'] });
    expect((await gql<any, any>(url, QUOTA, {}, demo.token)).data.userQuota.videosPerDay).toBe(10);
    writeFileSync(path.join(configs, 'system_config.yaml'), readFileSync(path.join(examples, 'system_config.yaml')));
    await watcher.reload();
    expect(watcher.status.restartNeeded).toEqual([]);
  });

  it('refuses to start with a broken file, naming its file and line', async () => {
    const broken = exampleCopy();
    writeFileSync(path.join(broken, 'projects/xianxia_novel.yaml'), 'style: "xianxia"\ndefault_engine: "instantid"\nscene_profile: "scene_profiles.yaml"\n');
    const refused = await startApi({ ...env, CONFIG_DIR: broken }).then(
      ({ api }) => api.stop().then(() => 'started'),
      (error: Error) => error.message,
    );
    expect(refused).toContain('exited with 1 before it was ready');
    expect(refused).toContain('projects/xianxia_novel.yaml:3: unknown key \\"scene_profile\\"');
    const check = await configCli(env, 'check', broken).then(
      () => '',
      (error: { stderr: string; code: number }) => `${error.code} ${error.stderr}`,
    );
    expect(check).toBe('1 projects/xianxia_novel.yaml:3: unknown key "scene_profile"\n');
  });

  it('accepts the API_KEY of the document .env as a static admin key', async () => {
    const me = await gql<any, any>(url, `query { me { username role } }`, {}, 'your-api-key-here');
    expect(me.data.me).toEqual({ username: admin.username, role: 'ADMIN' });
    expect((await getJson(`${url}/api/v1/tasks/00000000-0000-4000-8000-000000000000`, { authorization: 'Bearer your-api-key-here' })).status).toBe(404);
    expect((await gql<any, any>(url, `query { me { username } }`, {}, 'not-the-api-key-here')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // A new API_KEY replaces the old one.
    expect(await registerStaticApiKey(core.orm.em.fork(), 'a-rotated-api-key-0001', core.auth.cache)).toBe(true);
    expect((await gql<any, any>(url, `query { me { username } }`, {}, 'your-api-key-here')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql<any, any>(url, `query { me { username } }`, {}, 'a-rotated-api-key-0001')).data.me.username).toBe(admin.username);
  });

  it('exports the database settings in the same layout, and export → import → export is lossless', async () => {
    // Settings made over the API travel too.
    const hanli = (await gql<any, any>(url, PRESETS, {}, admin.token)).data.projectPresets[0].characters[0].id;
    const made = await gql<any, any>(
      url,
      `mutation {
        xu: createCharacter(input: { name: "xu_lao", promptFragment: "Xu Lao, weary shopkeeper" }) { id }
        loose: createSceneProfile(input: { name: "city_gate", prompt: "massive black gate", durationSeconds: 3.5 }) { id }
      }`,
      {},
      admin.token,
    );
    expect(made.errors).toBeUndefined();
    const preset = await gql<any, any>(
      url,
      `mutation { createProjectPreset(input: { name: "dust_city", style: "wuxia", defaultEngine: "builtin", characterIds: ["${made.data.xu.id}", "${hanli}"] }) { id } }`,
      {},
      admin.token,
    );
    const scene = await gql<any, any>(
      url,
      `mutation { createSceneProfile(input: { name: "market", prompt: "dusty market street", durationSeconds: 2, projectId: "${preset.data.createProjectPreset.id}" }) { id } }`,
      {},
      admin.token,
    );
    expect(scene.errors).toBeUndefined();
    const other = await userWithToken(core, 'quota_by_api');
    await gql<any, any>(url, `mutation { setUserQuota(userId: "${other.id}", input: { imagesPerDay: 7, maxResolution: "1024x1024" }) { imagesPerDay } }`, {}, admin.token);

    const first = mkdtempSync(path.join(tmpdir(), 'atelier-export-'));
    await configCli(env, 'export', first);
    const exported = tree(first);
    // The document's user file comes back as it was written.
    expect(parse(exported['users/demo_user.yaml']!)).toEqual(parse(readFileSync(path.join(examples, 'users/demo_user.yaml'), 'utf8')));
    expect(parse(exported['projects/xianxia_novel.yaml']!)).toEqual({
      character_profiles: 'profiles/xianxia_novel/character_profiles.yaml',
      scene_profiles: 'profiles/xianxia_novel/scene_profiles.yaml',
      style: 'xianxia',
      default_engine: 'onnx',
    });
    expect(parse(exported['scene_profiles.yaml']!)).toEqual({ scenes: { city_gate: { prompt: 'massive black gate', duration: 3.5 } } });
    expect(parse(exported['system_config.yaml']!).gpu_pool).toEqual({ enabled: true, max_concurrent: 4, gpu_ids: [0, 1, 2, 3] });

    // Into a fresh database with the same users, then out again.
    const second = await createScratchDatabase(inject('databaseUrl'), 'configimport');
    try {
      const secondCore = await testCore({ ...env, DATABASE_URL: second.url });
      try {
        for (const name of ['admin_003', 'demo_user', 'not_in_files', 'quota_by_api']) await userWithToken(secondCore, name);
      } finally {
        await secondCore.close();
      }
      const { stdout } = await configCli({ ...env, DATABASE_URL: second.url }, 'import', first);
      expect(stdout).toContain('imported 3 user quota(s), 2 project(s), 2 character(s), 4 scene(s)');
      const again = mkdtempSync(path.join(tmpdir(), 'atelier-export-'));
      await configCli({ ...env, DATABASE_URL: second.url }, 'export', again);
      expect(tree(again)).toEqual(exported);
    } finally {
      await second.drop();
    }
    // Exporting over existing files is refused rather than mixing two exports.
    await expect(configCli(env, 'export', first)).rejects.toMatchObject({ stderr: expect.stringContaining('is not empty') });
  });
});
