import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { createContext } from '../schema/context.ts';
import { maskError } from '../schema/errors.ts';
import { schema } from '../schema/index.ts';
import type { Core } from '../src/core.ts';
import { fileTooLarge } from '../src/services/upload.service.ts';
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

/** Fastify's limit for the bodies it parses itself (JSON); multipart bodies pass through to yoga. */
const BODY_LIMIT_BYTES = 10 * 1024 * 1024;
/** Room in a multipart body, beside the file, for the operation, the map and the part headers. */
const MULTIPART_OVERHEAD_BYTES = 1024 * 1024;

const isMultipart = (request: Request) => request.headers.get('content-type')?.toLowerCase().startsWith('multipart/form-data') ?? false;

const isBodyTooLarge = (error: unknown) =>
  error instanceof GraphQLError &&
  (error.extensions.code === 'REQUEST_ENTITY_TOO_LARGE' || /Request body too large|File size limit exceeded/.test(error.message));

/**
 * yoga reads a multipart body whole before any resolver runs, capped by its maxRequestBodySize. This refuses an
 * upload whose Content-Length is already over the cap before reading it, and gives every too-large refusal the
 * same BAD_USER_INPUT answer uploadAsset gives (with HTTP 413), rather than yoga's own REQUEST_ENTITY_TOO_LARGE.
 */
function useUploadSizeLimit(maxBytes: number): Plugin {
  const tooLarge = (midBody: boolean) => {
    const error = fileTooLarge(maxBytes);
    // A body refused before it is read is discarded by Node, and the connection lives on. One refused half-way
    // has its rest unread: closing the connection keeps that rest from being read as the next request.
    const headers: Record<string, string> = midBody ? { connection: 'close' } : {};
    const http = { status: 413, headers };
    return new GraphQLError(error.message, { extensions: { code: error.code, ...error.details, http } });
  };
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!isMultipart(request)) return;
      const length = Number(request.headers.get('content-length'));
      if (length > maxBytes + MULTIPART_OVERHEAD_BYTES) throw tooLarge(false);
      if (!requestParser) return;
      setRequestParser(async (req) => {
        try {
          return await requestParser(req);
        } catch (error) {
          throw isBodyTooLarge(error) ? tooLarge(true) : error;
        }
      });
    },
  };
}

export interface AtelierServer {
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Fastify hosting graphql-yoga at /graphql, graphql-ws on the same port and path, and the REST routes. */
export async function buildServer(core: Core, logger: Logger): Promise<AtelierServer> {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request lines would drown the job logs; errors are still logged by the handlers.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
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
    // Uploads (multipart) are bounded by UPLOAD_MAX_BYTES; JSON bodies are bounded by Fastify first.
    maxRequestBodySize: Math.max(BODY_LIMIT_BYTES, core.config.UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD_BYTES),
    plugins: [useUploadSizeLimit(core.config.UPLOAD_MAX_BYTES)],
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
