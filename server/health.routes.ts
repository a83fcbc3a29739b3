import type { FastifyInstance } from 'fastify';
import type { Core } from '../src/core.ts';
import { checkReadiness } from '../src/services/health.service.ts';

const probe = (operationId: string, summary: string, ok: string) => ({
  tags: ['Atelier'],
  operationId,
  summary,
  security: [],
  response: {
    200: { description: ok, type: 'object', additionalProperties: true, properties: { status: { type: 'string' } } },
    503: { description: 'Not ready: a dependency is down or no worker is consuming', type: 'object', additionalProperties: true, properties: { status: { type: 'string' } } },
  },
});

/** Kubernetes-style probes; /health itself belongs to the talking-head document's shape. */
export function registerHealthRoutes(app: FastifyInstance, core: Core) {
  app.get('/livez', { schema: probe('livez', 'Liveness: the API process answers', 'Alive') }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: probe('readyz', 'Readiness: PostgreSQL and Redis answer, and a worker consumes', 'Ready') }, async (_request, reply) => {
    const health = await checkReadiness(core);
    return reply.status(health.status === 'ok' ? 200 : 503).send(health);
  });
}
