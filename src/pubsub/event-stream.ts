/**
 * A live stream of events that its consumer may pull (an async iterator, as GraphQL subscriptions and `for await`
 * expect) or have pushed to it. Pushing is what lets one API process serve thousands of subscribers: an event is
 * handed to every listener in one synchronous pass, with no promise, queue or async step per subscriber.
 */
export interface EventStream<T> extends AsyncIterableIterator<T> {
  /**
   * From now on, hands each event to `sink` as it arrives (those already waiting first, at once), and calls `end`
   * once when the stream ends: with no argument when it finished or was returned, with the error that broke it.
   * A stream being listened to is not also iterated. A `sink` that throws ends the stream with that error.
   */
  listen(sink: (event: T) => void, end: (error?: unknown) => void): void;
}

export const isEventStream = (value: unknown): value is EventStream<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { listen?: unknown }).listen === 'function';

const DONE = Object.freeze({ value: undefined, done: true }) as IteratorReturnResult<undefined>;

/**
 * The events of one source, buffered until pulled or pushed at once to a listener. `push` adds one, `end` ends
 * the stream (with an error: the next pull rejects with it, a listener's `end` gets it); `onReturn` runs once,
 * when the stream ends for whatever reason (unsubscribe there).
 */
export class EventQueue<T> implements EventStream<T> {
  private buffer: T[] = [];
  private waiting: { resolve: (step: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private sink: ((event: T) => void) | undefined;
  private onEnd: ((error?: unknown) => void) | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private readonly onReturn: (() => unknown) | undefined;
  /** `onReturn`'s work (an UNSUBSCRIBE): `return()` resolves once it is done. */
  private returning: Promise<unknown> | undefined;

  constructor(onReturn?: () => unknown) {
    this.onReturn = onReturn;
  }

  get closed(): boolean {
    return this.ended;
  }

  push(event: T): void {
    if (this.ended) return;
    if (this.sink) {
      // A listener that throws ends its own stream, not the delivery to every other listener of the source.
      try {
        this.sink(event);
      } catch (error) {
        this.end(error);
      }
      return;
    }
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      return resolve({ value: event, done: false });
    }
    this.buffer.push(event);
  }

  /** Ends the stream; what was buffered is still delivered to a puller, then the end. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (error !== undefined) this.failure = { error };
    this.returning = Promise.resolve(this.onReturn?.()).catch(() => undefined);
    if (this.waiting) {
      const { resolve, reject } = this.waiting;
      this.waiting = undefined;
      if (this.failure) reject(this.failure.error);
      else resolve(DONE);
    }
    const onEnd = this.onEnd;
    this.onEnd = undefined;
    this.sink = undefined;
    onEnd?.(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.ended) {
      if (!this.failure) return Promise.resolve(DONE);
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<T>> {
    this.buffer = [];
    this.failure = undefined;
    this.end();
    await this.returning;
    return DONE;
  }

  listen(sink: (event: T) => void, end: (error?: unknown) => void): void {
    const buffered = this.buffer;
    this.buffer = [];
    for (const event of buffered) sink(event);
    if (this.ended) {
      const failure = this.failure;
      this.failure = undefined;
      return end(failure?.error);
    }
    this.sink = sink;
    this.onEnd = end;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** The events of `source` that `keep` accepts; pulled or pushed as `source` is. */
export function filterStream<T>(source: EventStream<T>, keep: (event: T) => boolean): EventStream<T> {
  const stream: EventStream<T> = {
    async next() {
      for (;;) {
        const step = await source.next();
        if (step.done || keep(step.value)) return step;
      }
    },
    return: async () => (await source.return?.()) ?? DONE,
    listen: (sink, end) => source.listen((event) => keep(event) && sink(event), end),
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}
