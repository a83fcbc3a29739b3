import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import type { EntityManager } from '@mikro-orm/postgresql';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { ApiKey } from '../db/entities/api-key.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import { AuthCache } from './auth.cache.ts';
import { API_SCOPES, type Actor, type ApiScope, hasScope, isAdmin, scopesForRole } from './actor.ts';
import { forbidden, notFound, unauthenticated } from './errors.ts';
import { isUuid, parseInput } from './validation.ts';

export const API_KEY_PREFIX = 'atl_';
const LAST_USED_RESOLUTION_MS = 60_000;
// A real argon2 hash to verify against when the user does not exist, so both paths take as long.
const DUMMY_HASH_INPUT = randomBytes(16).toString('hex');
let dummyHash: Promise<string> | undefined;

export interface AuthSettings {
  jwtSecret: string;
  jwtExpiresInSeconds: number;
}

export interface LoginResult {
  accessToken: string;
  tokenType: 'bearer';
  expiresIn: number;
}

export const hashPassword = (password: string) => argonHash(password);

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

const loginInput = z.object({
  username: z.string().trim().min(1, 'is required').max(64),
  password: z.string().min(1, 'is required').max(1024),
});

const apiKeyInput = z.object({
  name: z.string().trim().min(1, 'is required').max(128),
  scopes: z.array(z.enum(API_SCOPES)).min(1).max(API_SCOPES.length).optional(),
});

export class AuthService {
  private readonly key: Uint8Array;
  private readonly settings: AuthSettings;
  /** Users and keys as last read; a request that finds them here reads nothing from the database. */
  readonly cache: AuthCache;

  constructor(settings: AuthSettings, cache = new AuthCache({})) {
    this.settings = settings;
    this.key = new TextEncoder().encode(settings.jwtSecret);
    this.cache = cache;
  }

  async login(em: EntityManager, rawInput: { username: string; password: string }): Promise<LoginResult> {
    const input = parseInput(loginInput, rawInput);
    const user = await em.findOne(User, { username: input.username }, { populate: ['passwordHash'] });
    if (!user) {
      dummyHash ??= argonHash(DUMMY_HASH_INPUT);
      await argonVerify(await dummyHash, input.password);
      throw unauthenticated('Invalid username or password');
    }
    if (!(await argonVerify(user.passwordHash, input.password))) throw unauthenticated('Invalid username or password');
    return this.issueToken(user);
  }

  async issueToken(user: User): Promise<LoginResult> {
    const accessToken = await new SignJWT({ role: user.role, username: user.username })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime(`${this.settings.jwtExpiresInSeconds}s`)
      .sign(this.key);
    return { accessToken, tokenType: 'bearer', expiresIn: this.settings.jwtExpiresInSeconds };
  }

  /**
   * Resolves an `Authorization` header value to an actor. No header means anonymous (null); a header
   * that is present but wrong is an error, so a client with a stale token learns why it is refused.
   */
  async authenticate(em: EntityManager, authorization: string | null | undefined): Promise<Actor | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw unauthenticated('Authorization header must be "Bearer <token or API key>"');
    const credential = match[1]!;
    // Our keys start with atl_; a static API_KEY (document 003) is any other credential that is not a JWT.
    const isJwt = !credential.startsWith(API_KEY_PREFIX) && credential.split('.').length === 3;
    return isJwt ? this.authenticateJwt(em, credential) : this.authenticateApiKey(em, credential);
  }

  /**
   * The subject of a token whose signature was checked before: a client sends the same token on every request,
   * and checking an HMAC through WebCrypto cost more than the rest of authentication. Entries end with the token.
   */
  private readonly verified = new LRUCache<string, string>({ max: 10_000 });

  private async verifiedSubject(token: string): Promise<string | undefined> {
    const known = this.verified.get(token);
    if (known !== undefined) return known;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const ttl = payload.exp === undefined ? 0 : payload.exp * 1000 - Date.now();
      if (payload.sub && ttl > 0) this.verified.set(token, payload.sub, { ttl });
      return payload.sub;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('Token expired; log in again');
      throw unauthenticated('Invalid token');
    }
  }

  private async authenticateJwt(em: EntityManager, token: string): Promise<Actor> {
    const subject = await this.verifiedSubject(token);
    // The signature vouches for the subject; the cached user still catches a deleted user or a changed role.
    const user = subject && isUuid(subject) ? await this.cache.user(em, subject) : null;
    if (!user) throw unauthenticated('Invalid token');
    return { userId: user.id, username: user.username, role: user.role, scopes: scopesForRole(user.role), via: 'jwt' };
  }

  private async authenticateApiKey(em: EntityManager, secret: string): Promise<Actor> {
    const digest = sha256(secret);
    const key = await this.cache.apiKey(em, digest);
    if (!key || !timingSafeEqual(Buffer.from(key.hash), Buffer.from(digest))) throw unauthenticated('Invalid API key');
    if (key.revokedAt) throw unauthenticated('API key has been revoked');
    const now = new Date();
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      key.lastUsedAt = now;
      await em.nativeUpdate(ApiKey, { id: key.id }, { lastUsedAt: now });
    }
    const user = key.user;
    const allowed = scopesForRole(user.role);
    const scopes = key.scopes.filter((s): s is ApiScope => (allowed as string[]).includes(s));
    return { userId: user.id, username: user.username, role: user.role, scopes, via: 'apiKey' };
  }

  /** Creates a key for `userId`; the secret is returned here once and only its hash is stored. */
  async createApiKey(
    em: EntityManager,
    actor: Actor,
    rawInput: { name: string; scopes?: string[] | null; userId?: string | null },
  ): Promise<{ apiKey: ApiKey; secret: string }> {
    const input = parseInput(apiKeyInput, { name: rawInput.name, scopes: rawInput.scopes ?? undefined });
    const userId = rawInput.userId ?? actor.userId;
    if (userId !== actor.userId && !isAdmin(actor)) throw forbidden('Only admins can create keys for other users');
    const user = isUuid(userId) ? await em.findOne(User, { id: userId }) : null;
    if (!user) throw notFound('User', userId);
    // A key never grants more than its target's role allows, nor more than the caller itself holds.
    const allowed = scopesForRole(user.role).filter((s) => hasScope(actor, s));
    const scopes = input.scopes ?? allowed;
    const refused = scopes.filter((s) => !allowed.includes(s));
    if (refused.length) throw forbidden(`You cannot grant the scope(s): ${refused.join(', ')}`);
    const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const apiKey = em.create(ApiKey, {
      user,
      name: input.name,
      prefix: secret.slice(0, 12),
      hash: sha256(secret),
      scopes,
    });
    await em.flush();
    return { apiKey, secret };
  }

  async listApiKeys(em: EntityManager, actor: Actor): Promise<ApiKey[]> {
    return em.find(ApiKey, { user: actor.userId }, { orderBy: { createdAt: 'desc' } });
  }

  async revokeApiKey(em: EntityManager, actor: Actor, id: string): Promise<ApiKey> {
    const key = isUuid(id) ? await em.findOne(ApiKey, { id }) : null;
    if (!key) throw notFound('API key', id);
    if (key.user.id !== actor.userId && !isAdmin(actor)) throw notFound('API key', id);
    key.revokedAt ??= new Date();
    await em.flush();
    await this.cache.changed({ keyHash: key.hash });
    return key;
  }
}
