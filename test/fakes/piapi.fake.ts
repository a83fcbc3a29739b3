import { randomUUID } from 'node:crypto';
import { applyFault, type FakeProvider, sendJson, startFake } from './provider-fakes.shared.ts';

/** PiAPI's unified task API (submit + poll) and account info, with injectable faults. */
export function startFakePiApi(apiKey = `piapi-test-${Math.random().toString(36).slice(2)}`): Promise<FakeProvider> {
  const tasks = new Map<string, { polls: number; fault: string }>();
  return startFake(apiKey, async (fake, req, _body, res, path) => {
    if (req.headers['x-api-key'] !== fake.apiKey) return sendJson(res, 401, { code: 401, message: 'Invalid API key' });
    if (req.method === 'GET' && path === '/account/info') return sendJson(res, 200, { code: 200, data: { account_name: 'test', credits: fake.credits, equivalent_in_usd: fake.credits } });
    if (req.method === 'POST' && path === '/api/v1/task') {
      const fault = await applyFault(fake, res, {
        rateLimited: { code: 429, message: 'too many requests' },
        serverError: { code: 500, message: 'internal error' },
        noCredits: [200, null],
      });
      if (fault === '429' || fault === '500' || fault === 'timeout') return;
      const id = randomUUID();
      tasks.set(id, { polls: 0, fault });
      return sendJson(res, 200, { code: 200, data: { task_id: id, status: 'pending' }, message: 'success' });
    }
    const match = /^\/api\/v1\/task\/([\w-]+)$/.exec(path);
    if (req.method === 'GET' && match) {
      const task = tasks.get(match[1]!);
      if (!task) return sendJson(res, 404, { code: 404, message: 'task not found' });
      task.polls++;
      if (task.polls < 2) return sendJson(res, 200, { code: 200, data: { task_id: match[1], status: 'processing', output: null } });
      if (task.fault === 'no-credits') return sendJson(res, 200, { code: 200, data: { task_id: match[1], status: 'failed', error: { code: 10000, message: 'insufficient credits' } } });
      const urls = task.fault === 'empty' ? [] : [`${fake.url}/files/${match[1]}-0.png`];
      return sendJson(res, 200, { code: 200, data: { task_id: match[1], status: 'completed', output: { image_url: urls[0] ?? null, image_urls: urls } } });
    }
    sendJson(res, 404, { code: 404, message: 'not found' });
  });
}
