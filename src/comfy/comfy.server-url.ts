import { hostRefusal } from '../net/outbound.guard.ts';
import { badInput } from '../services/errors.ts';

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

/**
 * Link-local and cloud metadata hosts (names with or without a trailing dot, IPv4 in IPv6 disguises), unspecified,
 * multicast and reserved addresses are never a ComfyUI server or provider, even if an admin lists one; this
 * machine and private networks are (src/net/outbound.guard.ts, reach `internal`). Connections are checked again.
 */
export function isForbiddenHost(hostname: string): boolean {
  return hostRefusal(hostname, 'internal') !== null;
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
