import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { anonymousFamilies, isLoopbackHost } from '../../src/config/anonymous-families.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Core } from '../../src/core.ts';
import { parseEngineAliases, resolveEngine } from '../../src/services/engine-aliases.ts';
import { AppError } from '../../src/services/errors.ts';
import { contract, fromFormText, parseContract, toJsonSchema } from '../../rest-compat/rest.contract.ts';
import { corsOptions } from '../../server/cors.ts';
import { syncWaitMs } from '../../rest-compat/rest.wait.ts';

describe('REST request contracts', () => {
  const form = z.object({ use_cache: z.boolean().optional(), steps: z.number().int().optional(), text: z.string() });

  it('reads a form’s text as the numbers and booleans its contract names (Python’s True included)', () => {
    expect(fromFormText(form, { use_cache: 'True', steps: '25', text: '5' })).toEqual({ use_cache: true, steps: 25, text: '5' });
    expect(parseContract(form, { use_cache: 'off', text: 'x' })).toEqual({ use_cache: false, text: 'x' });
    // Text that is no number stays text, and the contract refuses it by field.
    expect(() => parseContract(form, { steps: 'many', text: 'x' })).toThrow(AppError);
    expect(() => parseContract(form, { steps: 'many', text: 'x' })).toThrow(/^steps: /);
  });

  it('generates the route’s JSON Schema from the same contract, marked for the validator', () => {
    const schema = contract('UnitForm', form);
    expect(schema).toMatchObject({ type: 'object', required: ['text'], 'x-contract': 'UnitForm', properties: { steps: { type: 'integer' } } });
    expect(schema).not.toHaveProperty('$schema');
    expect(toJsonSchema(z.object({ a: z.string().nullable() }), 'output')).toMatchObject({ properties: { a: { type: ['string', 'null'] } }, required: ['a'] });
  });
});

describe('sync waits', () => {
  const core = { config: { REST_SYNC_TIMEOUT_SECONDS: 60 } } as unknown as Core;
  const request = (prefer?: string) => ({ headers: prefer ? { prefer } : {} }) as unknown as FastifyRequest;

  it('wait as long as the request’s own timeout, capped at 300 s, else REST_SYNC_TIMEOUT_SECONDS', () => {
    expect(syncWaitMs(core, request(), true, 120)).toBe(120_000);
    expect(syncWaitMs(core, request(), true, 900)).toBe(300_000);
    expect(syncWaitMs(core, request(), true)).toBe(60_000);
    expect(syncWaitMs(core, request(), false, 120)).toBe(0);
    expect(syncWaitMs(core, request('respond-async'), true, 120)).toBe(0);
    expect(syncWaitMs(core, request('wait=10'), false)).toBe(10_000);
  });
});

describe('anonymous REST families', () => {
  it('are 002 and 004 on loopback unless REST_ANONYMOUS_FAMILIES says otherwise; none elsewhere', () => {
    expect(isLoopbackHost('127.0.0.1') && isLoopbackHost('::1') && isLoopbackHost('localhost')).toBe(true);
    expect(anonymousFamilies(loadConfig({ HOST: '127.0.0.1' }))).toEqual(['talking-head', 'video-generator']);
    expect(anonymousFamilies(loadConfig({ HOST: '0.0.0.0' }))).toEqual([]);
    expect(anonymousFamilies(loadConfig({ HOST: '0.0.0.0', REST_ANONYMOUS_FAMILIES: 'talking-head' }))).toEqual(['talking-head']);
    expect(anonymousFamilies(loadConfig({ HOST: '127.0.0.1', REST_ANONYMOUS_FAMILIES: 'none' }))).toEqual([]);
  });
});

describe('the documents’ environment names', () => {
  it('read SECRET_KEY as JWT_SECRET and COMFYUI_SERVER_URL as COMFYUI_SERVER_URLS, Atelier’s own names first', () => {
    const secret = 'k'.repeat(40);
    expect(loadConfig({ SECRET_KEY: secret }).JWT_SECRET).toBe(secret);
    expect(loadConfig({ SECRET_KEY: secret, JWT_SECRET: 'j'.repeat(40) }).JWT_SECRET).toBe('j'.repeat(40));
    expect(loadConfig({ COMFYUI_SERVER_URL: 'http://comfy:8188' }).COMFYUI_SERVER_URLS).toBe('http://comfy:8188');
    expect(loadConfig({ BATCH_MONITOR_INTERVAL: '15', API_KEY: 'a'.repeat(20) })).toMatchObject({ BATCH_MONITOR_INTERVAL: 15, API_KEY: 'a'.repeat(20) });
    expect(loadConfig({ CORS_ORIGINS: 'http://a.example, http://b.example' }).CORS_ORIGINS).toEqual(['http://a.example', 'http://b.example']);
  });
});

describe('engine aliases', () => {
  it('map the documents’ engine names to a family and a workflow; ENGINE_ALIASES adds more', () => {
    const aliases = parseEngineAliases(JSON.stringify({ 'Dream Engine': { engine: 'onnx', modelPack: 'dreamshaper-8' } }));
    expect(resolveEngine('InstantID', aliases)).toEqual({ engine: 'comfyui', workflow: 'sdxl_base', kinds: ['IMAGE'] });
    expect(resolveEngine('Fish Speech', aliases)).toEqual({ engine: 'builtin' });
    expect(resolveEngine('FastHunyuan', aliases)?.engine).toBe('comfyui');
    expect(resolveEngine('dream-engine', aliases)).toEqual({ engine: 'onnx', modelPack: 'dreamshaper-8' });
    expect(resolveEngine('provider', aliases)).toEqual({ engine: 'provider' });
    expect(resolveEngine('nothing', aliases)).toBeNull();
    expect(() => parseEngineAliases('{"x": {"engine": "gpu"}}')).toThrow(/ENGINE_ALIASES/);
    expect(() => parseEngineAliases('{"x": {"engine": "comfyui", "workflow": "../sdxl_base"}}')).toThrow(/path separators/);
  });
});

describe('CORS origins', () => {
  it('are CORS_ORIGINS when set; unset, this machine’s pages on loopback and none elsewhere', () => {
    expect(corsOptions(loadConfig({ CORS_ORIGINS: '*' })).origin).toBe(true);
    expect(corsOptions(loadConfig({ CORS_ORIGINS: 'http://front.example' })).origin).toEqual(['http://front.example']);
    expect(corsOptions(loadConfig({ HOST: '0.0.0.0' })).origin).toBe(false);
    const local = corsOptions(loadConfig({ HOST: '127.0.0.1' })).origin as RegExp;
    expect(local.test('http://localhost:5173') && local.test('http://127.0.0.1:3000')).toBe(true);
    expect(local.test('http://evil.example') || local.test('http://localhost.evil.example')).toBe(false);
  });
});
