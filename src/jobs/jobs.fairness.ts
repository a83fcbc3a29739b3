import type { Redis } from 'ioredis';
import type { GenerationQueue } from '../queue/queue.producer.ts';

/**
 * Fair queues on open-source BullMQ (its Pro "groups" are not ours to use): start-time fair queueing encoded
 * in BullMQ's priority. BullMQ priorities run 1 to 2^21−1; each of our ten priorities gets a band of them, and
 * within a band a job's place is its tag: the user's previous tag plus 12/weight, but never before the head of
 * the band's waiting jobs (less one, so a user with nothing waiting goes next). A backlog of hundreds therefore
 * takes turns with everyone else instead of standing in front of them; a user of weight 2 gets two turns to one.
 *
 * The band's virtual time never goes back, so tags only grow while it has waiting jobs; they start again from 0
 * once it has had none for a few seconds. A band that never empties for ~17,000 turns of a weight-1 user runs
 * out of tags; its newest jobs then share the last one and are served in arrival order (fairness degrades to
 * FIFO, nothing is lost).
 */
export const PRIORITY_LEVELS = 10;
const BULLMQ_MAX_PRIORITY = 2 ** 21 - 1;
const BAND = Math.floor(BULLMQ_MAX_PRIORITY / PRIORITY_LEVELS);
/** A weight-1 user's step; weights 1, 2, 3, 4, 6 and 12 divide it exactly. */
const STEP_SCALE = 12;
export const MAX_WEIGHT = STEP_SCALE;

export const bandStart = (priority: number) => (priority - 1) * BAND + 1;
/** Our priority (1–10) of a BullMQ priority, fair or plain. */
export const levelOf = (bullPriority: number) => (bullPriority <= PRIORITY_LEVELS ? bullPriority : Math.floor((bullPriority - 1) / BAND) + 1);

// KEYS: BullMQ's prioritized set, the band's state (hash: user → next tag, _v → virtual time, _at → last
// placement), the weights (hash user → weight). ARGV: band start, band end, user id, step scale, default weight,
// the band's first and last BullMQ scores (priority × 2^32 + counter, as exact strings: Lua would print such
// numbers with 14 digits), and now (ms).
const PLACE_SCRIPT = `
local low = tonumber(ARGV[1])
local high = tonumber(ARGV[2])
local now = tonumber(ARGV[8])
local head = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[6], ARGV[7], 'WITHSCORES', 'LIMIT', 0, 1)
local v = 0
if head[2] then
  v = math.floor(tonumber(head[2]) / 4294967296) - low - 1
elseif now - tonumber(redis.call('HGET', KEYS[2], '_at') or '0') > 5000 then
  -- Nothing waits in the band, and nothing was placed in it just now (and may not be added yet): start again.
  redis.call('DEL', KEYS[2])
end
v = math.max(v, tonumber(redis.call('HGET', KEYS[2], '_v') or '0'))
local weight = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or ARGV[5])
local step = math.max(1, math.floor(tonumber(ARGV[4]) / weight + 0.5))
local tag = math.max(v, tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0'))
redis.call('HSET', KEYS[2], ARGV[3], tag + step, '_v', v, '_at', now)
redis.call('PEXPIRE', KEYS[2], 604800000)
if tag > high - low then tag = high - low end
return low + tag
`;

type PlacingRedis = Redis & { fairPlace(prioritized: string, tags: string, weights: string, ...args: (string | number)[]): Promise<number> };

export class FairQueues {
  private readonly redis: PlacingRedis;
  private readonly prefix: string;
  private readonly defaultWeight: number;

  constructor(redis: Redis, prefix: string, defaultWeight = 1) {
    if (!('fairPlace' in redis)) (redis as Redis).defineCommand('fairPlace', { numberOfKeys: 3, lua: PLACE_SCRIPT });
    this.redis = redis as PlacingRedis;
    this.prefix = prefix;
    this.defaultWeight = defaultWeight;
  }

  private get weightsKey() {
    return `${this.prefix}:fair:weights`;
  }

  /** The BullMQ priority that puts this user's next job of `priority` (1–10) in its fair place. */
  async place(queue: GenerationQueue, priority: number, userId: string): Promise<number> {
    const level = Math.min(PRIORITY_LEVELS, Math.max(1, Math.round(priority)));
    const low = bandStart(level);
    const tags = `${this.prefix}:fair:${queue.name}:${level}`;
    const high = low + BAND - 1;
    const [first, last] = [BigInt(low) << 32n, ((BigInt(high) + 1n) << 32n) - 1n];
    return this.redis.fairPlace(queue.keys.prioritized!, tags, this.weightsKey, low, high, userId, STEP_SCALE, this.defaultWeight, first.toString(), last.toString(), Date.now());
  }

  /** A user's share: with weight w they get w turns to a weight-1 user's one. */
  async setWeight(userId: string, weight: number): Promise<void> {
    if (weight === this.defaultWeight) await this.redis.hdel(this.weightsKey, userId);
    else await this.redis.hset(this.weightsKey, userId, String(weight));
  }

  async weightOf(userId: string): Promise<number> {
    const stored = await this.redis.hget(this.weightsKey, userId);
    return stored ? Number(stored) : this.defaultWeight;
  }
}
