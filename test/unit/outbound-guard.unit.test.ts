import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverOrigin } from '../../src/comfy/comfy.server-url.ts';
import {
  addressRange,
  addressRefusal,
  checkOutboundUrl,
  hostRefusal,
  OutboundUrlError,
  outboundDispatcher,
  outboundRefusalIn,
  type Reach,
  type Resolve,
} from '../../src/net/outbound.guard.ts';
import { fetchProviderUrl } from '../../src/providers/provider.url-guard.ts';
import { checkWebhookTarget, webhookDispatcher } from '../../src/webhooks/webhook.target.ts';

const allowed = (address: string, reach: Reach) => addressRefusal(address, reach) === null;

describe('the address classifier', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.10', '169.254.169.254', '100.64.0.1', '100.100.100.200', '0.0.0.0', '255.255.255.255',
    '224.0.0.1', '240.0.0.1', '192.0.2.1', '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', 'ff02::1',
    // IPv4 in IPv6 disguises: mapped, translated, NAT64, 6to4, IPv4-compatible; Teredo and local-use NAT64 hide theirs.
    '::ffff:127.0.0.1', '::ffff:169.254.169.254', '::ffff:0:10.0.0.1', '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe', '64:ff9b::c0a8:10a',
    '2002:7f00:1::', '2002:a9fe:a9fe::1', '2002:c0a8:101::', '::7f00:1', '::a9fe:a9fe', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '64:ff9b:1::a00:1',
    'not-an-address',
  ])('%s is not public', (address) => {
    expect(allowed(address, 'public')).toBe(false);
  });

  it.each(['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])('%s is public', (address) => {
    expect(allowed(address, 'public')).toBe(true);
    expect(allowed(address, 'internal')).toBe(true);
  });

  it.each(['127.0.0.1', '::1', '10.0.0.1', '192.168.1.1', '172.31.255.255', 'fc00::1', '::ffff:127.0.0.1', '64:ff9b::a00:1'])(
    '%s may be reached by what an admin configures',
    (address) => {
      expect(allowed(address, 'internal')).toBe(true);
    },
  );

  it.each([
    '169.254.169.254', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::', '::a9fe:a9fe', 'fe80::1', 'fd00:ec2::254',
    '100.100.100.200', '0.0.0.0', '::', '224.0.0.1', 'ff02::1', '255.255.255.255', '2001:0:4136:e378:8000:63bf:3fff:fdd2',
  ])('%s is never reached, even by what an admin configures', (address) => {
    expect(allowed(address, 'internal')).toBe(false);
  });

  it.each(['metadata.google.internal', 'metadata.google.internal.', 'METADATA.google.internal..', 'x.metadata.google.internal', 'metadata', 'instance-data.', '[fe80::1]'])(
    'host %s is refused before any lookup',
    (host) => {
      expect(hostRefusal(host, 'internal')).not.toBeNull();
      expect(hostRefusal(host, 'public')).not.toBeNull();
    },
  );

  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
  const disguises: [string, (o: number[]) => string][] = [
    ['IPv4-mapped', (o) => `::ffff:${o.join('.')}`],
    ['IPv4-translated', (o) => `::ffff:0:${o.join('.')}`],
    ['NAT64', (o) => `64:ff9b::${hex(o[0]!, o[1]!)}:${hex(o[2]!, o[3]!)}`],
    ['6to4', (o) => `2002:${hex(o[0]!, o[1]!)}:${hex(o[2]!, o[3]!)}::1`],
  ];

  it.each(disguises)('property: an IPv4 address dressed as %s is judged as the IPv4 address itself', (_name, dress) => {
    fc.assert(
      fc.property(ipv4, fc.constantFrom<Reach>('public', 'internal'), (octets, reach) => {
        expect(allowed(dress(octets), reach)).toBe(allowed(octets.join('.'), reach));
      }),
    );
  });

  it('property: every loopback, private, link-local, shared and multicast IPv4 address, however dressed, is not public', () => {
    const prefixes: [number[], number][] = [[[127], 8], [[10], 8], [[172, 16], 12], [[192, 168], 16], [[169, 254], 16], [[100, 64], 10], [[224], 4], [[0], 8]];
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), ipv4, fc.constantFrom(...disguises.map((d) => d[1]), (o: number[]) => o.join('.')), ([prefix, bits], random, dress) => {
        const base = [...prefix, 0, 0, 0, 0].slice(0, 4);
        const value = ((base[0]! << 24) >>> 0) + (base[1]! << 16) + (base[2]! << 8) + base[3]!;
        const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
        const rand = ((random[0] << 24) >>> 0) + (random[1] << 16) + (random[2] << 8) + random[3];
        const address = ((value & mask) | (rand & ~mask)) >>> 0;
        const octets = [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255];
        expect(allowed(dress(octets), 'public')).toBe(false);
      }),
    );
  });

  it('property: no IPv6 link-local, unique-local or multicast address is public', () => {
    const group = fc.nat(0xffff);
    fc.assert(
      fc.property(fc.constantFrom(0xfe80, 0xfc00, 0xfd00, 0xff00), fc.array(group, { minLength: 7, maxLength: 7 }), (head, rest) => {
        const first = head === 0xfe80 ? 0xfe80 | (rest[0]! & 0x3f) : head | (rest[0]! & 0xff);
        const address = [first, ...rest].map((g) => g.toString(16)).join(':');
        expect(addressRange(address)).not.toBe('unicast');
        expect(allowed(address, 'public')).toBe(false);
      }),
    );
  });
});

describe('checking a URL before calling it', () => {
  const resolver = (table: Record<string, string[]>): Resolve => async (host) => {
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };

  it('refuses trailing-dot metadata names, numeric spellings of metadata, names resolving to any private address', async () => {
    const resolve = resolver({ 'mixed.example': ['93.184.216.34', '10.0.0.5'], 'public.example': ['93.184.216.34'] });
    for (const url of ['http://metadata.google.internal./', 'http://2852039166/', 'http://[::ffff:a9fe:a9fe]/', 'http://[64:ff9b::7f00:1]/', 'http://mixed.example/']) {
      await expect(checkOutboundUrl(url, { reach: 'public', resolve }), url).rejects.toMatchObject({ reason: 'host' });
    }
    await expect(checkOutboundUrl('http://public.example/x', { reach: 'public', resolve })).resolves.toMatchObject({ allowed: false });
    await expect(checkOutboundUrl('ftp://public.example/', { reach: 'public', resolve })).rejects.toMatchObject({ reason: 'scheme' });
    await expect(checkOutboundUrl('http://u:p@public.example/', { reach: 'public', resolve })).rejects.toMatchObject({ reason: 'credentials' });
  });

  it('lets allow-listed hosts through, by host or host:port only', async () => {
    await expect(checkOutboundUrl('http://127.0.0.1:8080/hook', { reach: 'public', allow: ['127.0.0.1:8080'] })).resolves.toMatchObject({ allowed: true });
    await expect(checkOutboundUrl('http://127.0.0.1:8081/hook', { reach: 'public', allow: ['127.0.0.1:8080'] })).rejects.toBeInstanceOf(OutboundUrlError);
  });

  it('tells a name that does not exist from a passing DNS failure', async () => {
    await expect(checkWebhookTarget('http://nowhere.example/', [], 'webhook.url', resolver({}))).rejects.toMatchObject({ details: { field: 'webhook.url' } });
    const flaky: Resolve = async () => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    };
    await expect(checkWebhookTarget('http://flaky.example/', [], 'webhook.url', flaky)).rejects.toMatchObject({ details: { transient: true } });
  });

  it('admin URLs: the same classifier refuses NAT64 and 6to4 spellings of metadata addresses', () => {
    expect(serverOrigin('http://[64:ff9b::a9fe:a9fe]/')).toBeNull();
    expect(serverOrigin('http://[2002:a9fe:a9fe::]/')).toBeNull();
    expect(serverOrigin('http://[::a9fe:a9fe]:8188/')).toBeNull();
    expect(serverOrigin('http://[::1]:8188/')).toBe('http://[::1]:8188');
  });
});

describe('DNS rebinding: the address checked is the address connected to', () => {
  let server: Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end('inside');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  /** Answers public the first time it is asked, loopback every time after. */
  const rebinding = (): Resolve & { calls: number } => {
    const resolve = Object.assign(async () => (resolve.calls++ === 0 ? ['93.184.216.34'] : ['127.0.0.1']), { calls: 0 });
    return resolve;
  };

  it('a name public at check time and loopback at connect time is refused when connecting, and nothing is reached', async () => {
    const resolve = rebinding();
    const url = `http://rebind.example:${port}/secret`;
    await expect(checkOutboundUrl(url, { reach: 'public', resolve })).resolves.toMatchObject({ allowed: false });
    const error = await fetch(url, { dispatcher: outboundDispatcher('public', { resolve }) } as RequestInit).catch((e: unknown) => e);
    expect(outboundRefusalIn(error)?.message).toMatch(/rebind\.example is a loopback address \(127\.0\.0\.1\)/);
    expect(resolve.calls).toBe(2);
    expect(hits).toBe(0);
  });

  it('a provider-returned image URL that rebinds is refused the same way', async () => {
    const resolve = rebinding();
    await expect(fetchProviderUrl(`http://rebind.example:${port}/image.png`, 'https://api.provider.example', AbortSignal.timeout(5000), { resolve })).rejects.toThrow(
      /internal address/,
    );
    expect(resolve.calls).toBe(2);
    expect(hits).toBe(0);
  });

  it('a webhook target given as a literal loopback address is refused at connect time unless allow-listed', async () => {
    const url = new URL(`http://127.0.0.1:${port}/hook`);
    const refused = await fetch(url, { method: 'POST', dispatcher: webhookDispatcher(url, []) } as RequestInit).catch((e: unknown) => e);
    expect(outboundRefusalIn(refused)).not.toBeNull();
    expect(hits).toBe(0);
    const allowedResponse = await fetch(url, { method: 'POST', dispatcher: webhookDispatcher(url, [`127.0.0.1:${port}`]) } as RequestInit);
    expect(await allowedResponse.text()).toBe('inside');
    expect(hits).toBe(1);
  });

  it('the connection goes to the address the guarded lookup returned (what it checks is what is used)', async () => {
    const resolve: Resolve = async () => ['127.0.0.1'];
    const response = await fetch(`http://anything.example:${port}/`, { dispatcher: outboundDispatcher('internal', { resolve }) } as RequestInit);
    expect(await response.text()).toBe('inside');
    expect(hits).toBe(2);
  });
});
