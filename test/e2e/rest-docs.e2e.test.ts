import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/env.ts';
import { getJson } from '../helpers/media.ts';
import { type RunningProcess, startApi } from '../helpers/processes.ts';

/** OpenAPI 3 of every compat route, Swagger UI and ReDoc, all served by the API itself (no CDN). */
describe('REST API docs', () => {
  let api: RunningProcess;
  let url: string;

  beforeAll(async () => {
    const started = await startApi(testEnv());
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('describes every compat route in /openapi.json, with request bodies from the validation schemas', async () => {
    const spec = (await getJson(`${url}/openapi.json`)).body;
    expect(spec.openapi).toMatch(/^3\./);
    const routes = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v2/auth/login',
        'POST /generate/image',
        'POST /generate/video',
        'POST /synthesize/speech',
        'GET /health',
        'GET /api/v1/health',
        'POST /api/v1/inference/hallo2',
        'POST /api/v1/inference/hallo2/config',
        'GET /api/v1/tasks',
        'GET /api/v1/tasks/{id}',
        'GET /api/v1/tasks/{id}/video',
        'POST /api/v1/tasks/{id}/logs',
        'DELETE /api/v1/tasks/{id}',
        'POST /api/v1/images/generate',
        'POST /api/v1/videos/generate',
        'GET /metrics',
        'POST /api/upload',
        'POST /api/generate',
        'POST /comfy/execute',
        'POST /comfy/execute/file',
        'GET /comfy/status/{prompt_id}',
        'GET /comfy/history',
        'GET /comfy/resources',
        'POST /api/v1/images/batch-generate',
        'POST /api/v1/images/batch',
        'GET /api/v1/images/batch/{job_id}',
        'GET /api/v1/images/providers',
        'POST /api/v1/images/providers',
        'GET /api/v1/images/providers/{provider_id}/credits',
        'POST /api/v1/images/estimate-cost',
        'GET /api/v1/images/metrics',
        'GET /api/v1/images/cache/stats',
        'GET /api/v1/images/providers/{provider_id}/performance',
        'GET /api/v1/images/monitor/alerts',
      ]),
    );
    expect(routes.some((r) => r.includes('/graphql') || r.includes('/files'))).toBe(false);
    const body = spec.paths['/generate/image'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['prompt']);
    expect(body.properties.num_inference_steps).toEqual({ type: 'integer' });
  });

  it('serves Swagger UI and ReDoc with their scripts from this server', async () => {
    const docs = await fetch(`${url}/docs/`);
    expect(docs.status).toBe(200);
    const html = await docs.text();
    expect(html).toContain('swagger-ui');
    expect(html).not.toMatch(/https?:\/\/(unpkg|cdn)/);
    const redoc = await (await fetch(`${url}/redoc`)).text();
    expect(redoc).toContain('<redoc spec-url="/openapi.json">');
    const script = await fetch(`${url}/redoc/redoc.standalone.js`);
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(100_000);
  });
});
