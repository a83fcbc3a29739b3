import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult, GraphQLError } from 'graphql';
import { maskError } from '../schema/errors.ts';
import { isEventStream } from '../src/pubsub/event-stream.ts';

/**
 * graphql-ws subscriptions, delivered at the cost of one process rather than one per subscriber.
 *
 * - An event's result is executed and serialised once per distinct selection: PubSub parses a message once and
 *   hands the same event object to every listener, so (event, selection) names one JSON text, shared by every
 *   subscriber of that selection. Visibility is settled before this point (each subscriber's source stream yields
 *   only events its caller may see), and no field of an event resolves differently per caller.
 * - A subscriber's message is its own `{"id":…,"type":"next","payload":` (encoded once, when it subscribed) and
 *   that shared text, copied behind a WebSocket frame header: graphql-ws's per-message path (an async step, the
 *   message object rebuilt, validated and stringified, a promise per send) and `ws`'s (the payload encoded again
 *   for every socket) are not taken for `next` messages. graphql-ws still runs the protocol: connection,
 *   subscribe, complete, errors, and the `complete` message when a stream ends.
 * - Sources that can push (EventStream.listen: the PubSub streams and their filters) are listened to: an event
 *   reaches every subscriber in one synchronous pass, with no promise or async iterator step per subscriber.
 *   Other sources are iterated as before.
 * - Messages wait in a per-socket outbox, and sockets are written a slice at a time, between which the event loop
 *   runs: a socket's messages that piled up meanwhile (a job's QUEUED, PROCESSING and COMPLETED a few
 *   milliseconds apart) leave in one write. One write per socket, not per message, is most of the cost of
 *   fan-out: the system call, not the JavaScript.
 */

/** The WebSocket a subscription belongs to: `ws`'s WebSocket fits. */
export interface SubscriberSocket {
  readonly readyState: number;
  /** Bytes queued and not yet handed to the kernel (ours included: they go through the same transport). */
  readonly bufferedAmount: number;
  terminate(): void;
}

/**
 * One subscription's destination: its WebSocket, the connection under it (the upgrade request's socket, which
 * `ws` writes its own frames to) and its id.
 */
export interface SubscriptionTarget {
  socket: SubscriberSocket;
  transport: { write(frames: Uint8Array): unknown };
  id: string;
  /** The selection's identity (selectionKey, plus whatever else changes the result, such as the host). */
  key: string;
}

export interface FanOutOptions {
  /** How long one slice of writes may run before the event loop gets a turn. */
  sliceMs?: number;
  /** A socket with more than this many bytes still queued is not reading: it is dropped. */
  maxBufferedBytes?: number;
  onSlowSocket?: (socket: SubscriberSocket, bufferedBytes: number) => void;
}

const OPEN = 1;
const UNEXPECTED = 'Unexpected error.';
const DONE = Object.freeze({ value: undefined, done: true }) as IteratorReturnResult<undefined>;

/** The selection's identity: its text, operation and variables. */
export const selectionKey = (params: { query: string; operationName?: string | null; variables?: unknown }) =>
  `${params.operationName ?? ''}\u0000${JSON.stringify(params.variables ?? null)}\u0000${params.query}`;

function masked(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map((error) => maskError(error, UNEXPECTED) as GraphQLError) };
}

/** A result as graphql-ws sends it (data and extensions first, errors only when there are some), and `}`. */
function serialise(result: ExecutionResult): Buffer {
  const { errors, ...rest } = masked(result);
  return Buffer.from(`${JSON.stringify(errors ? { ...rest, errors } : rest)}}`);
}

const EMPTY = Buffer.alloc(0);

/** One event's `payload` JSON for one selection (UTF-8, with the message's closing `}`), shared by every subscriber of that selection. */
interface SharedResult {
  payload: Buffer;
  /** False while an async resolver runs; subscribers then wait in `waiting`. */
  settled: boolean;
  failure: { error: unknown } | undefined;
  waiting: Subscription[] | undefined;
}

interface Outbox {
  socket: SubscriberSocket;
  transport: SubscriptionTarget['transport'];
  /** Messages waiting, two parts each: the subscription's prefix and the shared payload. */
  parts: Buffer[];
  /** In the queue of outboxes to write. */
  queued: boolean;
}

/**
 * One subscription of one socket: what graphql-ws iterates (it yields nothing, and ends when the source stream
 * ends, once all of its messages were written) and what the source stream's events are handed to.
 */
class Subscription implements AsyncIterableIterator<never> {
  /** Results this subscription waits for, in order: only while the first is still executing. */
  private waitingFor: SharedResult[] = [];
  private ending: { error?: unknown } | undefined;
  private ended = false;
  private returned = false;
  private waiter: { resolve: (step: IteratorResult<never>) => void; reject: (error: unknown) => void } | undefined;
  private readonly fanOut: SubscriptionFanOut;
  private readonly box: Outbox;
  private readonly prefix: Buffer;
  private readonly args: ExecutionArgs;
  private readonly key: string;
  private readonly stream: AsyncIterableIterator<unknown>;

  constructor(fanOut: SubscriptionFanOut, box: Outbox, target: SubscriptionTarget, args: ExecutionArgs, stream: AsyncIterableIterator<unknown>) {
    this.fanOut = fanOut;
    this.box = box;
    this.prefix = Buffer.from(`{"id":${JSON.stringify(target.id)},"type":"next","payload":`);
    this.args = args;
    this.key = target.key;
    this.stream = stream;
  }

  start() {
    if (isEventStream(this.stream)) return this.stream.listen(this.deliver, this.end);
    void (async () => {
      try {
        for (;;) {
          const step = await this.stream.next();
          if (step.done) break;
          this.deliver(step.value);
        }
        this.end();
      } catch (error) {
        this.end(error);
      }
    })();
  }

  /** One event of the source: its message is queued for the socket (behind any still executing). */
  readonly deliver = (event: unknown) => {
    if (this.returned || this.ending) return;
    const result = this.fanOut.result(this.args, this.key, event);
    if (!this.waitingFor.length && result.settled) return this.send(result);
    this.waitingFor.push(result);
    if (!result.settled) (result.waiting ??= []).push(this);
  };

  /** The source ended (with the error that broke it): graphql-ws hears it once every message is written. */
  readonly end = (error?: unknown) => {
    if (this.ending) return;
    this.ending = { error };
    if (!this.waitingFor.length) this.close();
  };

  /** A result it waited for is settled: what is ready goes out, in order. */
  advance() {
    while (this.waitingFor.length && this.waitingFor[0]!.settled) {
      if (!this.send(this.waitingFor.shift()!)) return;
    }
    if (!this.waitingFor.length && this.ending) this.close();
  }

  private send(result: SharedResult): boolean {
    if (result.failure) {
      this.waitingFor = [];
      this.ending = { error: result.failure.error };
      void Promise.resolve(this.stream.return?.()).catch(() => undefined);
      this.close();
      return false;
    }
    if (!this.returned) this.fanOut.enqueue(this.box, this.prefix, result.payload);
    return true;
  }

  private close() {
    if (this.ended) return;
    this.ended = true;
    // Everything the stream produced is written before graphql-ws hears it ended (and sends `complete`).
    this.fanOut.writeNow(this.box);
    this.settle();
  }

  private settle() {
    if (!this.waiter || !this.ended) return;
    const { resolve, reject } = this.waiter;
    this.waiter = undefined;
    const error = this.ending?.error;
    if (error !== undefined && !this.returned) reject(error);
    else resolve(DONE);
  }

  next(): Promise<IteratorResult<never>> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.settle();
    });
  }

  async return(): Promise<IteratorResult<never>> {
    this.returned = true;
    this.waitingFor = [];
    this.ending ??= {};
    this.ended = true;
    this.waiter?.resolve(DONE);
    this.waiter = undefined;
    // Not awaited: an async generator waiting for its next event would answer only after that event.
    void Promise.resolve(this.stream.return?.()).catch(() => undefined);
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export class SubscriptionFanOut {
  /** event → selection key → its `payload` JSON. */
  private readonly results = new WeakMap<object, Map<string, SharedResult>>();
  /** The last event asked for and its results: every subscriber asks for the same event in turn. */
  private lastEvent: object | undefined;
  private lastResults: Map<string, SharedResult> | undefined;
  private readonly outboxes = new WeakMap<SubscriberSocket, Outbox>();
  private queue: Outbox[] = [];
  private head = 0;
  private scheduled = false;
  private readonly sliceMs: number;
  private readonly maxBufferedBytes: number;
  private readonly onSlowSocket: FanOutOptions['onSlowSocket'];
  /** Messages sent, the writes that carried them, sockets dropped for not reading. */
  readonly stats = { messages: 0, writes: 0, dropped: 0 };

  constructor(options: FanOutOptions = {}) {
    this.sliceMs = options.sliceMs ?? 10;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.onSlowSocket = options.onSlowSocket;
  }

  /**
   * graphql-ws's `subscribe`: the subscription's source stream is opened (as `subscribe` in graphql-js does, with
   * its errors returned as a result), and its events go straight to the target's socket. graphql-ws gets an
   * iterator that yields nothing and ends when the stream does (graphql-ws then sends `complete`, or `error` when
   * it broke), after every message of it was written; its `return()` (the client's `complete`, a closed socket)
   * ends the stream.
   */
  async subscribe(args: ExecutionArgs, target: SubscriptionTarget): Promise<AsyncIterableIterator<never> | ExecutionResult> {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in Object(source))) return masked(source as ExecutionResult);
    const subscription = new Subscription(this, this.outbox(target), target, args, source as AsyncIterableIterator<unknown>);
    subscription.start();
    return subscription;
  }

  /** The event's `payload` JSON for this selection: executed by its first subscriber, reused by the others. */
  result(args: ExecutionArgs, key: string, event: unknown): SharedResult {
    if (typeof event !== 'object' || event === null) return this.execute(args, event);
    let byKey = event === this.lastEvent ? this.lastResults : this.results.get(event);
    if (!byKey) {
      byKey = new Map();
      this.results.set(event, byKey);
    }
    this.lastEvent = event;
    this.lastResults = byKey;
    let result = byKey.get(key);
    if (!result) {
      result = this.execute(args, event);
      byKey.set(key, result);
    }
    return result;
  }

  private execute(args: ExecutionArgs, event: unknown): SharedResult {
    const shared: SharedResult = { payload: EMPTY, settled: true, failure: undefined, waiting: undefined };
    try {
      const result = execute({ ...args, rootValue: event });
      if (typeof (result as Partial<PromiseLike<ExecutionResult>>).then !== 'function') {
        shared.payload = serialise(result as ExecutionResult);
        return shared;
      }
      // Resolvers that answer later (graphql-shield's rules, for one): every subscriber waits for this one run.
      shared.settled = false;
      Promise.resolve(result)
        .then(serialise)
        .then(
          (payload) => (shared.payload = payload),
          (error: unknown) => (shared.failure = { error }),
        )
        .then(() => {
          shared.settled = true;
          const waiting = shared.waiting;
          shared.waiting = undefined;
          for (const subscription of waiting ?? []) subscription.advance();
        });
    } catch (error) {
      shared.failure = { error };
    }
    return shared;
  }

  private outbox(target: SubscriptionTarget): Outbox {
    let box = this.outboxes.get(target.socket);
    if (!box) {
      box = { socket: target.socket, transport: target.transport, parts: [], queued: false };
      this.outboxes.set(target.socket, box);
    }
    return box;
  }

  enqueue(box: Outbox, prefix: Buffer, payload: Buffer) {
    box.parts.push(prefix, payload);
    if (box.queued) return;
    box.queued = true;
    this.queue.push(box);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /** Writes queued sockets in order, a slice at a time; a socket queued again meanwhile goes to the back. */
  private readonly drain = () => {
    this.scheduled = false;
    const deadline = performance.now() + this.sliceMs;
    let written = 0;
    while (this.head < this.queue.length) {
      const box = this.queue[this.head++]!;
      box.queued = false;
      this.writeNow(box);
      if ((++written & 63) === 0 && performance.now() > deadline) break;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      return;
    }
    if (this.head > 4096) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.scheduled = true;
    setImmediate(this.drain);
  };

  /**
   * The socket's waiting messages, framed here (RFC 6455: unmasked text frames from a server) into one buffer and
   * written in one call: one system call for all of them, where `ws`'s `send` makes one per message and re-encodes
   * the payload for each socket. Safe beside `ws`'s own writes (graphql-ws's acks, `complete`, pongs): both go to the
   * same connection in call order, and `ws` holds nothing back while permessage-deflate is off.
   */
  writeNow(box: Outbox) {
    const parts = box.parts;
    if (!parts.length) return;
    box.parts = [];
    const socket = box.socket;
    if (socket.readyState !== OPEN) return;
    const buffered = socket.bufferedAmount;
    if (buffered > this.maxBufferedBytes) {
      this.stats.dropped++;
      this.onSlowSocket?.(socket, buffered);
      socket.terminate();
      return;
    }
    let size = 0;
    for (let i = 0; i < parts.length; i += 2) {
      const length = parts[i]!.length + parts[i + 1]!.length;
      size += length + (length < 126 ? 2 : length < 65_536 ? 4 : 10);
    }
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < parts.length; i += 2) {
      const prefix = parts[i]!;
      const payload = parts[i + 1]!;
      const length = prefix.length + payload.length;
      out[at++] = 0x81; // FIN, text
      if (length < 126) out[at++] = length;
      else if (length < 65_536) {
        out[at++] = 126;
        at = out.writeUInt16BE(length, at);
      } else {
        out[at++] = 127;
        at = out.writeUInt32BE(Math.floor(length / 2 ** 32), at);
        at = out.writeUInt32BE(length >>> 0, at);
      }
      at += prefix.copy(out, at);
      at += payload.copy(out, at);
    }
    this.stats.messages += parts.length / 2;
    this.stats.writes++;
    box.transport.write(out);
  }
}
