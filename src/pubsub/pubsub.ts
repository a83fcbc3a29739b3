import type { Redis } from 'ioredis';
import type { JobKind, JobResult, JobStatus } from '../db/entities/job.entity.ts';
import { EventQueue, type EventStream } from './event-stream.ts';

/** One change of a job, as published by whoever changed it (API or worker). */
export interface JobEvent {
  jobId: string;
  ownerId: string;
  kind: JobKind;
  status: JobStatus;
  progress: number;
  message: string | null;
  result: JobResult | null;
  errorCode: string | null;
  errorMessage: string | null;
  batchId: string | null;
  /** Jobs ahead of this one in the queue (QUEUED only). */
  queuePosition: number | null;
  /** Seconds until the job is expected to finish, when known. */
  etaSeconds: number | null;
  /** ISO time of the change. */
  at: string;
}

/** One alert about a paid provider, as stored in provider_alerts. */
export interface ProviderAlertEvent {
  id: string;
  kind: string;
  providerId: string | null;
  providerName: string | null;
  message: string;
  data: Record<string, unknown> | null;
  at: string;
}

/** Names what an API process must forget: one user, or one API key by its hash. */
export interface AuthChange {
  userId?: string;
  keyHash?: string;
  /** Many users changed at once (a configuration file applied): every cached user and key is dropped. */
  all?: boolean;
}

/** Asks whichever worker runs the job to stop it (one channel for all jobs: each worker holds one subscription). */
export interface CancelRequest {
  jobId: string;
}

/**
 * The typed map of every topic: `job` and `batch` are keyed by job or batch id; `jobs` is the single stream
 * of all jobs, `cancel` the single stream of cancel requests.
 */
export interface PubSubEvents {
  job: JobEvent;
  jobs: JobEvent;
  batch: JobEvent;
  cancel: CancelRequest;
  /** A user's role, settings or API keys changed: every API process drops what it cached of them. */
  authChanged: AuthChange;
  /** Paid-provider alerts (low credits, provider down, failure rate, slow answers). */
  providerAlerts: ProviderAlertEvent;
  /** A provider's own notice that one of its tasks changed (PiAPI webhooks), keyed by the provider's task id. */
  providerTask: ProviderTaskNotice;
  /** A user now has a webhook endpoint: dispatchers add them to the owners they check job events against. */
  webhookOwners: { ownerId: string };
  /** A credential stopped being valid (key revoked, user removed): API processes recheck their open sockets. */
  credentials: { reason: string };
}

export interface ProviderTaskNotice {
  taskId: string;
  /** The task object as the provider sent it. */
  data: Record<string, unknown>;
}

type Listener = (payload: unknown) => void;

/**
 * Typed publish/subscribe over Redis, so events cross processes (workers → every API process).
 * `subscribe` resolves only once Redis has confirmed the subscription, so a caller that reads a
 * snapshot afterwards cannot miss an event published in between.
 */
export class PubSub {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** One SUBSCRIBE per channel; every subscriber waits for its confirmation, not just the first. */
  private readonly subscribed = new Map<string, Promise<unknown>>();
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly prefix: string;

  constructor(publisher: Redis, subscriber: Redis, prefix: string) {
    this.publisher = publisher;
    this.subscriber = subscriber;
    this.prefix = prefix;
    subscriber.on('message', (channel: string, message: string) => {
      const listeners = this.listeners.get(channel);
      if (!listeners) return;
      const payload: unknown = JSON.parse(message);
      for (const listener of listeners) listener(payload);
    });
  }

  private channel(topic: keyof PubSubEvents, key?: string) {
    return key === undefined ? `${this.prefix}:events:${topic}` : `${this.prefix}:events:${topic}:${key}`;
  }

  async publish<T extends keyof PubSubEvents>(topic: T, key: string | undefined, payload: PubSubEvents[T]): Promise<void> {
    await this.publisher.publish(this.channel(topic, key), JSON.stringify(payload));
  }

  /**
   * One payload on several channels, serialised once. The PUBLISHes are written back to back on one connection
   * without waiting between them (a pipeline object would cost more than it saves), so one publisher's events
   * never overtake each other.
   */
  async publishAll<T extends keyof PubSubEvents>(targets: { topic: T; key?: string }[], payload: PubSubEvents[T]): Promise<void> {
    const message = JSON.stringify(payload);
    await Promise.all(targets.map((target) => this.publisher.publish(this.channel(target.topic, target.key), message)));
  }

  /** A raw command beside a publish (e.g. a running average), sharing the publisher connection. */
  get connection(): Redis {
    return this.publisher;
  }

  /**
   * The topic's events from now on, pulled (async iteration) or pushed (`listen`). Every subscriber of a channel
   * gets the same parsed event object, in the order Redis delivered them; `return()` unsubscribes.
   */
  async subscribe<T extends keyof PubSubEvents>(topic: T, key?: string): Promise<EventStream<PubSubEvents[T]>> {
    const channel = this.channel(topic, key);
    const close = async () => {
      const current = this.listeners.get(channel);
      current?.delete(listener);
      if (current && current.size === 0) {
        this.listeners.delete(channel);
        this.subscribed.delete(channel);
        await this.subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
    // Buffers at once, so nothing is lost before the consumer's first `next()`.
    const events = new EventQueue<PubSubEvents[T]>(close);
    const listener: Listener = (payload) => events.push(payload as PubSubEvents[T]);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    let ready = this.subscribed.get(channel);
    if (!ready) {
      ready = this.subscriber.subscribe(channel);
      this.subscribed.set(channel, ready);
    }
    try {
      await ready;
    } catch (error) {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(channel);
      if (this.subscribed.get(channel) === ready) this.subscribed.delete(channel);
      throw error;
    }
    return events;
  }
}
