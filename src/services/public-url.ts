import { AsyncLocalStorage } from 'node:async_hooks';
import type { Config } from '../config/config.ts';

/**
 * Result URLs are made by the API that answers, never stored whole: a worker does not know which API (or which
 * public name) its client used. Jobs store `/files/<id>` paths; each request makes them absolute with its own base.
 */
const requestBase = new AsyncLocalStorage<string>();

export const assetPath = (assetId: string) => `/files/${assetId}`;

/** PUBLIC_URL when configured (a proxy or load balancer in front), else the scheme and Host the client used. */
export function baseUrlOf(config: Pick<Config, 'PUBLIC_URL' | 'publicUrl'>, request: { protocol?: string; host?: string | null }): string {
  if (config.PUBLIC_URL || !request.host) return config.publicUrl;
  return `${request.protocol ?? 'http'}://${request.host}`;
}

export function runWithBaseUrl<T>(base: string, fn: () => T): T {
  return requestBase.run(base, fn);
}

/** A stored `/files/…` path made absolute for the current request; already-absolute URLs (older rows) pass through. */
export function absoluteUrl(pathOrUrl: string, base = requestBase.getStore()): string {
  return base && pathOrUrl.startsWith('/') ? base + pathOrUrl : pathOrUrl;
}

/** A job result with its `urls` made absolute for the current request. */
export function withAbsoluteUrls<T extends { urls?: unknown }>(result: T, base?: string): T {
  if (!Array.isArray(result.urls)) return result;
  return { ...result, urls: result.urls.map((u) => (typeof u === 'string' ? absoluteUrl(u, base) : u)) };
}
