import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/services/errors.ts';
import { asOutage, outageOf, withoutPaths } from '../../src/services/outage.ts';

const errno = (code: string, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });

describe('outages', () => {
  it('tells PostgreSQL, Redis and storage outages from bugs and bad input', () => {
    expect(outageOf(errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBe('postgres');
    expect(outageOf(errno('57P01', 'terminating connection due to administrator command'))).toBe('postgres');
    expect(outageOf(new Error('wrapped', { cause: new Error('Connection terminated unexpectedly') }))).toBe('postgres');
    expect(outageOf(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe('redis');
    expect(outageOf(errno('ENOSPC', 'ENOSPC: no space left on device', { path: '/srv/atelier/storage/x.png' }))).toBe('storage');
    expect(outageOf(errno('EACCES', 'EACCES: permission denied', { path: '/srv/x' }))).toBe('storage');
    // Object storage through the AWS SDK: a 5xx or throttling answer, or a connection error from its HTTP handler.
    expect(outageOf(Object.assign(new Error('We encountered an internal error'), { name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } }))).toBe('storage');
    expect(outageOf(Object.assign(new Error('Slow Down'), { name: 'SlowDown', $fault: 'client', $metadata: { httpStatusCode: 503 } }))).toBe('storage');
    const sdkRefused = errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9000');
    sdkRefused.stack = `${sdkRefused.message}\n    at NodeHttpHandler.handle (node_modules/@smithy/node-http-handler/dist-cjs/index.js:1:1)`;
    expect(outageOf(sdkRefused)).toBe('storage');
    expect(outageOf(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 } }))).toBeNull();
    expect(outageOf(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeNull();
    expect(outageOf(new AppError('BAD_USER_INPUT', 'connection terminated is a fine prompt'))).toBeNull();
  });

  it('answers an outage with a 503 naming the part and no path', () => {
    const mapped = asOutage(errno('ENOSPC', "ENOSPC: no space left on device, open '/srv/atelier/storage/a.png'", { path: '/srv/atelier/storage/a.png' })) as AppError;
    expect(mapped.code).toBe('SERVICE_UNAVAILABLE');
    expect(mapped.details).toMatchObject({ dependency: 'storage', retryAfterSeconds: 5 });
    expect(mapped.message).not.toContain('/srv');
  });

  it('strips absolute paths from messages shown to clients', () => {
    expect(withoutPaths("ENOSPC: no space left on device, open '/srv/atelier/storage/assets/a.png'")).toBe("ENOSPC: no space left on device, open '…/a.png'");
    expect(withoutPaths('width must be at most 2048')).toBe('width must be at most 2048');
  });
});

describe('input hygiene', async () => {
  const { findUnsafeInput } = await import('../../src/services/input-hygiene.ts');
  it('walks dictionaries whatever their prototype (Fastify path params), skips files and buffers', () => {
    const params = Object.create(Object.create(null)) as Record<string, string>;
    params.id = 'a\u0000b';
    expect(findUnsafeInput(params)).toEqual({ field: 'id', message: 'must not contain NUL (\\u0000) characters' });
    expect(findUnsafeInput({ file: new Blob(['\u0000']), data: Buffer.from([0]) })).toBeNull();
    expect(findUnsafeInput({ list: ['ok', { deep: `x\u0000` }] })).toEqual({ field: 'list[1].deep', message: 'must not contain NUL (\\u0000) characters' });
  });
});
