import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but loadConfig succeeded');
}

describe('loadConfig', () => {
  it('applies defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(4000);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.NODE_ENV).toBe('development');
    expect(config.DATA_DIR).toBe('.data');
    expect(config.dataDir).toBe(path.resolve('.data'));
    expect(path.isAbsolute(config.dataDir)).toBe(true);
    expect(config.storageDir).toBe(path.join(path.resolve('.data'), 'storage'));
    expect(config.publicUrl).toBe('http://127.0.0.1:4000');
    expect(config.QUEUE_PREFIX).toBe('atelier');
    expect(config.JWT_SECRET).toBeUndefined();
    expect(config.JWT_EXPIRES_IN_SECONDS).toBe(3600);
    expect(config.WORKER_CONCURRENCY).toBe(Math.min(64, Math.max(2, os.availableParallelism())));
    expect(config.GRAPHIQL).toBe(true);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it('coerces PORT and derives the public URL from HOST and PORT', () => {
    const config = loadConfig({ PORT: '8123', HOST: '0.0.0.0' });
    expect(config.PORT).toBe(8123);
    expect(config.publicUrl).toBe('http://0.0.0.0:8123');
  });

  it('prefers PUBLIC_URL, without its trailing slash, and treats an empty one as absent', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://atelier.example.com/' }).publicUrl).toBe('https://atelier.example.com');
    expect(loadConfig({ PUBLIC_URL: '  ' }).publicUrl).toBe('http://127.0.0.1:4000');
  });

  it('resolves DATA_DIR and STORAGE_DIR to absolute paths', () => {
    const config = loadConfig({ DATA_DIR: 'some/where', STORAGE_DIR: 'blobs' });
    expect(config.dataDir).toBe(path.resolve('some/where'));
    expect(config.storageDir).toBe(path.resolve('blobs'));
  });

  it.each(['abc', '70000', '-1', '80.5'])('refuses PORT=%s with a ConfigError naming PORT', (port) => {
    const error = configError({ PORT: port });
    expect(error.message).toMatch(/^Invalid configuration:/);
    expect(error.message).toMatch(/\bPORT\b/);
  });

  it('refuses a JWT_SECRET shorter than 32 characters, and accepts 32', () => {
    const error = configError({ JWT_SECRET: 'x'.repeat(31) });
    expect(error.message).toContain('JWT_SECRET');
    expect(error.message).toContain('at least 32 characters');
    expect(loadConfig({ JWT_SECRET: 'x'.repeat(32) }).JWT_SECRET).toBe('x'.repeat(32));
  });

  it('names every invalid variable in one error', () => {
    const error = configError({ PORT: 'nope', QUEUE_PREFIX: 'has spaces', LOG_LEVEL: 'loud', DATABASE_URL: 'not a url' });
    for (const name of ['PORT', 'QUEUE_PREFIX', 'LOG_LEVEL', 'DATABASE_URL']) expect(error.message).toContain(name);
  });

  it('refuses a short ADMIN_PASSWORD and an invalid WORKER_CONCURRENCY', () => {
    expect(configError({ ADMIN_PASSWORD: 'short' }).message).toContain('ADMIN_PASSWORD');
    expect(configError({ WORKER_CONCURRENCY: '0' }).message).toContain('WORKER_CONCURRENCY');
    expect(configError({ WORKER_CONCURRENCY: '65' }).message).toContain('WORKER_CONCURRENCY');
  });

  it('reads GRAPHIQL=false as false', () => {
    expect(loadConfig({ GRAPHIQL: 'false' }).GRAPHIQL).toBe(false);
    expect(configError({ GRAPHIQL: 'no' }).message).toContain('GRAPHIQL');
  });
});
