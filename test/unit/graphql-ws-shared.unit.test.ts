import { EventEmitter, on } from 'node:events';
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { selectionKey, SubscriptionFanOut, type SubscriberSocket } from '../../server/graphql-ws.shared.ts';
import { EventQueue } from '../../src/pubsub/event-stream.ts';

/** A socket that records the frames written to it, and in how many writes. */
class FakeSocket implements SubscriberSocket {
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  writes = 0;
  terminated = false;
  readonly transport = {
    write: (data: Uint8Array) => {
      this.writes++;
      // Unmasked frames, as a server sends them: FIN + text, then the length in 7, 7+16 or 7+64 bits.
      const buffer = Buffer.from(data);
      for (let at = 0; at < buffer.length; ) {
        expect(buffer[at]).toBe(0x81);
        let length = buffer[at + 1]!;
        at += 2;
        if (length === 126) {
          length = buffer.readUInt16BE(at);
          at += 2;
        } else if (length === 127) {
          length = Number(buffer.readBigUInt64BE(at));
          at += 8;
        }
        this.sent.push(buffer.subarray(at, at + length).toString('utf8'));
        at += length;
      }
    },
  };
  terminate() {
    this.terminated = true;
    this.readyState = 3;
  }
  messages() {
    return this.sent.map((text) => JSON.parse(text) as { id: string; type: string; payload: { data: { events: Record<string, unknown> } } });
  }
}

type Source = AsyncIterable<unknown>;

/** A schema with one subscription field, `events`, whose source `open` makes; `label` counts its resolutions. */
function schemaFor(open: () => Source, label: (n: number) => string | Promise<string> = (n) => `event ${n}`) {
  const counter = { resolved: 0 };
  const Event = new GraphQLObjectType({
    name: 'Event',
    fields: {
      n: { type: GraphQLInt },
      label: { type: GraphQLString, resolve: (e: { n: number }) => (counter.resolved++, label(e.n)) },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: { events: { type: Event, subscribe: open, resolve: (event: unknown) => event } },
    }),
  });
  return { schema, counter };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function subscribe(fanOut: SubscriptionFanOut, schema: GraphQLSchema, socket: FakeSocket, id: string, query: string) {
  const hold = await fanOut.subscribe({ schema, document: parse(query) }, { socket, transport: socket.transport, id, key: selectionKey({ query }) });
  return hold as AsyncIterableIterator<never>;
}

describe('subscription fan-out (graphql-ws.shared.ts)', () => {
  it('executes each event once per distinct selection, however many subscribe, and each still gets every event', async () => {
    const hub = new EventEmitter();
    const { schema, counter } = schemaFor(async function* () {
      for await (const [event] of on(hub, 'event')) yield event;
    });
    const fanOut = new SubscriptionFanOut();
    const same = 'subscription { events { n label } }';
    const sockets = Array.from({ length: 4 }, () => new FakeSocket());
    const holds = await Promise.all(sockets.map((socket, i) => subscribe(fanOut, schema, socket, `s${i}`, i < 3 ? same : 'subscription { events { label } }')));
    // Give every generator the turn it needs to start listening.
    await turn();
    hub.emit('event', { n: 1 });
    hub.emit('event', { n: 2 });
    await turn();
    await turn();
    for (const [i, socket] of sockets.slice(0, 3).entries()) {
      expect(socket.messages()).toEqual([
        { id: `s${i}`, type: 'next', payload: { data: { events: { n: 1, label: 'event 1' } } } },
        { id: `s${i}`, type: 'next', payload: { data: { events: { n: 2, label: 'event 2' } } } },
      ]);
    }
    expect(sockets[3]!.messages().map((m) => m.payload.data.events)).toEqual([{ label: 'event 1' }, { label: 'event 2' }]);
    // Two events × two distinct selections, not × four subscribers.
    expect(counter.resolved).toBe(4);
    await Promise.all(holds.map((hold) => hold.return?.()));
  });

  it('pushes events of a listenable source to every subscriber in one pass, a socket’s burst in one write', async () => {
    const sources: EventQueue<{ n: number }>[] = [];
    const { schema, counter } = schemaFor(() => {
      const queue = new EventQueue<{ n: number }>();
      sources.push(queue);
      return queue;
    });
    const fanOut = new SubscriptionFanOut();
    const query = 'subscription { events { n label } }';
    const sockets = Array.from({ length: 50 }, () => new FakeSocket());
    const holds = await Promise.all(sockets.map((socket) => subscribe(fanOut, schema, socket, '1', query)));
    const nexts = holds.map((hold) => hold.next());
    for (const n of [1, 2, 3]) {
      const event = { n };
      for (const source of sources) source.push(event);
    }
    // Nothing is written in the pass that delivered the events: the socket's messages wait for one write.
    expect(sockets[0]!.sent).toEqual([]);
    await turn();
    for (const socket of sockets) {
      expect(socket.messages().map((m) => m.payload.data.events.n)).toEqual([1, 2, 3]);
      expect(socket.writes).toBe(1);
    }
    expect(counter.resolved).toBe(3);
    // The stream ends: graphql-ws hears it (and sends `complete`) only after its last message was written.
    sources[0]!.push({ n: 4 });
    sources[0]!.end();
    expect(await nexts[0]).toEqual({ value: undefined, done: true });
    expect(sockets[0]!.messages().map((m) => m.payload.data.events.n)).toEqual([1, 2, 3, 4]);
    // A stream that broke: its error reaches graphql-ws (which sends `error`).
    sources[1]!.end(new Error('broken'));
    await expect(nexts[1]).rejects.toThrow('broken');
    // The client's `complete` (or its socket closing): the source is returned, the waiting `next` ends.
    await holds[2]!.return!();
    expect(await nexts[2]).toEqual({ value: undefined, done: true });
    expect(sources[2]!.closed).toBe(true);
    await Promise.all(holds.slice(3).map((hold) => hold.return?.()));
  });

  it('keeps each subscriber’s order when a result is executed asynchronously', async () => {
    const source = new EventQueue<{ n: number }>();
    const { schema } = schemaFor(
      () => source,
      (n) => (n === 1 ? new Promise((resolve) => setTimeout(() => resolve('slow'), 20)) : `fast ${n}`),
    );
    const fanOut = new SubscriptionFanOut();
    const socket = new FakeSocket();
    const hold = await subscribe(fanOut, schema, socket, 'a', 'subscription { events { n label } }');
    const end = hold.next();
    source.push({ n: 1 });
    source.push({ n: 2 });
    source.end();
    await end;
    expect(socket.messages().map((m) => m.payload.data.events)).toEqual([
      { n: 1, label: 'slow' },
      { n: 2, label: 'fast 2' },
    ]);
  });

  it('frames messages of every size, counting bytes rather than characters', async () => {
    const source = new EventQueue<{ n: number }>();
    const labels = ['é ✓', 'ü'.repeat(100), 'é'.repeat(40_000)];
    const { schema } = schemaFor(() => source, (n) => labels[n]!);
    const fanOut = new SubscriptionFanOut();
    const socket = new FakeSocket();
    const hold = await subscribe(fanOut, schema, socket, 'big', 'subscription { events { label } }');
    for (const n of [0, 1, 2]) source.push({ n });
    await turn();
    expect(socket.messages().map((m) => m.payload.data.events.label)).toEqual(labels);
    expect(socket.writes).toBe(1);
    expect(fanOut.stats).toMatchObject({ messages: 3, writes: 1 });
    await hold.return?.();
  });

  it('drops a socket that stopped reading instead of queueing for it without end', async () => {
    const source = new EventQueue<{ n: number }>();
    const { schema } = schemaFor(() => source);
    const slow: number[] = [];
    const fanOut = new SubscriptionFanOut({ maxBufferedBytes: 1000, onSlowSocket: (_socket, bytes) => slow.push(bytes) });
    const socket = new FakeSocket();
    const hold = await subscribe(fanOut, schema, socket, 'a', 'subscription { events { n } }');
    socket.bufferedAmount = 5000;
    source.push({ n: 1 });
    await turn();
    expect(socket.terminated).toBe(true);
    expect(socket.sent).toEqual([]);
    expect(slow).toEqual([5000]);
    await hold.return?.();
  });
});
