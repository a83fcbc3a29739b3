import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import { checkReadiness } from '../src/services/health.service.ts';

/** Kubernetes-style probes; /health itself belongs to the talking-head document's shape. */
export function registerHealthRoutes(app: FastifyInstance, core: Core) {
  app.get('/livez', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const health = await checkReadiness(core);
    return reply.status(health.status === 'ok' ? 200 : 503).send(health);
  });
}
