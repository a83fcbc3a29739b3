import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config/config.ts';
import { AppError } from './errors.ts';

type ThrottleConfig = Pick<Config, 'QUEUE_PREFIX' | 'LOGIN_MAX_CONSECUTIVE_FAILS' | 'LOGIN_MAX_FAILS_PER_USERNAME' | 'LOGIN_MAX_FAILS_PER_IP' | 'LOGIN_BLOCK_SECONDS'>;

/**
 * Password guessing, counted in Redis so every API process shares the counts (rate-limiter-flexible's login
 * protection pattern): consecutive failures for one username from one address, failures for one username from
 * anywhere, and failures from one address for any username. Past a limit every attempt — the right password
 * too — is refused with RATE_LIMITED and a Retry-After until the block lapses; a success clears the first count.
 */
export class LoginThrottle {
  private readonly consecutive: RateLimiterRedis;
  private readonly perUsername: RateLimiterRedis;
  private readonly perIp: RateLimiterRedis;
  private readonly blockSeconds: number;

  constructor(redis: Redis, config: ThrottleConfig) {
    const limiter = (name: string, points: number, duration: number) =>
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${config.QUEUE_PREFIX}:login:${name}`, points, duration, blockDuration: config.LOGIN_BLOCK_SECONDS });
    this.blockSeconds = config.LOGIN_BLOCK_SECONDS;
    this.consecutive = limiter('user-ip', config.LOGIN_MAX_CONSECUTIVE_FAILS, config.LOGIN_BLOCK_SECONDS);
    this.perUsername = limiter('user', config.LOGIN_MAX_FAILS_PER_USERNAME, 3600);
    this.perIp = limiter('ip', config.LOGIN_MAX_FAILS_PER_IP, 3600);
  }

  async attempt<T>(username: string, ip: string | undefined, login: () => Promise<T>): Promise<T> {
    const user = username.trim().toLowerCase().slice(0, 200);
    const keys = [[this.consecutive, `${user}|${ip ?? '?'}`], [this.perUsername, user], [this.perIp, ip ?? '?']] as const;
    // Redis unavailable: logins go on unthrottled rather than nobody being able to log in.
    const states = await Promise.all(keys.map(([limiter, key]) => limiter.get(key).catch(() => null)));
    let waitMs = 0;
    states.forEach((state, i) => {
      if (state && state.consumedPoints >= keys[i]![0].points) waitMs = Math.max(waitMs, state.msBeforeNext);
    });
    if (waitMs > 0) throw tooMany(waitMs);
    try {
      const result = await login();
      await this.consecutive.delete(keys[0][1]).catch(() => undefined);
      return result;
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'UNAUTHENTICATED') throw error;
      // The failure that spends a limit's last point starts the block (rate-limiter-flexible's own block would
      // wait for one more).
      const spent = await Promise.all(
        keys.map(([limiter, key]) =>
          limiter.consume(key).then(
            (state) => (state.remainingPoints === 0 ? limiter.block(key, this.blockSeconds).then((blocked) => blocked.msBeforeNext) : 0),
            (rejected: unknown) => (rejected instanceof RateLimiterRes ? rejected.msBeforeNext : 0),
          ),
        ),
      );
      const blockedMs = Math.max(...spent);
      // The failure that crossed a limit already says so: the client learns to wait without one more try.
      if (blockedMs > 0) throw tooMany(blockedMs);
      throw error;
    }
  }
}

function tooMany(ms: number): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(ms / 1000));
  return new AppError('RATE_LIMITED', `Too many failed logins; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
}

const throttles = new WeakMap<object, LoginThrottle>();

/** The throttle of one core (one per process, over its Redis connection). */
export function loginThrottle(core: { redis: Redis; config: ThrottleConfig }): LoginThrottle {
  let throttle = throttles.get(core);
  if (!throttle) throttles.set(core, (throttle = new LoginThrottle(core.redis, core.config)));
  return throttle;
}
