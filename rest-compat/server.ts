import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { createContext } from '../schema/context.ts';
import { maskError } from '../schema/errors.ts';
import { schema } from '../schema/index.ts';
import type { Core } from '../src/core.ts';
import { registerFileRoutes } from './files.routes.ts';
import { registerHealthRoutes } from './health.routes.ts';

interface ServerContext {
  req?: FastifyRequest;
  reply?: FastifyReply;
  request?: Request;
  connectionParams?: Record<string, unknown>;
}

function authorizationOf(initial: ServerContext): string | null {
  const header = initial.request?.headers.get('authorization');
  if (header) return header;
  const params = initial.connectionParams ?? {};
  const value = params.authorization ?? params.Authorization;
  return typeof value === 'string' ? value : null;
}

export interface AtelierServer {
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Fastify hosting graphql-yoga at /graphql, graphql-ws on the same port and path, and the REST routes. */
export async function buildServer(core: Core, logger: Logger): Promise<AtelierServer> {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: 10 * 1024 * 1024,
  });

  const yoga = createYoga<ServerContext>({
    schema,
    graphqlEndpoint: '/graphql',
    logging: {
      debug: (...args) => logger.debug(args),
      info: (...args) => logger.info(args),
      warn: (...args) => logger.warn(args),
      error: (...args) => logger.error(args),
    },
    context: (initial) => createContext(core, authorizationOf(initial)),
    maskedErrors: { maskError },
    graphiql: core.config.GRAPHIQL ? { title: 'Atelier', subscriptionsProtocol: 'WS' } : false,
    // Inlines GraphiQL's assets, so the page works without reaching a CDN.
    renderGraphiQL,
    landingPage: false,
  });

  // Multipart bodies (GraphQL uploads) are read by yoga itself, not by Fastify.
  app.addContentTypeParser('multipart/form-data', {}, (_request, _payload, done) => done(null));

  app.route({
    url: yoga.graphqlEndpoint,
    method: ['GET', 'POST', 'OPTIONS'],
    handler: async (req, reply) => {
      const response = await yoga.handleNodeRequestAndResponse(req, reply, { req, reply });
      response.headers.forEach((value, key) => void reply.header(key, value));
      reply.status(response.status);
      reply.send(response.body);
      return reply;
    },
  });

  registerHealthRoutes(app, core);
  registerFileRoutes(app, core);

  const wss = new WebSocketServer({ server: app.server, path: yoga.graphqlEndpoint });
  useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onConnect: async (ctx) => {
        // A wrong credential closes the socket at once; no credential is an anonymous connection.
        try {
          await createContext(core, authorizationOf({ connectionParams: ctx.connectionParams }));
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: async (ctx, _id, params) => {
        const { schema: enveloped, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          connectionParams: ctx.connectionParams,
          params,
        });
        const args = {
          schema: enveloped,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );

  return {
    app,
    async close() {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await app.close();
    },
  };
}
