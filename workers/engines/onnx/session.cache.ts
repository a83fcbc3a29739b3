import type { Runner } from './sd.pipeline.ts';

export type LoadedSession = Runner & { release(): Promise<void> };

export interface CachedSession {
  session: LoadedSession;
  bytes: number;
  loadMs: number;
}

interface Entry extends CachedSession {
  key: string;
  users: number;
  lastUsed: number;
}

/**
 * Loaded ONNX sessions kept in an LRU bounded by bytes (MODEL_CACHE_MAX_GB). Sessions in use are never
 * evicted: the cache may run over its bound while they run, and shrinks as soon as they are released.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private readonly maxBytes: number;
  private readonly load: (key: string) => Promise<{ session: LoadedSession; bytes: number }>;
  private clock = 0;
  /** Every load with its duration, newest last (reported with the job and in the worker's telemetry). */
  readonly loads: { key: string; ms: number }[] = [];
  readonly evictions: string[] = [];

  constructor(options: { maxBytes: number; load: (key: string) => Promise<{ session: LoadedSession; bytes: number }> }) {
    this.maxBytes = options.maxBytes;
    this.load = options.load;
  }

  get sizeBytes() {
    let total = 0;
    for (const e of this.entries.values()) total += e.bytes;
    return total;
  }

  keys() {
    return [...this.entries.keys()];
  }

  /** The session for `key`, loaded if needed; call `release` when the run is done. */
  async acquire(key: string): Promise<CachedSession & { release(): void; cached: boolean }> {
    let entry = this.entries.get(key);
    const cached = Boolean(entry);
    if (!entry) {
      let pending = this.loading.get(key);
      if (!pending) {
        pending = (async () => {
          const started = performance.now();
          const loaded = await this.load(key);
          const ms = Math.round(performance.now() - started);
          this.loads.push({ key, ms });
          if (this.loads.length > 100) this.loads.shift();
          const created: Entry = { ...loaded, key, loadMs: ms, users: 0, lastUsed: 0 };
          this.entries.set(key, created);
          return created;
        })().finally(() => this.loading.delete(key));
        this.loading.set(key, pending);
      }
      entry = await pending;
    }
    const held = entry;
    held.users++;
    held.lastUsed = ++this.clock;
    await this.evict();
    let released = false;
    return {
      session: held.session,
      bytes: held.bytes,
      loadMs: held.loadMs,
      cached,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        void this.evict();
      },
    };
  }

  private async evict() {
    while (this.sizeBytes > this.maxBytes) {
      const idle = [...this.entries.values()].filter((e) => e.users === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (!idle) return;
      this.entries.delete(idle.key);
      this.evictions.push(idle.key);
      await idle.session.release().catch(() => undefined);
    }
  }

  /** Forgets the sessions whose key matches, without releasing them (their thread is gone). */
  drop(match: (key: string) => boolean) {
    for (const key of [...this.entries.keys()]) if (match(key)) this.entries.delete(key);
  }

  async close() {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.session.release().catch(() => undefined)));
  }
}
