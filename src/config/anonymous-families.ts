import type { Config } from './config.ts';

/** The REST families whose documents send no credentials (002 talking head, 004 video generator). */
export const ANONYMOUS_CAPABLE_FAMILIES = ['talking-head', 'video-generator'] as const;
export type AnonymousCapableFamily = (typeof ANONYMOUS_CAPABLE_FAMILIES)[number];

/** Whether HOST admits only this machine: then nobody else can reach an anonymous route. */
export const isLoopbackHost = (host: string) => /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i.test(host.trim());

/**
 * Which families answer without credentials: REST_ANONYMOUS_FAMILIES when set ("none" for none); unset, both
 * capable families while the server listens on loopback only, none on any other address.
 */
export function anonymousFamilies(config: Pick<Config, 'HOST' | 'REST_ANONYMOUS_FAMILIES'>): readonly AnonymousCapableFamily[] {
  const explicit = config.REST_ANONYMOUS_FAMILIES;
  if (explicit) return explicit.filter((f): f is AnonymousCapableFamily => f !== 'none');
  return isLoopbackHost(config.HOST) ? ANONYMOUS_CAPABLE_FAMILIES : [];
}

/** The start banner's line about it. */
export function anonymousBanner(config: Pick<Config, 'HOST' | 'REST_ANONYMOUS_FAMILIES'>): string {
  const families = anonymousFamilies(config);
  if (!families.length) return 'REST families without credentials: none (every REST route needs a Bearer token or API key)';
  const why = config.REST_ANONYMOUS_FAMILIES ? 'REST_ANONYMOUS_FAMILIES' : `listening on loopback (${config.HOST}) only`;
  return `REST families without credentials: ${families.join(', ')} (${why})`;
}
