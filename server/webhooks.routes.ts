import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import { sendAtelierError } from '../rest-compat/http.errors.ts';

/**
 * Providers' callbacks. PiAPI posts `{timestamp, data}` with the secret given at submission in
 * `x-webhook-secret`; point a PiAPI provider's `config.webhook_url` at `<PUBLIC_URL>/webhooks/piapi`.
 */
export function registerWebhookRoutes(app: FastifyInstance, core: Core) {
  app.post('/webhooks/piapi', async (request, reply) => {
    try {
      const secret = request.headers['x-webhook-secret'];
      const { taskId } = await core.providers.acceptPiApiWebhook(core.orm.em.fork(), typeof secret === 'string' ? secret : undefined, request.body);
      return reply.send({ ok: true, task_id: taskId });
    } catch (error) {
      return sendAtelierError(reply, error);
    }
  });
}
