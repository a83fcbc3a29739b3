import { describe, expect, it } from 'vitest';
import { EventQueue, filterStream } from '../../src/pubsub/event-stream.ts';

describe('EventQueue', () => {
  it('is pulled in order, buffering what arrives before a pull, and ends once', async () => {
    let returned = 0;
    const queue = new EventQueue<number>(() => returned++);
    queue.push(1);
    queue.push(2);
    expect(await queue.next()).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
    // A pull waiting before the event arrives gets it.
    const third = queue.next();
    queue.push(3);
    expect(await third).toEqual({ value: 3, done: false });
    const waiting = queue.next();
    await queue.return();
    await queue.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(returned).toBe(1);
  });

  it('pushes to a listener, what was buffered first, and tells it of the end and its error', () => {
    const queue = new EventQueue<number>();
    queue.push(1);
    const seen: number[] = [];
    const ends: unknown[] = [];
    queue.listen((n) => seen.push(n), (error) => ends.push(error));
    queue.push(2);
    expect(seen).toEqual([1, 2]);
    const broken = new Error('broken');
    queue.end(broken);
    queue.push(3);
    expect(seen).toEqual([1, 2]);
    expect(ends).toEqual([broken]);
  });

  it('rejects a pull with the error that ended it, after what was buffered', async () => {
    const queue = new EventQueue<number>();
    queue.push(1);
    queue.end(new Error('broken'));
    expect(await queue.next()).toEqual({ value: 1, done: false });
    await expect(queue.next()).rejects.toThrow('broken');
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it('ends the stream of a listener that throws, and only that one', () => {
    const queue = new EventQueue<number>();
    const ends: unknown[] = [];
    queue.listen(() => {
      throw new Error('listener failed');
    }, (error) => ends.push(error));
    queue.push(1);
    expect(queue.closed).toBe(true);
    expect(String(ends[0])).toContain('listener failed');
  });
});

describe('filterStream', () => {
  it('keeps what the predicate accepts, pulled or pushed', async () => {
    const pulled = new EventQueue<number>();
    const evens = filterStream(pulled, (n) => n % 2 === 0);
    for (const n of [1, 2, 3, 4]) pulled.push(n);
    expect(await evens.next()).toEqual({ value: 2, done: false });
    expect(await evens.next()).toEqual({ value: 4, done: false });
    await evens.return!();
    expect(pulled.closed).toBe(true);

    const pushed = new EventQueue<number>();
    const seen: number[] = [];
    let ended = false;
    filterStream(pushed, (n) => n > 1).listen((n) => seen.push(n), () => (ended = true));
    for (const n of [1, 2, 3]) pushed.push(n);
    pushed.end();
    expect(seen).toEqual([2, 3]);
    expect(ended).toBe(true);
  });
});
