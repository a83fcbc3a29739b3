import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { badInput } from '../services/errors.ts';

/**
 * Webhook targets are chosen by users, so the server must not be made to call into its own network:
 * an address that is not public unicast (loopback, private, link-local, metadata…) is refused unless its
 * host, or host:port, is listed in WEBHOOK_ALLOWED_HOSTS.
 */
export async function checkWebhookTarget(raw: string, allowedHosts: readonly string[], field = 'webhook.url'): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badInput(`Not a URL: ${raw}`, { field });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badInput('A webhook URL must be http or https', { field });
  if (url.username || url.password) throw badInput('A webhook URL must not carry credentials', { field });
  if (raw.length > 2048) throw badInput('A webhook URL is at most 2048 characters', { field });
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (allowedHosts.includes(host) || allowedHosts.includes(`${host}:${port}`)) return url;
  let addresses: string[];
  try {
    addresses = ipaddr.isValid(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch (error) {
    // ENOTFOUND: the name does not exist. Anything else (EAI_AGAIN, a DNS server down) may pass: a delivery retries.
    const transient = (error as NodeJS.ErrnoException).code !== 'ENOTFOUND';
    throw badInput(`Webhook host ${host} does not resolve`, { field, ...(transient ? { transient: true } : {}) });
  }
  for (const address of addresses) {
    const parsed = ipaddr.process(address);
    const range = parsed.range();
    if (range !== 'unicast') {
      throw badInput(`Webhook host ${host} is a ${range} address (${address}); only public hosts, or those in WEBHOOK_ALLOWED_HOSTS, are called`, {
        field,
      });
    }
  }
  return url;
}
