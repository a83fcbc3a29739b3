import { serverOrigin } from '../comfy/comfy.server-url.ts';
import {
  checkOutboundUrl,
  guardedDispatcher,
  hostRefusal,
  outboundRefusalIn,
  normalHost,
  OutboundUrlError,
  outboundDispatcher,
  parseOutboundUrl,
  type Reach,
  type Resolve,
} from '../net/outbound.guard.ts';
import { ProviderCallError } from './provider.types.ts';

const internalAddress = () => new ProviderCallError('EMPTY_RESULT', 'The provider returned a URL on an internal address; not fetched');

/**
 * Whether a provider-supplied URL may be fetched, and under which reach (src/net/outbound.guard.ts): http(s)
 * without credentials, never a metadata or link-local host, and either on the provider's own (admin-configured)
 * origin or on a host whose every address is public. Names are resolved here, so `localtest.me`-style names
 * pointing at loopback are refused like the address itself; the connection is checked again when made.
 */
export async function checkProviderUrl(raw: string, providerBaseUrl: string, resolve?: Resolve): Promise<{ url: URL; reach: Reach }> {
  let url: URL;
  try {
    url = parseOutboundUrl(raw);
  } catch (error) {
    const reason = (error as OutboundUrlError).reason;
    if (reason === 'malformed') throw new ProviderCallError('EMPTY_RESULT', 'The provider returned a malformed URL');
    throw new ProviderCallError('EMPTY_RESULT', `The provider returned a URL Atelier will not fetch (${new URL(raw).protocol})`);
  }
  // The same rules as every admin URL (trailing dots, link-local, metadata names), then the provider's own origin.
  if (hostRefusal(url.hostname, 'internal')) throw new ProviderCallError('EMPTY_RESULT', 'The provider returned a URL on a forbidden host');
  if (url.origin === serverOrigin(providerBaseUrl)) return { url, reach: 'internal' };
  try {
    await checkOutboundUrl(url.href, { reach: 'public', resolve });
  } catch (error) {
    if (error instanceof OutboundUrlError && error.reason === 'unresolved') {
      throw new ProviderCallError('EMPTY_RESULT', `The provider returned a URL whose host does not resolve (${normalHost(url.hostname)})`);
    }
    throw internalAddress();
  }
  return { url, reach: 'public' };
}

/**
 * Fetches a provider-supplied URL; every redirect hop is checked by the same rules (at most 3 hops), and every
 * connection by the guard's dispatcher, so a name that turns private between the check and the connection is
 * refused too. `resolve` replaces the system resolver (tests).
 */
export async function fetchProviderUrl(raw: string, providerBaseUrl: string, signal: AbortSignal, options: { resolve?: Resolve } = {}): Promise<Response> {
  let next = raw;
  for (let hop = 0; hop <= 3; hop++) {
    const { url, reach } = await checkProviderUrl(next, providerBaseUrl, options.resolve);
    const dispatcher = options.resolve ? outboundDispatcher(reach, { resolve: options.resolve }) : guardedDispatcher(reach);
    const response = await fetch(url, { signal, redirect: 'manual', dispatcher } as RequestInit).catch((error: unknown) => {
      throw outboundRefusalIn(error) ? internalAddress() : error;
    });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    await response.body?.cancel();
    next = new URL(location, url).href;
  }
  throw new ProviderCallError('EMPTY_RESULT', 'The provider URL redirected too many times');
}
