import type { FastifyRequest } from 'fastify';
import type { Actor } from '../src/services/actor.ts';
import type { Operation } from '../src/services/scopes.ts';

/**
 * The service operation each authenticated REST route runs (`METHOD url` as Fastify registers it). What the
 * operation needs is declared in the core (src/services/scopes.ts) and GraphQL goes through the same check.
 */
export const ROUTE_OPERATIONS: Record<string, Operation> = {
  // Atelier's own
  'DELETE /files/:id': 'assets.delete',
  // media-api (002)
  'POST /generate/image': 'jobs.submit',
  'POST /generate/video': 'jobs.submit',
  'POST /synthesize/speech': 'jobs.submit',
  'POST /comfy/execute': 'jobs.submit',
  'POST /comfy/execute/file': 'jobs.submit',
  'GET /comfy/status/:prompt_id': 'comfy.read',
  'GET /comfy/history': 'comfy.read',
  'GET /comfy/resources': 'comfy.read',
  'GET /workflows': 'comfy.read',
  // image-service (001)
  'POST /api/v1/images/batch-generate': 'jobs.submit',
  'POST /api/v1/images/batch': 'jobs.submit',
  'GET /api/v1/images/batch/:job_id': 'jobs.read',
  'GET /api/v1/images/providers': 'providers.read',
  'POST /api/v1/images/providers': 'providers.manage',
  'GET /api/v1/images/providers/:provider_id/credits': 'providers.read',
  'POST /api/v1/images/estimate-cost': 'costs.read',
  'GET /api/v1/images/metrics': 'costs.read',
  'GET /api/v1/images/cache/stats': 'providers.monitor',
  'GET /api/v1/images/providers/:provider_id/performance': 'providers.monitor',
  'GET /api/v1/images/monitor/alerts': 'providers.monitor',
  // talking-head (Hallo2)
  'POST /api/v1/inference/hallo2': 'jobs.submit',
  'POST /api/v1/inference/hallo2/config': 'talkingHeadConfig.write',
  'GET /api/v1/tasks': 'jobs.read',
  'GET /api/v1/tasks/:id': 'jobs.read',
  'GET /api/v1/tasks/:id/video': 'assets.read',
  'POST /api/v1/tasks/:id/logs': 'jobs.read',
  'DELETE /api/v1/tasks/:id': 'jobs.control',
  'GET /api/v1/tasks/:id/events': 'jobs.read',
  // video-platform (003)
  'POST /api/v1/images/generate': 'jobs.submit',
  'POST /api/v1/videos/generate': 'jobs.submit',
  // video-generator
  'POST /api/upload': 'assets.upload',
  'POST /api/generate': 'jobs.submit',
};

/**
 * The operation a request runs. A route missing from the table (one added later) is held to what its method
 * suggests — reading for GET, generating otherwise — never to nothing.
 */
export function operationOf(request: FastifyRequest): Operation {
  const key = `${request.method} ${request.routeOptions.url}`;
  return ROUTE_OPERATIONS[key] ?? (request.method === 'GET' || request.method === 'HEAD' ? 'jobs.read' : 'jobs.submit');
}

/** Callers already authenticated and authorized for this request (by the scope hook, before body validation). */
export const authorizedActors = new WeakMap<FastifyRequest, Actor>();
