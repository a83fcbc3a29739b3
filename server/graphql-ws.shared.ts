import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult, GraphQLError } from 'graphql';
import { maskError } from '../schema/errors.ts';

/**
 * Subscription results shared by every subscriber of the same selection. PubSub parses a message once and
 * hands the same event object to every listener, so (event, selection) identifies one result: it is executed
 * once per process, not once per subscriber. Visibility is settled before this point (each subscriber's source
 * stream yields only events its caller may see), and no field of an event resolves differently per caller.
 */
const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

const UNEXPECTED = 'Unexpected error.';

function masked(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map((error) => maskError(error, UNEXPECTED) as GraphQLError) };
}

/** The selection's identity: its text, operation and variables. */
export const selectionKey = (params: { query: string; operationName?: string | null; variables?: unknown }) =>
  `${params.operationName ?? ''}\u0000${JSON.stringify(params.variables ?? null)}\u0000${params.query}`;

export async function subscribeShared(args: ExecutionArgs, key: string): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in Object(source))) return masked(source as ExecutionResult);
  const events = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const run = (event: unknown) => Promise.resolve(execute({ ...args, rootValue: event })).then(masked);
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const step = await events.next();
      if (step.done) return { done: true, value: undefined };
      const event = step.value;
      if (typeof event !== 'object' || event === null) return { done: false, value: await run(event) };
      let byKey = results.get(event);
      if (!byKey) {
        byKey = new Map();
        results.set(event, byKey);
      }
      let result = byKey.get(key);
      if (!result) {
        result = run(event);
        byKey.set(key, result);
      }
      return { done: false, value: await result };
    },
    async return() {
      await events.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
