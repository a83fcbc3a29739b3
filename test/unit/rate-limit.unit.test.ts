import { describe, expect, it } from 'vitest';
import { RateLimits } from '../../server/rate-limit.ts';

describe('rate-limit client keys', () => {
  it('keys a credential however its Authorization header is spelled, so respelling it gives no new bucket', () => {
    const key = RateLimits.clientKey('Bearer atl_abc', '10.0.0.1');
    expect(RateLimits.clientKey('bearer   atl_abc', '10.0.0.2')).toBe(key);
    expect(RateLimits.clientKey('BEARER\tatl_abc  ', undefined)).toBe(key);
    expect(RateLimits.clientKey('Bearer atl_other', '10.0.0.1')).not.toBe(key);
    expect(RateLimits.clientKey(undefined, '10.0.0.1')).toBe('ip:10.0.0.1');
  });
});
