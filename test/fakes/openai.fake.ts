import { applyFault, fakePng, type FakeProvider, sendJson, startFake } from './provider-fakes.shared.ts';

/** OpenAI's images and chat completions endpoints, with injectable faults. */
export function startFakeOpenAi(apiKey = `sk-test-${Math.random().toString(36).slice(2)}`): Promise<FakeProvider> {
  return startFake(apiKey, async (fake, req, body, res, path) => {
    if (req.headers.authorization !== `Bearer ${fake.apiKey}`) return sendJson(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
    const request = body as Record<string, unknown>;
    if (req.method === 'POST' && (path === '/v1/images/generations' || path === '/v1/chat/completions')) {
      const fault = await applyFault(fake, res, {
        rateLimited: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
        serverError: { error: { message: 'The server had an error', type: 'server_error' } },
        noCredits: [429, { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } }],
      });
      if (fault !== 'ok' && fault !== 'delay') {
        if (fault === 'empty') sendJson(res, 200, path.includes('chat') ? { choices: [] } : { created: 1, data: [] });
        return;
      }
      if (path.includes('chat')) return sendJson(res, 200, { id: 'chatcmpl-1', choices: [{ index: 0, message: { role: 'assistant', content: 'A red square on a plain background.' } }] });
      if (request.model === 'dall-e-3' && request.n !== 1) return sendJson(res, 400, { error: { message: 'n must be 1 for dall-e-3' } });
      const b64 = (await fakePng()).toString('base64');
      return sendJson(res, 200, { created: 1, data: Array.from({ length: Number(request.n ?? 1) }, () => ({ b64_json: b64, revised_prompt: `revised: ${String(request.prompt)}` })) });
    }
    sendJson(res, 404, { error: { message: 'not found' } });
  });
}
