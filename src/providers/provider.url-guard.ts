import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { serverOrigin } from '../comfy/comfy.server-url.ts';
import { ProviderCallError } from './provider.types.ts';

// Where a URL handed to us by a provider must never lead: this machine, private networks, link-local (cloud
// metadata), carrier-grade NAT, multicast and reserved ranges.
const internal = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  internal.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) internal.addSubnet(net, prefix, 'ipv6');

function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return internal.check(mapped[1]!, 'ipv4');
  return internal.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Whether a provider-supplied URL may be fetched: http(s) without credentials, and either on the provider's
 * own (admin-configured) origin or on a host whose every address is public. Names are resolved here, so
 * `localtest.me`-style names pointing at loopback are refused like the address itself.
 */
export async function checkProviderUrl(raw: string, providerBaseUrl: string): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ProviderCallError('EMPTY_RESULT', 'The provider returned a malformed URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw new ProviderCallError('EMPTY_RESULT', `The provider returned a URL Atelier will not fetch (${url.protocol})`);
  }
  // The same rules as every admin URL (trailing dots, link-local, metadata names), then the provider's own origin.
  const origin = serverOrigin(url.href);
  if (!origin) throw new ProviderCallError('EMPTY_RESULT', 'The provider returned a URL on a forbidden host');
  if (origin === serverOrigin(providerBaseUrl)) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (!addresses.length) throw new ProviderCallError('EMPTY_RESULT', 'The provider returned a URL whose host does not resolve');
  if (addresses.some(isInternalAddress)) throw new ProviderCallError('EMPTY_RESULT', 'The provider returned a URL on an internal address; not fetched');
  return url;
}

/** Fetches a provider-supplied URL; every redirect hop is checked by the same rules (at most 3 hops). */
export async function fetchProviderUrl(raw: string, providerBaseUrl: string, signal: AbortSignal): Promise<Response> {
  let next = raw;
  for (let hop = 0; hop <= 3; hop++) {
    const url = await checkProviderUrl(next, providerBaseUrl);
    const response = await fetch(url, { signal, redirect: 'manual' });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    await response.body?.cancel();
    next = new URL(location, url).href;
  }
  throw new ProviderCallError('EMPTY_RESULT', 'The provider URL redirected too many times');
}
