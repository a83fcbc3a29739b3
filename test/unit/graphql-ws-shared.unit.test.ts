import { EventEmitter, on } from 'node:events';
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { selectionKey, subscribeShared } from '../../server/graphql-ws.shared.ts';

describe('subscription results shared across subscribers', () => {
  it('executes each event once per distinct selection, however many subscribe, and each still gets every event', async () => {
    const hub = new EventEmitter();
    let resolved = 0;
    const Event = new GraphQLObjectType({
      name: 'Event',
      fields: {
        n: { type: GraphQLInt },
        label: { type: GraphQLString, resolve: (e: { n: number }) => (resolved++, `event ${e.n}`) },
      },
    });
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
      subscription: new GraphQLObjectType({
        name: 'Subscription',
        fields: {
          events: {
            type: Event,
            subscribe: async function* () {
              for await (const [event] of on(hub, 'event')) yield event;
            },
            resolve: (event: unknown) => event,
          },
        },
      }),
    });
    const subscribe = async (query: string) => {
      const result = await subscribeShared({ schema, document: parse(query) }, selectionKey({ query }));
      return result as AsyncIterableIterator<{ data: { events: { n: number; label: string } } }>;
    };
    const same = 'subscription { events { n label } }';
    const subscribers = await Promise.all([subscribe(same), subscribe(same), subscribe(same), subscribe('subscription { events { label } }')]);
    const received = subscribers.map((s) => Promise.all([s.next(), s.next()]));
    // Give every generator the turn it needs to start listening.
    await new Promise((resolve) => setImmediate(resolve));
    hub.emit('event', { n: 1 });
    hub.emit('event', { n: 2 });
    const results = await Promise.all(received);
    expect(results.slice(0, 3).map((steps) => steps.map((s) => s.value.data.events))).toEqual(
      Array.from({ length: 3 }, () => [
        { n: 1, label: 'event 1' },
        { n: 2, label: 'event 2' },
      ]),
    );
    expect(results[3]!.map((s) => s.value.data.events)).toEqual([{ label: 'event 1' }, { label: 'event 2' }]);
    // Two events × two distinct selections, not × four subscribers.
    expect(resolved).toBe(4);
    await Promise.all(subscribers.map((s) => s.return?.()));
  });
});
