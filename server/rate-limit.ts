import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type DefinitionNode, GraphQLError, Kind, type OperationDefinitionNode, type SelectionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Core } from '../src/core.ts';
import { AppError } from '../src/services/errors.ts';
import type { RouteLimit } from '../rest-compat/compat.common.ts';

/**
 * Requests per second per client, counted in Redis so that every API process shares them: a global limit on
 * every compat route and GraphQL mutation, and tighter ones on the expensive routes (the media API document's).
 */
export class RateLimits {
  private readonly global: RateLimiterRedis;
  /** All clients together: the media API document's "Global: 500 requisições/segundo" is the server's. */
  private readonly server: RateLimiterRedis;
  private readonly routes: Record<RouteLimit, RateLimiterRedis>;
  private readonly onStoreError: (error: unknown) => void;

  constructor(core: Core, onStoreError: (error: unknown) => void) {
    this.onStoreError = onStoreError;
    const limiter = (name: string, points: number) =>
      new RateLimiterRedis({ storeClient: core.redis, keyPrefix: `${core.config.QUEUE_PREFIX}:ratelimit:${name}`, points, duration: core.config.RATE_LIMIT_WINDOW_SECONDS });
    this.global = limiter('global', core.config.RATE_LIMIT_GLOBAL);
    this.server = limiter('server', core.config.RATE_LIMIT_SERVER);
    this.routes = {
      comfyExecute: limiter('comfy-execute', core.config.RATE_LIMIT_COMFY_EXECUTE),
      generateImage: limiter('generate-image', core.config.RATE_LIMIT_GENERATE_IMAGE),
      generateVideo: limiter('generate-video', core.config.RATE_LIMIT_GENERATE_VIDEO),
    };
  }

  /** A client is its credential (hashed) when it sends one, else its address. */
  static clientKey(authorization: string | null | undefined, ip: string | undefined): string {
    // The credential itself, as auth reads it: "bearer  X" and "Bearer X" are one client, not two buckets.
    const credential = authorization?.trim().replace(/^bearer\s+/i, '');
    return credential ? createHash('sha256').update(credential).digest('hex').slice(0, 32) : `ip:${ip ?? 'unknown'}`;
  }

  /** Counts one request; throws RATE_LIMITED (with retryAfterSeconds) when a limit is spent. */
  async consume(client: string, routes: readonly RouteLimit[] = []): Promise<void> {
    try {
      // A route named n times (n aliased mutations) spends n points.
      const counts = new Map<RouteLimit, number>();
      for (const route of routes) counts.set(route, (counts.get(route) ?? 0) + 1);
      // Sent together, so the limits cost one round trip to Redis rather than one each.
      await Promise.all([
        this.server.consume('all'),
        this.global.consume(client),
        ...[...counts].map(([route, points]) => this.routes[route].consume(client, points)),
      ]);
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        const retryAfterSeconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
        throw new AppError('RATE_LIMITED', `Too many requests; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
      }
      // Redis trouble must not take the API down with it: the request goes through unlimited.
      this.onStoreError(error);
    }
  }
}

/** Counts every request to a route that names a compat family, before its handler (and its body) runs. */
export function registerRateLimitHook(app: FastifyInstance, limits: RateLimits) {
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (!config?.family) return;
    await limits.consume(RateLimits.clientKey(request.headers.authorization, request.ip), config.rateLimit ? [config.rateLimit] : []);
  });
}

/** GraphQL mutations that count against the REST routes' limits. */
const MUTATION_LIMITS: Record<string, RouteLimit> = {
  generateImage: 'generateImage',
  generateBatch: 'generateImage',
  generateVideo: 'generateVideo',
  upscaleImage: 'generateImage',
  generateTalkingHead: 'generateVideo',
  executeComfyWorkflow: 'comfyExecute',
  executeSavedWorkflow: 'comfyExecute',
};

/** The root fields an operation runs, once per occurrence, through named and inline fragments. */
export function rootFieldNames(operation: OperationDefinitionNode, definitions: readonly DefinitionNode[]): string[] {
  const fragments = new Map(definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const names: string[] = [];
  const walk = (selections: readonly SelectionNode[], seen: Set<string>) => {
    for (const selection of selections) {
      if (selection.kind === Kind.FIELD) names.push(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet.selections, seen);
      else if (!seen.has(selection.name.value)) {
        const fragment = fragments.get(selection.name.value);
        // Validation refuses fragment cycles; `seen` guards the walk all the same.
        if (fragment) walk(fragment.selectionSet.selections, new Set([...seen, selection.name.value]));
      }
    }
  };
  walk(operation.selectionSet.selections, new Set());
  return names;
}

/** GraphQL mutations spend the same budgets as the REST routes (queries and subscriptions do not). */
export function useRateLimit(limits: RateLimits): Plugin {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const operation = args.document.definitions.find(
        (d: DefinitionNode): d is OperationDefinitionNode =>
          d.kind === Kind.OPERATION_DEFINITION && (!args.operationName || d.name?.value === args.operationName),
      );
      if (operation?.operation !== 'mutation') return;
      // Every root field the mutation runs counts, however aliases and fragments wrap it: 50 aliased
      // generateImage fields are 50 generations, not one request.
      const routes = rootFieldNames(operation, args.document.definitions).flatMap((name) => (MUTATION_LIMITS[name] ? [MUTATION_LIMITS[name]] : []));
      const context = args.contextValue as { req?: { ip?: string }; request?: Request; connectionParams?: Record<string, unknown> };
      const overWs = context.connectionParams?.authorization ?? context.connectionParams?.Authorization;
      const authorization = context.request?.headers.get('authorization') ?? (typeof overWs === 'string' ? overWs : null);
      const client = RateLimits.clientKey(authorization, context.req?.ip);
      try {
        await limits.consume(client, routes);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        const retryAfter = String(error.details?.retryAfterSeconds ?? 1);
        setResultAndStopExecution({
          errors: [
            new GraphQLError(error.message, {
              extensions: { code: error.code, ...error.details, http: { status: 429, headers: { 'retry-after': retryAfter } } },
            }),
          ],
        });
      }
    },
  };
}
