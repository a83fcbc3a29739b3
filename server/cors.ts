import { isLoopbackHost } from '../src/config/anonymous-families.ts';
import type { Config } from '../src/config/config.ts';

/** A page served from this machine (any port): the only browsers that can reach a loopback-only server. */
const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d+)?$/i;

/**
 * @fastify/cors options from CORS_ORIGINS: "*" for any origin, a list for those. Unset, pages on this machine
 * while the server listens on loopback only (a front-end's dev server on another port), and none otherwise.
 */
export function corsOptions(config: Pick<Config, 'CORS_ORIGINS' | 'HOST'>) {
  const origins = config.CORS_ORIGINS;
  const origin = origins.includes('*') ? true : origins.length ? [...origins] : isLoopbackHost(config.HOST) ? LOCAL_ORIGIN : false;
  return {
    origin,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    exposedHeaders: ['retry-after', 'location', 'content-disposition'],
    maxAge: 600,
  };
}
