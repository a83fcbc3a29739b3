import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { ConfigFileError, readConfigDir, resolveConfigDir } from '../../src/config/config-files.ts';
import { EnvFileError, loadEnvFile } from '../../src/config/env-file.ts';

const examples = fileURLToPath(new URL('../../examples/003', import.meta.url));

/** A copy of the document's example files (examples/003) in a directory of the test's own. */
function exampleCopy(): { root: string; configs: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'atelier-config-'));
  cpSync(examples, root, { recursive: true });
  return { root, configs: path.join(root, 'configs') };
}

const refusal = (configs: string): ConfigFileError => {
  try {
    readConfigDir(configs);
  } catch (error) {
    if (error instanceof ConfigFileError) return error;
    throw error;
  }
  throw new Error('the directory was accepted');
};

describe('.env (document 003)', () => {
  it('reads the document .env as it is, the environment winning, SECRET_KEY and API_KEY understood', () => {
    const { root } = exampleCopy();
    const env: NodeJS.ProcessEnv = { REDIS_URL: 'redis://127.0.0.1:6400/1' };
    expect(loadEnvFile(env, root)).toBe(path.join(root, '.env'));
    expect(env.DATABASE_URL).toBe('postgresql://user:password@localhost:5432/videogen');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6400/1');
    expect(env.API_KEY).toBe('your-api-key-here');
    // The document's placeholder secret is too short to sign tokens with; the error names what the file set.
    expect(() => loadConfig({ ...env, CONFIG_DIR: path.join(root, 'configs') })).toThrow(/JWT_SECRET \(set as SECRET_KEY\): JWT_SECRET must be at least 32/);
    const config = loadConfig({ ...env, SECRET_KEY: 'a-real-secret-of-forty-characters-000000' });
    expect(config.JWT_SECRET).toBe('a-real-secret-of-forty-characters-000000');
    expect(config.API_KEY).toBe('your-api-key-here');
    // Our own name wins over the alias.
    expect(loadConfig({ SECRET_KEY: 'x'.repeat(40), JWT_SECRET: 'y'.repeat(40) }).JWT_SECRET).toBe('y'.repeat(40));
  });

  it('ENV_FILE names another file, and one that does not exist stops the start', () => {
    const { root } = exampleCopy();
    writeFileSync(path.join(root, 'other.env'), 'QUEUE_PREFIX=from-other\n');
    const env: NodeJS.ProcessEnv = { ENV_FILE: 'other.env' };
    loadEnvFile(env, root);
    expect(env.QUEUE_PREFIX).toBe('from-other');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(() => loadEnvFile({ ENV_FILE: 'missing.env' }, root)).toThrow(EnvFileError);
    expect(loadEnvFile({}, path.join(root, 'configs'))).toBeNull();
  });
});

describe('CONFIG_DIR (document 003 layout)', () => {
  it('maps the document system_config.yaml onto the GPU pool, model cache and storage, the environment winning', () => {
    const { root, configs } = exampleCopy();
    const config = loadConfig({ CONFIG_DIR: configs, MODEL_CACHE_MAX_GB: '12' });
    expect(config.configDir).toBe(configs);
    expect(config.GPU_IDS).toBe('0,1,2,3');
    expect(config.WORKER_CONCURRENCY).toBe(4);
    expect(config.MAX_CONCURRENT_PER_GPU).toBe(1);
    expect(config.storageDir).toBe('/data/outputs');
    expect(config.MODEL_CACHE_MAX_GB).toBe(12);
    expect(config.settingSources).toMatchObject({ GPU_IDS: 'system_config.yaml', STORAGE_DIR: 'system_config.yaml', MODEL_CACHE_MAX_GB: 'environment', ONNX_EXECUTION_PROVIDER: 'default' });
    expect(loadConfig({ CONFIG_DIR: configs }).MODEL_CACHE_MAX_GB).toBe(100);
    // ./configs is the default only where it exists.
    expect(resolveConfigDir(undefined, root)).toBe(configs);
    expect(resolveConfigDir(undefined, configs)).toBeNull();
    expect(() => resolveConfigDir('nowhere', root)).toThrow(ConfigFileError);
  });

  it('turns the GPU pool and the model cache off when the file says enabled: false', () => {
    const { configs } = exampleCopy();
    writeFileSync(path.join(configs, 'system_config.yaml'), 'gpu_pool:\n  enabled: false\n  max_concurrent: 3\n  gpu_ids: [0, 1]\nmodel_cache:\n  enabled: false\n');
    const config = loadConfig({ CONFIG_DIR: configs });
    expect(config.ONNX_EXECUTION_PROVIDER).toBe('cpu');
    expect(config.GPU_IDS).toBeUndefined();
    expect(config.WORKER_CONCURRENCY).toBe(3);
    expect(config.MAX_CONCURRENT_PER_GPU).toBe(3);
    expect(config.MODEL_CACHE_MAX_GB).toBeLessThan(1e-6);
    expect(config.settingSources).toMatchObject({ ONNX_EXECUTION_PROVIDER: 'system_config.yaml', GPU_IDS: 'default', STORAGE_DIR: 'default' });
  });

  it('reads the document user and project files verbatim, with their character and scene profiles', () => {
    const snapshot = readConfigDir(exampleCopy().configs);
    expect(snapshot.users).toEqual([
      {
        user: 'demo_user',
        quota: { imagesPerDay: 100, videosPerDay: 10, maxResolution: '1920x1080', maxDurationSeconds: 60, maxFrames: 1440 },
        source: 'users/demo_user.yaml',
      },
    ]);
    // The document's engine, InstantID, is a model the local ONNX engine runs.
    expect(snapshot.presets).toEqual([
      { name: 'xianxia_novel', style: 'xianxia', defaultEngine: 'onnx', characterNames: ['hanli'], source: 'projects/xianxia_novel.yaml' },
    ]);
    expect(snapshot.characters.map((c) => [c.name, c.seed, c.source])).toEqual([['hanli', 42, 'character_profiles.yaml']]);
    expect(snapshot.scenes.map((s) => [s.name, s.durationSeconds, s.project])).toEqual([
      ['immortal_sky', 5, 'xianxia_novel'],
      ['sand_shore', 4, 'xianxia_novel'],
    ]);
  });

  it.each([
    ['users/demo_user.yaml', 'quotas:\n  images_per_day: lots\n', 2, /images_per_day: .*expected number/],
    ['users/demo_user.yaml', 'quotas:\n  images_per_day: 1\nlimits:\n  max_frame: 10\n', 4, /unknown key "max_frame"/],
    ['projects/xianxia_novel.yaml', 'style: "xianxia"\ndefault_engine: "dalle"\n', 2, /default_engine: must be one of builtin, onnx/],
    ['projects/xianxia_novel.yaml', 'style: x\ncharacter_profiles: "../secrets.yaml"\n', 2, /must be a \.yaml file inside CONFIG_DIR/],
    ['system_config.yaml', 'gpu_pool:\n  enabled: true\n  gpu_ids: [0, 1,\nmodel_cache: {}\n', 4, /Flow sequence/],
    ['system_config.yaml', 'storage:\n  type: s3\n', 2, /only "local" storage/],
    ['scene_profiles.yaml', 'scenes:\n  a:\n    prompt: x\n    duration: 90\n', 4, /at most 60 seconds/],
  ])('refuses a broken %s with its line', (file, text, line, problem) => {
    const { configs } = exampleCopy();
    writeFileSync(path.join(configs, file), text);
    const error = refusal(configs);
    expect(error.file).toBe(file);
    expect(error.line).toBe(line);
    expect(error.message).toMatch(problem);
    expect(error.message.startsWith(`${file}:${line}: `)).toBe(true);
  });

  it('refuses a profile defined differently in two files, and a cited file that is missing', () => {
    const { configs } = exampleCopy();
    writeFileSync(path.join(configs, 'projects', 'other.yaml'), 'character_profiles: "more.yaml"\n');
    writeFileSync(path.join(configs, 'more.yaml'), 'characters:\n  hanli:\n    prompt: "someone else"\n');
    expect(refusal(configs).message).toMatch(/character "hanli" is also defined, differently/);
    writeFileSync(path.join(configs, 'projects', 'other.yaml'), 'scene_profiles: "gone.yaml"\n');
    expect(refusal(configs).message).toBe('projects/other.yaml: scene_profiles: gone.yaml does not exist in the configuration directory');
  });

  it('a bad system_config.yaml stops loadConfig with its line', () => {
    const { configs } = exampleCopy();
    writeFileSync(path.join(configs, 'system_config.yaml'), 'gpu_pool:\n  max_concurrent: 0\n');
    expect(() => loadConfig({ CONFIG_DIR: configs })).toThrow(/^system_config\.yaml:2: gpu_pool\.max_concurrent/);
    expect(() => loadConfig({ CONFIG_DIR: configs })).toThrow(ConfigFileError);
  });
});
