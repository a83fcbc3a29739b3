import { rootFieldNames } from './rate-limit.ts';
import type { FastifyInstance } from 'fastify';
import { type DefinitionNode, Kind, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Core } from '../src/core.ts';
import { ENGINE_FAMILIES } from '../src/queue/queue.names.ts';
import { countWorkers } from '../src/services/health.service.ts';
import type { GpuSample } from '../src/services/worker-registry.service.ts';

/**
 * Prometheus metrics of one API process. Request and operation counts are this process's own; job, queue and
 * worker figures are read from Postgres and Redis at scrape time, so every API process reports the same system.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly graphqlOperations: Counter<'type' | 'name'>;

  constructor(core: Core) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'atelier_' });
    this.httpDuration = new Histogram({
      name: 'atelier_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.graphqlOperations = new Counter({
      name: 'atelier_graphql_operations_total',
      help: 'GraphQL operations executed, by type and (first) root field',
      labelNames: ['type', 'name'],
      registers: [registry],
    });
    const db = () => core.orm.em.fork().getConnection();
    new Gauge({
      name: 'atelier_jobs',
      help: 'Jobs by kind and status',
      labelNames: ['kind', 'status'],
      registers: [registry],
      async collect() {
        this.reset();
        const rows = await db().execute<{ kind: string; status: string; n: number }[]>(
          'select kind, status, count(*)::int as n from jobs group by kind, status',
        );
        for (const row of rows) this.set({ kind: row.kind, status: row.status }, Number(row.n));
      },
    });
    new Gauge({
      name: 'atelier_job_cost_total',
      help: 'Spend recorded on jobs (provider cost), by engine',
      labelNames: ['engine'],
      registers: [registry],
      async collect() {
        this.reset();
        const rows = await db().execute<{ engine: string | null; cost: number }[]>(
          'select engine, coalesce(sum(cost), 0)::float as cost from jobs group by engine',
        );
        for (const row of rows) this.set({ engine: row.engine ?? 'builtin' }, Number(row.cost));
      },
    });
    new Gauge({
      name: 'atelier_job_queue_wait_seconds',
      help: 'Mean time jobs started in the last 5 minutes waited in the queue',
      registers: [registry],
      async collect() {
        const [row] = await db().execute<{ wait: number | null }[]>(
          `select avg(extract(epoch from (started_at - created_at)))::float as wait from jobs where started_at > now() - interval '5 minutes'`,
        );
        this.set(Number(row?.wait ?? 0));
      },
    });
    new Gauge({
      name: 'atelier_queue_depth',
      help: 'Entries in each engine family queue, by state',
      labelNames: ['engine', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const engine of ENGINE_FAMILIES) {
          const counts = await core.queues.get(engine).getJobCounts('waiting', 'prioritized', 'active', 'delayed');
          for (const [state, n] of Object.entries(counts)) this.set({ engine, state }, n);
        }
      },
    });
    new Gauge({
      name: 'atelier_workers_alive',
      help: 'Workers connected to the generation queues',
      registers: [registry],
      async collect() {
        this.set((await countWorkers(core)).total);
      },
    });
    const gpuGauge = (name: string, help: string, value: (gpu: GpuSample) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['worker', 'gpu', 'name'],
        registers: [registry],
        async collect() {
          this.reset();
          for (const worker of await core.workers.list()) {
            if (worker.status !== 'ONLINE') continue;
            for (const gpu of worker.gpus) {
              const v = value(gpu);
              if (v !== null) this.set({ worker: worker.id, gpu: String(gpu.id), name: gpu.name }, v);
            }
          }
        },
      });
    gpuGauge('atelier_gpu_memory_used_bytes', 'GPU memory in use, from worker heartbeats', (g) => g.usedVram);
    gpuGauge('atelier_gpu_memory_total_bytes', 'GPU memory, from worker heartbeats', (g) => g.totalVram);
    gpuGauge('atelier_gpu_utilization_percent', 'GPU utilisation, from worker heartbeats', (g) => g.utilization);
    gpuGauge('atelier_gpu_temperature_celsius', 'GPU temperature, from worker heartbeats', (g) => g.temperature);
    gpuGauge('atelier_gpu_power_watts', 'GPU power draw, from worker heartbeats', (g) => g.powerDraw);
    new Gauge({
      name: 'atelier_provider_cache_hit_ratio',
      help: 'Hit rate of the provider image cache',
      registers: [registry],
      async collect() {
        this.set((await core.providers.cacheStats()).hitRate);
      },
    });
  }

  /** graphql-ws delivery: `next` messages, the socket writes that carried them (a burst shares one), sockets dropped. */
  countFanOut(stats: Readonly<{ messages: number; writes: number; dropped: number }>) {
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counter('atelier_graphql_ws_messages_total', 'Subscription messages (next) sent over graphql-ws', () => stats.messages);
    counter('atelier_graphql_ws_writes_total', 'Socket writes that carried them: messages waiting for one socket leave in one write', () => stats.writes);
    counter('atelier_graphql_ws_dropped_sockets_total', 'graphql-ws sockets dropped because they stopped reading their messages', () => stats.dropped);
  }
}

/** Times every HTTP request by its route pattern (not its URL, so ids do not explode the label set). */
export function registerMetricsRoute(app: FastifyInstance, metrics: ApiMetrics) {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  const schema = {
    tags: ['Video platform (003)'],
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    security: [],
    response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
  };
  app.get('/metrics', { schema }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

export function useOperationMetrics(metrics: ApiMetrics): Plugin {
  return {
    onExecute({ args }) {
      const operation = args.document.definitions.find(
        (d: DefinitionNode): d is OperationDefinitionNode =>
          d.kind === Kind.OPERATION_DEFINITION && (!args.operationName || d.name?.value === args.operationName),
      );
      // Labelled by the root field it runs, never by the name a client chose: the label set stays as small as
      // the schema (client-chosen names grew /metrics without bound).
      const type = operation?.operation ?? 'unknown';
      const root = type === 'query' ? args.schema.getQueryType() : type === 'mutation' ? args.schema.getMutationType() : args.schema.getSubscriptionType();
      const known = root?.getFields() ?? {};
      const fields = operation ? rootFieldNames(operation, args.document.definitions).filter((name) => name in known).sort() : [];
      metrics.graphqlOperations.inc({ type, name: fields[0] ?? 'other' });
    },
  };
}
