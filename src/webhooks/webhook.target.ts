import type { Dispatcher } from 'undici';
import { checkOutboundUrl, guardedDispatcher, isAllowed, OutboundUrlError, type Resolve } from '../net/outbound.guard.ts';
import { badInput } from '../services/errors.ts';

/**
 * Webhook targets are chosen by users, so the server must not be made to call into its own network: an address
 * that is not public unicast (loopback, private, link-local, metadata, NAT64 or 6to4 of any of them…) is refused
 * unless its host, or host:port, is listed in WEBHOOK_ALLOWED_HOSTS. The rules are src/net/outbound.guard.ts's.
 */
export async function checkWebhookTarget(raw: string, allowedHosts: readonly string[], field = 'webhook.url', resolve?: Resolve): Promise<URL> {
  if (raw.length > 2048) throw badInput('A webhook URL is at most 2048 characters', { field });
  try {
    return (await checkOutboundUrl(raw, { reach: 'public', allow: allowedHosts, resolve })).url;
  } catch (error) {
    if (!(error instanceof OutboundUrlError)) throw error;
    switch (error.reason) {
      case 'malformed':
        throw badInput(`Not a URL: ${raw}`, { field });
      case 'scheme':
        throw badInput('A webhook URL must be http or https', { field });
      case 'credentials':
        throw badInput('A webhook URL must not carry credentials', { field });
      case 'unresolved':
        // A name that does not exist is refused; a passing DNS failure (EAI_AGAIN, a server down) may pass: a delivery retries.
        throw badInput(`Webhook host ${error.message}`, { field, ...(error.transient ? { transient: true } : {}) });
      default:
        throw badInput(`Webhook host ${error.message}; only public hosts, or those in WEBHOOK_ALLOWED_HOSTS, are called`, { field });
    }
  }
}

/**
 * What a delivery to `url` connects through: the guard's public dispatcher, which checks the address it connects
 * to (not only the one checked before), or the default one for a host on WEBHOOK_ALLOWED_HOSTS.
 */
export function webhookDispatcher(url: URL, allowedHosts: readonly string[]): Dispatcher | undefined {
  return isAllowed(url, allowedHosts) ? undefined : guardedDispatcher('public');
}
