import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileUrlSigner } from '../../src/storage/file-url.signer.ts';

const ID = '0b8e3c2a-5d0f-4f1e-9a7b-1c2d3e4f5a6b';
const at = (seconds: number) => () => seconds * 1000;
const signer = (now: () => number, secret = 'a-secret-of-at-least-thirty-two-chars!!') =>
  new FileUrlSigner({ secret, ttlSeconds: 3600, publicUrl: 'http://host:4000', now });
const parts = (url: string) => {
  const parsed = new URL(url);
  return { id: parsed.pathname.split('/').at(-1)!, exp: parsed.searchParams.get('exp')!, sig: parsed.searchParams.get('sig')! };
};

describe('FileUrlSigner', () => {
  it('signs a URL that checks as valid for at least the TTL, and expired after it', () => {
    const url = signer(at(1_000_000)).url(ID);
    expect(url).toMatch(new RegExp(`^http://host:4000/files/${ID}\\?exp=\\d+&sig=[\\w-]{43}$`));
    const { id, exp, sig } = parts(url);
    expect(Number(exp)).toBeGreaterThanOrEqual(1_000_000 + 3600);
    expect(signer(at(1_000_000 + 3599)).check(id, exp, sig)).toBe('valid');
    expect(signer(at(Number(exp))).check(id, exp, sig)).toBe('expired');
  });

  it('refuses a changed id, expiry or signature, another secret, and missing or odd parts', () => {
    const { id, exp, sig } = parts(signer(at(0)).url(ID));
    const check = signer(at(0));
    expect(check.check(ID.replace('0b8e', '0b8f'), exp, sig)).toBe('invalid');
    expect(check.check(id, String(Number(exp) + 3600), sig)).toBe('invalid');
    expect(check.check(id, exp, sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A'))).toBe('invalid');
    expect(signer(at(0), 'another-secret-of-at-least-thirty-two-chars').check(id, exp, sig)).toBe('invalid');
    expect(check.check(id, undefined, sig)).toBe('invalid');
    expect(check.check(id, exp, undefined)).toBe('invalid');
    expect(check.check(id, '1e9', sig)).toBe('invalid');
  });

  it('hands out the same URL for a while, so browsers can cache it', () => {
    expect(signer(at(7201)).url(ID)).toBe(signer(at(7400)).url(ID));
  });

  it('signs our unsigned file URLs anywhere in a value, and leaves everything else alone', () => {
    const s = signer(at(0));
    const when = new Date(0);
    const signed = s.signAll({
      urls: [`http://host:4000/files/${ID}`],
      nested: { video_url: `http://host:4000/files/${ID}`, other: 'http://elsewhere/files/' + ID, n: 3, when },
      already: s.url(ID),
      prefixOnly: 'http://host:4000/files/not-an-id',
    });
    expect(signed.urls[0]).toBe(s.url(ID));
    expect(signed.nested).toEqual({ video_url: s.url(ID), other: 'http://elsewhere/files/' + ID, n: 3, when });
    expect(signed.nested.when).toBe(when);
    expect(signed.already).toBe(s.url(ID));
    expect(signed.prefixOnly).toBe('http://host:4000/files/not-an-id');
    // A stored path is made absolute on the address the client used.
    expect(s.signAll(`/files/${ID}`, 'http://api-2:4000')).toBe(s.url(ID, 'http://api-2:4000'));
    expect(s.url(ID, 'http://api-2:4000')).toMatch(new RegExp(`^http://api-2:4000/files/${ID}\\?exp=\\d+&sig=`));
  });

  it('never takes a signature made for one id or expiry as valid for another', () => {
    const s = signer(at(0));
    for (let i = 0; i < 200; i++) {
      const [a, b] = [randomUUID(), randomUUID()];
      const { exp, sig } = parts(s.url(a));
      expect(s.check(a, exp, sig)).toBe('valid');
      expect(s.check(b, exp, sig)).toBe('invalid');
      expect(s.check(a, String(Number(exp) + 1 + i), sig)).toBe('invalid');
    }
  });
});
