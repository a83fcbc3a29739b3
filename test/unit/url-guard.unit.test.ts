import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverOrigin } from '../../src/comfy/comfy.server-url.ts';
import { fetchProviderUrl } from '../../src/providers/provider.url-guard.ts';

const listen = (handler: Parameters<typeof createServer>[1]) =>
  new Promise<{ server: Server; url: string }>((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });

describe('admin URLs', () => {
  it.each([
    'http://metadata.google.internal/',
    'http://metadata.google.internal./',
    'http://METADATA.google.internal../computeMetadata/v1/',
    'http://169.254.169.254/',
    'http://2852039166/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fe80::1]/',
    'http://user:pw@example.com/',
    'file:///etc/passwd',
  ])('%s is never a ComfyUI server or provider base URL', (url) => {
    expect(serverOrigin(url)).toBeNull();
  });

  it('local and public servers stay allowed (a ComfyUI on this machine is normal)', () => {
    expect(serverOrigin('http://127.0.0.1:8188/')).toBe('http://127.0.0.1:8188');
    expect(serverOrigin('https://api.openai.com/v1')).toBe('https://api.openai.com');
  });
});

describe('URLs a provider hands back', () => {
  let provider: { server: Server; url: string };
  let internal: { server: Server; url: string };
  let internalHits = 0;

  beforeAll(async () => {
    internal = await listen((_req, res) => {
      internalHits++;
      res.end('secret');
    });
    provider = await listen((req, res) => {
      if (req.url === '/image.png') return res.end('png');
      if (req.url === '/to-internal') return res.writeHead(302, { location: `${internal.url}/` }).end();
      if (req.url === '/to-metadata') return res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      res.writeHead(404).end();
    });
  });

  afterAll(() => {
    provider.server.close();
    internal.server.close();
  });

  const signal = () => AbortSignal.timeout(5000);

  it("fetches a URL on the provider's own origin", async () => {
    const response = await fetchProviderUrl(`${provider.url}/image.png`, provider.url, signal());
    expect(await response.text()).toBe('png');
  });

  it('refuses loopback on another origin, metadata addresses and redirects to either, without reaching them', async () => {
    await expect(fetchProviderUrl(`${internal.url}/`, provider.url, signal())).rejects.toThrow(/internal address/);
    await expect(fetchProviderUrl(`${provider.url}/to-internal`, provider.url, signal())).rejects.toThrow(/internal address/);
    await expect(fetchProviderUrl(`${provider.url}/to-metadata`, provider.url, signal())).rejects.toThrow(/forbidden host/);
    await expect(fetchProviderUrl('http://metadata.google.internal./', provider.url, signal())).rejects.toThrow(/forbidden host/);
    await expect(fetchProviderUrl('http://localhost./x', provider.url, signal())).rejects.toThrow(/internal address|does not resolve/);
    expect(internalHits).toBe(0);
  });
});
