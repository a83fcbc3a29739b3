import { createHmac, timingSafeEqual } from 'node:crypto';

export type FileUrlCheck = 'valid' | 'expired' | 'invalid';

/**
 * Result URLs a browser can open without a header: `/files/{id}?exp=…&sig=…`, an HMAC of the id and the
 * expiry. URLs are stored unsigned (in job results) and signed each time they are handed to a client, so a
 * stored result never holds a link that has run out.
 */
export class FileUrlSigner {
  private readonly key: Buffer;
  private readonly ttlSeconds: number;
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(deps: { secret: string; ttlSeconds: number; publicUrl: string; now?: () => number }) {
    // A key of its own, so a file signature can never be replayed as anything signed with the JWT secret.
    this.key = createHmac('sha256', deps.secret).update('atelier:file-urls').digest();
    this.ttlSeconds = deps.ttlSeconds;
    this.prefix = `${deps.publicUrl}/files/`;
    this.now = deps.now ?? Date.now;
  }

  /** The signed URL of one asset, valid for at least the TTL. */
  url(assetId: string): string {
    const exp = this.expiry();
    return `${this.prefix}${assetId}?exp=${exp}&sig=${this.signature(assetId, exp)}`;
  }

  /**
   * A copy of `value` with every one of our unsigned file URLs in it signed; anything else is left as is.
   * Walks arrays and plain objects only, so Dates, Buffers and streams pass through untouched.
   */
  signAll<T>(value: T): T {
    if (typeof value === 'string') return (this.isUnsignedFileUrl(value) ? this.url(value.slice(this.prefix.length)) : value) as T;
    if (Array.isArray(value)) return value.map((item) => this.signAll(item)) as T;
    if (value && typeof value === 'object') {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return value;
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.signAll(item)])) as T;
    }
    return value;
  }

  check(assetId: string, exp: string | undefined, sig: string | undefined): FileUrlCheck {
    if (!exp || !sig || !/^\d{1,12}$/.test(exp)) return 'invalid';
    const expected = Buffer.from(this.signature(assetId, Number(exp)));
    const given = Buffer.from(sig);
    // Checked before the expiry, so an altered expiry reads as tampered rather than as merely late.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return Number(exp) * 1000 <= this.now() ? 'expired' : 'valid';
  }

  /** Seconds a valid URL has left, for its cache lifetime. */
  secondsLeft(exp: string): number {
    return Math.max(0, Number(exp) - Math.floor(this.now() / 1000));
  }

  private isUnsignedFileUrl(value: string): boolean {
    return value.startsWith(this.prefix) && /^[0-9a-f-]{36}$/i.test(value.slice(this.prefix.length));
  }

  /**
   * Rounded up to a tenth of the TTL, so the same file handed out twice in a while gets the same URL and a
   * browser shows it from its cache instead of fetching it again.
   */
  private expiry(): number {
    const step = Math.max(1, Math.ceil(this.ttlSeconds / 10));
    return Math.ceil((Math.floor(this.now() / 1000) + this.ttlSeconds) / step) * step;
  }

  private signature(assetId: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${assetId}.${exp}`).digest('base64url');
  }
}
