import { createHmac, timingSafeEqual } from 'node:crypto';
import { absoluteUrl } from '../services/public-url.ts';

/** One of our unsigned file URLs: a stored `/files/<id>` path, or an absolute one (rows older than paths). */
const UNSIGNED_FILE_URL = /^(https?:\/\/[^/?#]+)?\/files\/([0-9a-f-]{36})$/i;

export type FileUrlCheck = 'valid' | 'expired' | 'invalid';

/**
 * Result URLs a browser can open without a header: `/files/{id}?exp=…&sig=…`, an HMAC of the id and the
 * expiry. URLs are stored unsigned (in job results) and signed each time they are handed to a client, so a
 * stored result never holds a link that has run out.
 */
export class FileUrlSigner {
  private readonly key: Buffer;
  private readonly ttlSeconds: number;
  private readonly publicUrl: string;
  private readonly now: () => number;

  constructor(deps: { secret: string; ttlSeconds: number; publicUrl: string; now?: () => number }) {
    // A key of its own, so a file signature can never be replayed as anything signed with the JWT secret.
    this.key = createHmac('sha256', deps.secret).update('atelier:file-urls').digest();
    this.ttlSeconds = deps.ttlSeconds;
    this.publicUrl = deps.publicUrl;
    this.now = deps.now ?? Date.now;
  }

  /**
   * The signed URL of one asset, valid for at least the TTL, on `base`: the address the client used (by default
   * the current request's), else PUBLIC_URL.
   */
  url(assetId: string, base?: string): string {
    const absolute = absoluteUrl(`/files/${assetId}`, base);
    return this.signed(absolute.startsWith('/') ? this.publicUrl + absolute : absolute, assetId);
  }

  /**
   * A copy of `value` with every one of our unsigned file URLs in it signed (stored paths made absolute on
   * `base` first); anything else is left as is. Walks arrays and plain objects only, so Dates, Buffers and
   * streams pass through untouched.
   */
  signAll<T>(value: T, base?: string): T {
    if (typeof value === 'string') {
      const match = UNSIGNED_FILE_URL.exec(value);
      if (!match) return value;
      if (!match[1]) return this.url(match[2]!, base) as T;
      // An absolute URL is ours when it names this API as the client reached it, or PUBLIC_URL.
      return (match[1] === base || match[1] === this.publicUrl ? this.signed(value, match[2]!) : value) as T;
    }
    if (Array.isArray(value)) return value.map((item) => this.signAll(item, base)) as T;
    if (value && typeof value === 'object') {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return value;
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.signAll(item, base)])) as T;
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

  /**
   * Rounded up to a tenth of the TTL, so the same file handed out twice in a while gets the same URL and a
   * browser shows it from its cache instead of fetching it again.
   */
  private expiry(): number {
    const step = Math.max(1, Math.ceil(this.ttlSeconds / 10));
    return Math.ceil((Math.floor(this.now() / 1000) + this.ttlSeconds) / step) * step;
  }

  private signed(url: string, assetId: string): string {
    const exp = this.expiry();
    return `${url}?exp=${exp}&sig=${this.signature(assetId, exp)}`;
  }

  private signature(assetId: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${assetId}.${exp}`).digest('base64url');
  }
}
