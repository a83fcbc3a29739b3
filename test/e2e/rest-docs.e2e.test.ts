import { createConfig, lintFromString } from '@redocly/openapi-core';
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
        'GET /workflows',
        'GET /files/{id}',
        'GET /files/{id}/thumbnail',
        'GET /livez',
        'GET /readyz',
      ]),
    );
    expect(routes.some((r) => r.includes('/graphql'))).toBe(false);
    // Bodies are generated from the routes' zod contracts, markers stripped.
    const body = spec.paths['/generate/image'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['prompt']);
    expect(body.properties.num_inference_steps).toMatchObject({ type: 'integer' });
    expect(body.properties.num_images).toMatchObject({ type: 'integer', maximum: 4 });
    expect(JSON.stringify(spec)).not.toContain('x-contract');
    // The form routes document their multipart and urlencoded bodies, files included.
    const hallo2 = spec.paths['/api/v1/inference/hallo2'].post.requestBody.content;
    expect(Object.keys(hallo2)).toEqual(['multipart/form-data', 'application/x-www-form-urlencoded']);
    expect(hallo2['multipart/form-data'].schema.properties.image_file).toMatchObject({ type: 'string', format: 'binary' });
    // Every operation: an id, a summary, security, a schema for its answer, and its family's errors.
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, where).toEqual(expect.any(String));
        expect(op.security, where).toBeDefined();
        const ok = op.responses['200'];
        // An operation that answers nothing on success (DELETE /files/{id}) documents its 204 instead.
        if (!ok && op.responses['204']) continue;
        expect(ok?.content, where).toBeDefined();
        expect(Object.values(ok.content as Record<string, { schema?: unknown }>)[0]!.schema, where).toBeDefined();
      }
    }
    const generate = spec.paths['/api/v1/images/generate'].post;
    for (const status of ['401', '403', '413', '415', '429', '503']) {
      expect(generate.responses[status].content['application/json'].schema.properties, status).toHaveProperty('error_code');
    }
    expect(spec.paths['/generate/image'].post.responses['429'].content['application/json'].schema.properties).toHaveProperty('type');
    expect(spec.paths['/api/upload'].post.responses['401'].content['application/json'].schema.properties).toHaveProperty('details');
    expect(spec.paths['/api/upload'].post.security).toEqual([{}, { bearer: [] }]);
    expect(spec.servers).toEqual([{ url, description: expect.any(String) }]);
  });

  it('passes Redocly’s recommended OpenAPI rules with no errors', async () => {
    const spec = (await getJson(`${url}/openapi.json`)).body;
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(spec), absoluteRef: `${url}/openapi.json`, config });
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    expect(errors).toEqual([]);
  });

  it('serves the guides the media API document links to', async () => {
    for (const page of ['/docs/optimization.md', '/docs/faq.md']) {
      const response = await fetch(`${url}${page}`);
      expect(response.status, page).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/markdown');
      expect((await response.text()).length, page).toBeGreaterThan(1500);
    }
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
