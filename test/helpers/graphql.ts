import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown } }[];
}

/** POSTs an operation over real HTTP. */
export async function gql<T, V>(
  url: string,
  document: TypedDocumentNode<T, V> | string,
  variables?: V,
  token?: string,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: typeof document === 'string' ? document : print(document), variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

export function wsClient(wsUrl: string, token?: string, { lazy = true } = {}): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    // Not lazy: one socket kept open across subscriptions, as a long-lived client holds it.
    lazy,
  });
}

/** Collects every event of a subscription until it completes or errors. */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown>, onEvent?: (event: T) => void) {
  const events: T[] = [];
  const done = new Promise<T[]>((resolve, reject) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) return reject(Object.assign(new Error(result.errors[0]!.message), { errors: result.errors }));
          events.push(result.data as T);
          onEvent?.(result.data as T);
        },
        error: (error) => reject(error instanceof Error ? error : Object.assign(new Error('subscription error'), { cause: error })),
        complete: () => resolve(events),
      },
    );
  });
  return { events, done };
}
