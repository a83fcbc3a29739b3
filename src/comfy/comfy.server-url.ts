import { BlockList, isIP } from 'node:net';
import { badInput } from '../services/errors.ts';

// Link-local (cloud metadata lives at 169.254.169.254 and fd00:ec2::254), unspecified and multicast
// addresses are never a ComfyUI server, even if someone lists one.
const forbidden = new BlockList();
forbidden.addSubnet('169.254.0.0', 16, 'ipv4');
forbidden.addSubnet('0.0.0.0', 8, 'ipv4');
forbidden.addSubnet('224.0.0.0', 4, 'ipv4');
forbidden.addSubnet('fe80::', 10, 'ipv6');
forbidden.addSubnet('fd00:ec2::', 32, 'ipv6');
forbidden.addSubnet('ff00::', 8, 'ipv6');
forbidden.addAddress('::', 'ipv6');

/** The canonical origin of a server URL (scheme, host, port), or null when it cannot be a ComfyUI server. */
export function serverOrigin(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password) return null;
  if (isForbiddenHost(url.hostname)) return null;
  return url.origin;
}

export function isForbiddenHost(hostname: string): boolean {
  // "metadata.google.internal." (a trailing dot) is the same host as without it.
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, '').toLowerCase();
  const family = isIP(host);
  if (family === 0) return host === 'metadata.google.internal' || host.endsWith('.metadata.google.internal');
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (forbidden.check(host, type)) return true;
  // IPv4-mapped IPv6 (::ffff:169.254.169.254) is the IPv4 address in disguise.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped ? forbidden.check(mapped[1]!, 'ipv4') : false;
}

/** Parses a comma-separated list of server URLs into origins; a bad entry is a configuration error. */
export function parseServerList(value: string | undefined, variable: string): string[] {
  const entries = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return entries.map((entry) => {
    const origin = serverOrigin(entry);
    if (!origin) throw new Error(`${variable}: "${entry}" is not an http(s) URL of an allowed host`);
    return origin;
  });
}

/**
 * A per-request server URL is used only when its origin is on the allowlist; anything else is refused
 * before any request is made. Callers must also never follow redirects from it (the client does not).
 */
export function checkRequestedServer(raw: string, allowed: readonly string[], field = 'serverUrl'): string {
  const origin = serverOrigin(raw);
  if (!origin || !allowed.includes(origin)) {
    throw badInput(`${field} is not an allowed ComfyUI server (see COMFYUI_ALLOWED_SERVERS)`, { field });
  }
  return origin;
}
