import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, type Dispatcher } from 'undici';

/**
 * The one SSRF guard for every request Atelier makes on someone's say-so: webhooks (users choose them), URLs a
 * provider hands back, provider base URLs and ComfyUI servers (admins configure them).
 *
 * - `public`: only public unicast addresses. For URLs users choose and URLs a provider returns.
 * - `internal`: this machine and private networks too (a ComfyUI next door is normal), but never link-local,
 *   cloud metadata, unspecified, multicast, broadcast or reserved addresses. For what admins configure.
 *
 * A URL is checked up front (checkOutboundUrl, for a clear refusal) and again at connect time: the dispatcher's
 * connector resolves the name itself, refuses if any address fails, and connects only to the addresses it
 * checked, so a name that resolves public at check time and private a moment later (DNS rebinding) gets nowhere.
 */
export type Reach = 'public' | 'internal';

/** Resolves a host name to its addresses (all of them, as the system resolver orders them). */
export type Resolve = (hostname: string) => Promise<string[]>;

export const systemResolve: Resolve = async (hostname) => (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export class OutboundRefusedError extends Error {
  readonly code = 'ERR_OUTBOUND_REFUSED';
  readonly host: string;
  constructor(host: string, reason: string) {
    super(`${host} ${reason}`);
    this.name = 'OutboundRefusedError';
    this.host = host;
  }
}

/** Besides public unicast, what `internal` may reach. */
const INTERNAL_RANGES = new Set(['unicast', 'loopback', 'private', 'uniqueLocal', 'carrierGradeNat', 'deprecatedSiteLocal']);

// Cloud metadata services that sit inside ranges `internal` allows (AWS's IPv6 endpoint, Alibaba's).
const METADATA_NETS = [ipaddr.parseCIDR('fd00:ec2::/32'), ipaddr.parseCIDR('100.100.100.200/32')];
const METADATA_NAMES = ['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal'];

/** A URL's host as a resolver sees it: no IPv6 brackets, no trailing dots ("metadata.google.internal." is the same host), lower case. */
export const normalHost = (hostname: string) => hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '').toLowerCase();

export const isMetadataName = (host: string) => {
  const name = normalHost(host);
  return METADATA_NAMES.some((m) => name === m || name.endsWith(`.${m}`));
};

const ipv4From = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');

/**
 * The IPv4 address an IPv6 address carries and is routed to: IPv4-mapped and -translated (::ffff:a.b.c.d,
 * ::ffff:0:a.b.c.d), NAT64's well-known prefix (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::) and the deprecated
 * IPv4-compatible form (::a.b.c.d).
 */
function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = address.parts;
  switch (address.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
      return ipv4From(p[6]!, p[7]!);
    case 'rfc6052':
      return address.match(NAT64) ? ipv4From(p[6]!, p[7]!) : null;
    case '6to4':
      return ipv4From(p[1]!, p[2]!);
    case 'unspecified':
    case 'loopback':
      return null;
  }
  return p.slice(0, 6).every((part) => part === 0) ? ipv4From(p[6]!, p[7]!) : null;
}

/**
 * ipaddr.js's range of an address ('unicast' when public), looking through the IPv4 address an IPv6 one
 * embeds; '(invalid)' for what is not an address. The local-use NAT64 prefix and Teredo hide their IPv4
 * address, so they keep their own range and count as neither public nor internal.
 */
export function addressRange(address: string): string {
  if (!ipaddr.isValid(address)) return '(invalid)';
  const parsed = ipaddr.parse(address);
  const inner = parsed.kind() === 'ipv6' ? embeddedIpv4(parsed as ipaddr.IPv6) : null;
  return (inner ?? parsed).range();
}

/** Why `address` may not be reached under `reach`, or null when it may. */
export function addressRefusal(address: string, reach: Reach): string | null {
  const range = addressRange(address);
  if (range === 'unicast') return null;
  if (reach === 'public') return `is a ${range} address (${address}); only public addresses are called`;
  const parsed = ipaddr.isValid(address) ? ipaddr.parse(address) : null;
  const inner = parsed?.kind() === 'ipv6' ? embeddedIpv4(parsed as ipaddr.IPv6) : null;
  const target = inner ?? parsed;
  if (target && METADATA_NETS.some(([net, bits]) => target.kind() === net.kind() && target.match(net, bits))) return `is a cloud metadata address (${address})`;
  return INTERNAL_RANGES.has(range) ? null : `is a ${range} address (${address}); never called`;
}

/** Why `hostname` (a name or a literal address, as a URL spells it) may not be reached, before any lookup. */
export function hostRefusal(hostname: string, reach: Reach): string | null {
  const host = normalHost(hostname);
  if (!host) return 'is not a host';
  if (isMetadataName(host)) return 'is a cloud metadata name';
  return isIP(host) ? addressRefusal(host, reach) : null;
}

export interface OutboundPolicy {
  reach: Reach;
  /** Hosts or host:port let through unchecked (WEBHOOK_ALLOWED_HOSTS, a provider's own origin, tests' local fakes). */
  allow?: readonly string[];
  resolve?: Resolve;
}

export type OutboundCheck = { url: URL; allowed: boolean };

const portOf = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');

/** Whether the URL's host, or host:port, or origin is on the allow-list. */
export function isAllowed(url: URL, allow: readonly string[] = []): boolean {
  const host = normalHost(url.hostname);
  return allow.includes(host) || allow.includes(`${host}:${portOf(url)}`) || allow.includes(url.origin);
}

export type UrlRefusal = 'malformed' | 'scheme' | 'credentials' | 'host' | 'unresolved';

export class OutboundUrlError extends Error {
  readonly reason: UrlRefusal;
  /** The name's lookup failed for a passing reason (EAI_AGAIN, a DNS server down): trying later may work. */
  readonly transient: boolean;
  constructor(reason: UrlRefusal, message: string, transient = false) {
    super(message);
    this.name = 'OutboundUrlError';
    this.reason = reason;
    this.transient = transient;
  }
}

/** An http(s) URL without credentials, or an OutboundUrlError. No lookup. */
export function parseOutboundUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new OutboundUrlError('malformed', `Not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundUrlError('scheme', `${url.protocol} URLs are not called; http or https only`);
  if (url.username || url.password) throw new OutboundUrlError('credentials', 'A URL must not carry credentials');
  return url;
}

/**
 * Checks a URL before calling it: the scheme, no credentials, the host's name and every address it resolves to.
 * An allowed host passes unchecked. The connection itself is checked again (outboundDispatcher).
 */
export async function checkOutboundUrl(raw: string, policy: OutboundPolicy): Promise<OutboundCheck> {
  const url = parseOutboundUrl(raw);
  if (isAllowed(url, policy.allow)) return { url, allowed: true };
  const host = normalHost(url.hostname);
  const refused = hostRefusal(host, policy.reach);
  if (refused) throw new OutboundUrlError('host', `${host} ${refused}`);
  if (isIP(host)) return { url, allowed: false };
  let addresses: string[];
  try {
    addresses = await (policy.resolve ?? systemResolve)(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OutboundUrlError('unresolved', `${host} does not resolve`, code !== 'ENOTFOUND');
  }
  if (!addresses.length) throw new OutboundUrlError('unresolved', `${host} does not resolve`);
  for (const address of addresses) {
    const refusal = addressRefusal(address, policy.reach);
    if (refusal) throw new OutboundUrlError('host', `${host} ${refusal}`);
  }
  return { url, allowed: false };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect (and so for undici, http and ws): resolves with `resolve`, refuses the connection
 * when any address may not be reached, and otherwise hands back exactly the addresses it checked.
 */
export function guardedLookup(reach: Reach, resolve: Resolve = systemResolve) {
  return (hostname: string, options: LookupOptions | number | LookupCallback, maybeCallback?: LookupCallback): void => {
    const callback = (typeof options === 'function' ? options : maybeCallback)!;
    const opts: LookupOptions = typeof options === 'object' ? options : typeof options === 'number' ? { family: options } : {};
    const host = normalHost(hostname);
    void (async () => {
      const named = hostRefusal(host, reach);
      if (named) throw new OutboundRefusedError(host, named);
      const addresses = isIP(host) ? [host] : await resolve(host);
      for (const address of addresses) {
        const refusal = addressRefusal(address, reach);
        if (refusal) throw new OutboundRefusedError(host, refusal);
      }
      const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : (opts.family ?? 0);
      const usable = addresses.map((address) => ({ address, family: isIP(address) })).filter((a) => !family || a.family === family);
      if (!usable.length) throw Object.assign(new Error(`${host} has no IPv${family} address`), { code: 'ENOTFOUND' });
      return usable;
    })().then(
      (usable) => (opts.all ? callback(null, usable) : callback(null, usable[0]!.address, usable[0]!.family)),
      (error: NodeJS.ErrnoException) => callback(error, opts.all ? [] : ''),
    );
  };
}

/**
 * An undici dispatcher (for fetch's `dispatcher`) whose every connection passes the guard: names through
 * guardedLookup, literal addresses (which net.connect never looks up) checked before connecting.
 */
export function outboundDispatcher(reach: Reach, options: { resolve?: Resolve } = {}): Dispatcher {
  const connector = buildConnector({ lookup: guardedLookup(reach, options.resolve) } as buildConnector.BuildOptions);
  return new Agent({
    connect: (opts, callback) => {
      const host = normalHost(opts.hostname);
      const refused = isIP(host) || isMetadataName(host) ? hostRefusal(host, reach) : null;
      if (refused) return callback(new OutboundRefusedError(host, refused), null);
      return connector(opts, callback);
    },
  });
}

const shared = new Map<Reach, Dispatcher>();

/** The process's guarded dispatcher for `reach` (connections pooled across callers). */
export function guardedDispatcher(reach: Reach): Dispatcher {
  let dispatcher = shared.get(reach);
  if (!dispatcher) shared.set(reach, (dispatcher = outboundDispatcher(reach)));
  return dispatcher;
}

/** The guard's refusal of a connection, if that is what `error` is or wraps (fetch wraps it in "fetch failed"). */
export function outboundRefusalIn(error: unknown): OutboundRefusedError | null {
  for (let link = error as { cause?: unknown } | undefined, i = 0; link && i < 5; i++) {
    if (link instanceof OutboundRefusedError) return link;
    link = link.cause as typeof link;
  }
  return null;
}
