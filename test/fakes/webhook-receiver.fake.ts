import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status this request was answered with. */
  answered: number;
}

/**
 * A webhook receiver on a loopback port. Each path answers as told: `/ok` 200, `/gone` 410, `/redirect` 302,
 * `/fail-first` 500 to the first request of each webhook-id and 200 after.
 */
export async function startWebhookReceiver() {
  const received: ReceivedWebhook[] = [];
  const seenIds = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const id = String(req.headers['webhook-id']);
      let status = 200;
      if (path === '/gone') status = 410;
      else if (path === '/redirect') status = 302;
      else if (path === '/fail-first' && !seenIds.has(id)) status = 500;
      seenIds.add(id);
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: status });
      if (status === 302) res.setHeader('location', '/ok');
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
