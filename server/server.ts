import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { contextFor, createContext } from '../schema/context.ts';
import { selectionKey, SubscriptionFanOut, type SubscriptionTarget } from './graphql-ws.shared.ts';
import type { Actor } from '../src/services/actor.ts';
import { maskError } from '../schema/errors.ts';
import { schema } from '../schema/index.ts';
import type { Core } from '../src/core.ts';
import { fileTooLarge } from '../src/services/upload.service.ts';
import { parseMultipartOperation, removeUploadTemps } from './graphql-uploads.ts';
import { registerDashboardRoutes } from './dashboard.routes.ts';
import { registerFileRoutes } from './files.routes.ts';
import { GRAPHIQL_DEFAULT_DOCUMENT } from './graphiql.document.ts';
import { registerHealthRoutes } from './health.routes.ts';
import { registerWebhookRoutes } from './webhooks.routes.ts';
import { registerTaskEventRoutes } from '../rest-compat/task-events.routes.ts';
import { documentSubmitExtras } from '../rest-compat/rest.submission.ts';
import { installCompatErrorHandler } from '../rest-compat/compat.common.ts';
import { corsOptions } from './cors.ts';
import { registerDocsPages } from './docs.routes.ts';
import { registerImageServiceRoutes } from '../rest-compat/image-service.routes.ts';
import { registerComfyRoutes, registerMediaApiRoutes } from '../rest-compat/media-api.routes.ts';
import { ApiMetrics, registerMetricsRoute, useOperationMetrics } from './metrics.ts';
import { registerScopeHook } from '../rest-compat/scope.hook.ts';
import { registerInputHygieneHook, useInputHygiene } from './input-hygiene.ts';
import { graphqlLimitPlugins } from './graphql-limits.ts';
import { SubscriptionGuard } from './subscription-guard.ts';
import { RateLimits, registerRateLimitHook, useRateLimit } from './rate-limit.ts';
import { baseUrlOf, runWithBaseUrl } from '../src/services/public-url.ts';
import { contractValidatorCompiler } from '../rest-compat/rest.contract.ts';
import { FAMILY_ERROR_SHAPES } from '../rest-compat/rest.errors.ts';
import { registerTalkingHeadRoutes } from '../rest-compat/talking-head.routes.ts';
import { registerVideoGeneratorRoutes } from '../rest-compat/video-generator.routes.ts';
import { registerVideoPlatformRoutes } from '../rest-compat/video-platform.routes.ts';

interface ServerContext {
  req?: FastifyRequest;
  upload?: ReadUpload;
  reply?: FastifyReply;
  request?: Request;
  connectionParams?: Record<string, unknown>;
  /** graphql-ws's context: the upgrade request the socket came in on. */
  extra?: { request?: { headers: { host?: string } } };
  /** The operation's payload; over graphql-ws, GraphiQL puts its header editor's headers in `extensions.headers`. */
  params?: { extensions?: Record<string, unknown> };
  /** Set for operations on a graphql-ws socket: the caller it authenticated as when it connected. */
  socketActor?: { actor: Actor | null };
}

/** The base URL the client used, over HTTP (yoga's request) or WebSocket (the upgrade request). */
function baseUrlOfInitial(core: Core, initial: ServerContext): string {
  if (initial.request) {
    const url = new URL(initial.request.url);
    return baseUrlOf(core.config, { protocol: url.protocol.slice(0, -1), host: url.host });
  }
  return baseUrlOf(core.config, { protocol: 'http', host: initial.extra?.request?.headers.host });
}

const authorizationIn = (record: unknown): string | null => {
  if (!record || typeof record !== 'object') return null;
  const value = (record as Record<string, unknown>).authorization ?? (record as Record<string, unknown>).Authorization;
  return typeof value === 'string' && value ? value : null;
};

/** The HTTP header, else the subscribe message's `extensions.headers` (GraphiQL), else the socket's connectionParams. */
function authorizationOf(initial: ServerContext): string | null {
  const header = initial.request?.headers.get('authorization');
  if (header) return header;
  return authorizationIn(initial.params?.extensions?.headers) ?? authorizationIn(initial.connectionParams);
}

/** How often open subscriptions' credentials are checked again (revocations are announced at once). */
const SUBSCRIPTION_RECHECK_MS = 3000;

/** Fastify's limit for the bodies it parses itself (JSON); multipart bodies are streamed (graphql-uploads.ts). */
const BODY_LIMIT_BYTES = 10 * 1024 * 1024;
/** Room in a multipart body, beside the file, for the operation, the map and the part headers. */
const MULTIPART_OVERHEAD_BYTES = 1024 * 1024;


/** A GraphQL multipart request read before yoga sees it: its operation with Files in place, or why not. */
type ReadUpload = { params: Record<string, unknown> } | { error: GraphQLError; bodyRead: 'none' | 'some' };

/**
 * GraphQL uploads are read from the raw request by our streaming parser (graphql-uploads.ts), file parts
 * straight to disk, before yoga runs (yoga would read the body into memory). A body whose Content-Length is
 * already over the cap is refused before it is read, one that passes it on the way is refused there, and a file
 * part over UPLOAD_MAX_BYTES once the body is read: all with the BAD_USER_INPUT uploadAsset gives, and HTTP 413.
 */
async function readUpload(req: FastifyRequest, maxBytes: number, tempDir: string): Promise<ReadUpload> {
  const tooLarge = (midBody: boolean) => {
    const error = fileTooLarge(maxBytes);
    // A body refused before it is read is discarded by Node, and the connection lives on. One refused half-way
    // has its rest unread: closing the connection keeps that rest from being read as the next request.
    const headers: Record<string, string> = midBody ? { connection: 'close' } : {};
    const http = { status: 413, headers };
    return new GraphQLError(error.message, { extensions: { code: error.code, ...error.details, http } });
  };
  if (Number(req.headers['content-length']) > maxBytes + MULTIPART_OVERHEAD_BYTES) return { error: tooLarge(false), bodyRead: 'none' };
  try {
    const options = {
      tempDir,
      maxFileBytes: maxBytes,
      maxBodyBytes: maxBytes + MULTIPART_OVERHEAD_BYTES,
      tooLarge,
      onStoreError: (error: unknown) => req.log.error({ err: error }, 'GraphQL upload could not be written to disk'),
    };
    return { params: await parseMultipartOperation(req.raw, req.headers['content-type'] ?? '', req, options) };
  } catch (error) {
    if (error instanceof GraphQLError) return { error, bodyRead: 'some' };
    throw error;
  }
}

/** Hands yoga the upload the route already read (see readUpload). */
const useReadUpload: Plugin<Record<string, unknown>, ServerContext> = {
  onRequestParse({ serverContext, setRequestParser }) {
    const upload = serverContext.upload;
    if (!upload) return;
    setRequestParser(() => {
      if ('error' in upload) throw upload.error;
      return upload.params;
    });
  },
};

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
    // A request (headers and body) must arrive within HTTP_REQUEST_TIMEOUT_MS: a body trickled a byte at a time
    // no longer holds a connection for ever. Idle keep-alive sockets close too.
    requestTimeout: core.config.HTTP_REQUEST_TIMEOUT_MS,
    // Also handed to Node's constructor, which then caps headersTimeout (60 s) at it: Fastify only sets the property
    // afterwards, and Node never enforces a requestTimeout shorter than headersTimeout. Node enforces it when it
    // sweeps its connections (every 30 s by default); sweeping at a quarter of it keeps a short timeout's overrun
    // proportionate.
    http: {
      requestTimeout: core.config.HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(core.config.HTTP_REQUEST_TIMEOUT_MS / 4))),
    },
    connectionTimeout: Math.max(core.config.HTTP_REQUEST_TIMEOUT_MS, (core.config.REST_SYNC_TIMEOUT_SECONDS + 30) * 1000),
  });
  // Each REST request's zod contract validates its body, query and params (rest.contract.ts); answers are plain
  // JSON, their schemas documentation only, so a field an answer schema forgets is never silently dropped.
  // REST handlers make stored `/files/…` paths absolute with the address this client used.
  app.addHook('preHandler', (request, _reply, done) => runWithBaseUrl(baseUrlOf(core.config, request), done));
  app.setValidatorCompiler(contractValidatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  const limits = new RateLimits(core, (error) => logger.warn({ err: error }, 'rate limiter store unavailable; request let through'));
  const metrics = new ApiMetrics(core);

  const yoga = createYoga<ServerContext>({
    schema,
    graphqlEndpoint: '/graphql',
    logging: {
      debug: (...args) => logger.debug(args),
      info: (...args) => logger.info(args),
      warn: (...args) => logger.warn(args),
      error: (...args) => logger.error(args),
    },
    // A socket's caller is reused unless the subscribe message carries its own header (GraphiQL's extensions.headers).
    context: (initial) =>
      initial.socketActor && !authorizationIn(initial.params?.extensions?.headers)
        ? contextFor(core, initial.socketActor.actor, baseUrlOfInitial(core, initial))
        : createContext(core, authorizationOf(initial), baseUrlOfInitial(core, initial)),
    maskedErrors: { maskError },
    graphiql: core.config.GRAPHIQL
      ? { title: 'Atelier', subscriptionsProtocol: 'WS', defaultQuery: GRAPHIQL_DEFAULT_DOCUMENT, defaultEditorToolsVisibility: 'headers' }
      : false,
    // Inlines GraphiQL's assets, so the page works without reaching a CDN.
    renderGraphiQL,
    landingPage: false,
    // CORS is @fastify/cors's, for /graphql as for the REST routes (CORS_ORIGINS).
    cors: false,
    plugins: [useInputHygiene(), ...graphqlLimitPlugins(core.config), useReadUpload, useOperationMetrics(metrics), useRateLimit(limits)],
  });

  // REST multipart routes (uploads of the compat documents) read their parts through @fastify/multipart.
  // One byte over the limit reaches the upload service, which refuses the file with its own message.
  await app.register(cors, corsOptions(core.config));
  // HTML forms and Python requests' `data=` send application/x-www-form-urlencoded wherever a document shows a form.
  await app.register(formbody);
  await app.register(multipart, { limits: { fileSize: core.config.UPLOAD_MAX_BYTES + 1, files: 4, fields: 20 } });

  await app.register(async (graphqlScope) => {
    graphqlScope.route({
      url: yoga.graphqlEndpoint,
      method: ['GET', 'POST'],
      handler: async (req, reply) => {
        let response: Response;
        let upload: ReadUpload | undefined;
        try {
          upload = req.method === 'POST' && req.isMultipart() ? await readUpload(req, core.config.UPLOAD_MAX_BYTES, core.uploads.tempDir) : undefined;
          response = await yoga.handleNodeRequestAndResponse(req, reply, { req, reply, upload });
        } finally {
          // The operation has run: its uploads' temp files go before the client hears back.
          await removeUploadTemps(req);
        }
        response.headers.forEach((value, key) => void reply.header(key, value));
        // A body refused part-way has its rest unread: it must not be taken for the next request on this connection.
        // (One not read at all is discarded by Node, and the connection lives on.)
        if (upload && 'error' in upload && upload.bodyRead === 'some' && !req.raw.complete) reply.header('connection', 'close');
        reply.status(response.status);
        reply.send(response.body);
        return reply;
      },
    });
  });

  app.addHook('onRoute', documentSubmitExtras);
  await registerApiDocs(app, core.config.publicUrl);
  registerDocsPages(app);
  installCompatErrorHandler(app, FAMILY_ERROR_SHAPES);
  registerRateLimitHook(app, limits);
  // Every REST dialect hands out result URLs in its own fields: they are signed on the way out, in one place.
  app.addHook('preSerialization', async (request, _reply, payload) => core.fileUrls.signAll(payload, baseUrlOf(core.config, request)));
  registerInputHygieneHook(app, yoga.graphqlEndpoint);
  registerScopeHook(app, core);
  registerMetricsRoute(app, metrics);
  registerHealthRoutes(app, core);
  registerFileRoutes(app, core);
  await registerDashboardRoutes(app);
  registerWebhookRoutes(app, core);
  registerMediaApiRoutes(app, core);
  registerComfyRoutes(app, core);
  registerTaskEventRoutes(app, core);
  registerTalkingHeadRoutes(app, core);
  registerVideoPlatformRoutes(app, core);
  registerVideoGeneratorRoutes(app, core);
  registerImageServiceRoutes(app, core);

  // No per-message compression: a subscriber's message is a few hundred bytes, and deflating each one per socket
  // would cost more than the bytes it saves on the way out.
  const wss = new WebSocketServer({ server: app.server, path: yoga.graphqlEndpoint, perMessageDeflate: false });
  const guard = new SubscriptionGuard(core, logger);
  await guard.start(SUBSCRIPTION_RECHECK_MS);
  const socketActors = new WeakMap<object, { actor: Actor | null; generation: number }>();
  const fanOut = new SubscriptionFanOut({
    onSlowSocket: (_socket, bytes) => logger.warn({ bufferedBytes: bytes }, 'graphql-ws subscriber not reading its messages; connection dropped'),
  });
  metrics.countFanOut(fanOut.stats);
  useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      // Executed and serialised once per event and distinct selection, whatever the number of subscribers; each
      // subscriber's message is written straight to its socket (graphql-ws.shared.ts).
      subscribe: (args: any) => fanOut.subscribe({ ...args, rootValue: undefined }, args.rootValue.target),
      onConnect: async (ctx) => {
        // Authenticated once per socket: its subscriptions reuse the caller. A wrong credential closes the socket
        // at once; no credential is an anonymous connection.
        try {
          const authorization = authorizationOf({ connectionParams: ctx.connectionParams });
          const generation = core.auth.cache.generation;
          const actor = await core.auth.authenticate(core.orm.em.fork(), authorization);
          socketActors.set(ctx, { actor, generation });
          guard.track(ctx.extra.socket, authorization);
          return true;
        } catch (error) {
          // A refused credential is the caller's (4403); anything else is ours, a database or Redis out of reach:
          // logged, and the socket told to come back later (1013) rather than that it is forbidden.
          if ((error as { code?: string }).code !== 'UNAUTHENTICATED') {
            logger.warn({ err: error }, 'graphql-ws connection could not be authenticated');
            ctx.extra.socket.close(1013, 'Service unavailable; try again later');
          }
          return false;
        }
      },
      onSubscribe: async (ctx, id, params) => {
        guard.track(ctx.extra.socket, authorizationIn(params.extensions?.headers));
        // A key revoked or a role changed since the socket connected: its caller is established again (from the cache).
        const known = socketActors.get(ctx);
        if (known && known.generation !== core.auth.cache.generation) {
          const generation = core.auth.cache.generation;
          try {
            socketActors.set(ctx, { actor: await core.auth.authenticate(core.orm.em.fork(), authorizationOf({ connectionParams: ctx.connectionParams })), generation });
          } catch (error) {
            return [maskError(error, 'Unexpected error.') as GraphQLError];
          }
        }
        const { schema: enveloped, execute, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          connectionParams: ctx.connectionParams,
          socketActor: socketActors.get(ctx),
          params,
        });
        const args = {
          schema: enveloped,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await Promise.resolve(contextFactory()).catch((error: unknown) => guard.refuse(ctx.extra.socket, error)),
          // Result URLs are made absolute on the host the client used: subscribers through other hosts share nothing.
          rootValue: {
            execute,
            target: {
              socket: ctx.extra.socket,
              transport: ctx.extra.request.socket,
              id,
              key: `${selectionKey(params)}|${ctx.extra.request.headers.host ?? ''}`,
            } satisfies SubscriptionTarget,
          },
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
      await guard.stop();
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await app.close();
    },
  };
}

const require = createRequire(import.meta.url);

/** OpenAPI 3 of every compat route at /openapi.json, Swagger UI at /docs and ReDoc at /redoc, all served locally. */
async function registerApiDocs(app: FastifyInstance, publicUrl: string) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Atelier REST compatibility',
        version: '1',
        description: 'The five documented REST APIs, served by Atelier. GraphQL is at /graphql.',
        license: { name: 'Proprietary', identifier: 'LicenseRef-Atelier' },
      },
      servers: [{ url: publicUrl, description: 'This server (PUBLIC_URL)' }],
      tags: [
        { name: 'Media API (000)', description: 'SDXL images, video, speech and JWT login' },
        { name: 'Media API (000) — ComfyUI', description: 'ComfyUI workflows, the workflow library and resources' },
        { name: 'Image service (001)', description: 'Paid image providers: fallback, costs, credits, batches, alerts' },
        { name: 'Talking head (002)', description: 'Hallo2 inference and task management' },
        { name: 'Video platform (003)', description: 'Images and videos with characters and project presets' },
        { name: 'Video generator (004)', description: 'Upload an image, then make a video of it' },
        { name: 'Atelier', description: 'Stored files and probes' },
      ],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A JWT from /v2/auth/login, an API key, or API_KEY' } } },
    },
    // Only the documented routes (they carry tags), not /graphql or the docs pages themselves.
    hideUntagged: true,
    // The contract markers are for our validator, not for readers.
    transform: ({ schema, url }) => ({ schema: stripMarkers(schema) as typeof schema, url }),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', async () => app.swagger());
  const redocScript = require.resolve('redoc/bundles/redoc.standalone.js');
  app.get('/redoc/redoc.standalone.js', async (_request, reply) =>
    reply.type('application/javascript').header('cache-control', 'public, max-age=86400').send(await readFile(redocScript)),
  );
  app.get('/redoc', async (_request, reply) =>
    reply
      .type('text/html')
      .send(
        '<!doctype html><html><head><meta charset="utf-8"><title>Atelier API — ReDoc</title></head>' +
          '<body><redoc spec-url="/openapi.json"></redoc><script src="/redoc/redoc.standalone.js"></script></body></html>',
      ),
  );
}

/** A copy of a route schema without the `x-contract` / `x-form` markers rest.contract.ts puts on it. */
function stripMarkers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripMarkers);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'x-contract' && key !== 'x-form').map(([key, inner]) => [key, stripMarkers(inner)]));
}
