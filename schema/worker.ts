import { Repeater } from '@repeaterjs/repeater';
import type { Allocation, GpuSample, ModelInfo, SystemSample, WorkerState, WorkerStatus } from '../src/services/worker-registry.service.ts';
import { builder } from './builder.ts';

const ModelRef = builder.objectRef<ModelInfo>('Model').implement({
  description: 'A local model pack (MODELS_DIR) that one or more live workers have.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Pass as `model` on a request.' }),
    kind: t.exposeString('kind', { description: 'STABLE_DIFFUSION, SDXL, UPSCALE or VOICE.' }),
    sizeBytes: t.exposeFloat('sizeBytes', { description: 'Size of the pack on disk.' }),
    vramBytes: t.exposeFloat('vramBytes', { description: 'Memory a job with it reserves: declared by the pack or estimated.' }),
    details: t.field({ type: 'JSON', description: 'scheduler, predictionType, img2img; scale; sampleRate, language.', resolve: (m) => m.details }),
    workers: t.exposeStringList('workers', { description: 'Ids of the live workers that have it.' }),
  }),
});

const GpuRef = builder.objectRef<GpuSample & { workerId?: string }>('Gpu').implement({
  fields: (t) => ({
    id: t.exposeInt('id', { description: 'nvidia-smi index on its worker.' }),
    name: t.exposeString('name'),
    workerId: t.string({ nullable: true, resolve: (g) => g.workerId ?? null }),
    totalVram: t.exposeFloat('totalVram', { description: 'Bytes.' }),
    usedVram: t.exposeFloat('usedVram', { description: 'Bytes.' }),
    temperature: t.exposeFloat('temperature', { nullable: true, description: '°C.' }),
    utilization: t.exposeFloat('utilization', { nullable: true, description: 'Percent.' }),
    powerDraw: t.exposeFloat('powerDraw', { nullable: true, description: 'Watts.' }),
  }),
});

const SystemRef = builder.objectRef<SystemSample>('SystemResources').implement({
  fields: (t) => ({
    totalRam: t.exposeFloat('totalRam', { description: 'Bytes, summed over live workers.' }),
    usedRam: t.exposeFloat('usedRam', { description: 'Bytes, summed over live workers.' }),
    cpuPercent: t.exposeFloat('cpuPercent', { description: 'Busiest worker host.' }),
  }),
});

const AllocationRef = builder.objectRef<Allocation & { workerId?: string }>('Allocation').implement({
  description: 'Memory a running job holds on a device of the GPU pool.',
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    workerId: t.string({ nullable: true, resolve: (a) => a.workerId ?? null }),
    device: t.exposeString('device', { description: '"cuda:N", or "cpu" under the CPU execution provider.' }),
    vramBytes: t.exposeFloat('vramBytes'),
  }),
});

interface Resources {
  gpus: (GpuSample & { workerId: string })[];
  system: SystemSample;
  allocations: (Allocation & { workerId: string })[];
  at: string;
}

const ResourcesRef = builder.objectRef<Resources>('Resources').implement({
  fields: (t) => ({
    gpus: t.field({ type: [GpuRef], resolve: (r) => r.gpus }),
    system: t.field({ type: SystemRef, resolve: (r) => r.system }),
    allocations: t.field({ type: [AllocationRef], resolve: (r) => r.allocations }),
    at: t.field({ type: 'DateTime', resolve: (r) => new Date(r.at) }),
  }),
});

const WorkerRef = builder.objectRef<WorkerState & { status: WorkerStatus }>('Worker').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'host:pid.' }),
    host: t.exposeString('host'),
    pid: t.exposeInt('pid'),
    engines: t.exposeStringList('engines'),
    executionProvider: t.exposeString('executionProvider', { nullable: true, description: 'cuda or cpu, for workers with the onnx engine.' }),
    executionProviderNote: t.exposeString('executionProviderNote', { nullable: true, description: 'Why that provider: the setting, or the fallback and its cause.' }),
    gpus: t.field({ type: [GpuRef], resolve: (w) => w.gpus }),
    system: t.field({ type: SystemRef, resolve: (w) => w.system }),
    models: t.stringList({ resolve: (w) => w.models.map((m) => m.name) }),
    runningJobs: t.exposeStringList('runningJobs'),
    allocations: t.field({ type: [AllocationRef], resolve: (w) => w.allocations }),
    modelLoadsMs: t.field({ type: 'JSON', description: 'Recent session loads: [{key, ms}].', resolve: (w) => w.modelLoads }),
    startedAt: t.field({ type: 'DateTime', resolve: (w) => new Date(w.startedAt) }),
    lastHeartbeat: t.field({ type: 'DateTime', resolve: (w) => new Date(w.lastHeartbeat) }),
    status: t.exposeString('status', { description: 'ONLINE, or LOST when its heartbeats stopped.' }),
  }),
});

builder.queryField('models', (t) =>
  t.field({ type: [ModelRef], description: 'Local model packs of the live workers.', resolve: (_root, _args, ctx) => ctx.core.workers.models() }),
);

builder.queryField('workers', (t) =>
  t.field({ type: [WorkerRef], description: 'Worker processes from their heartbeats, lost ones included.', resolve: (_root, _args, ctx) => ctx.core.workers.list() }),
);

builder.queryField('resources', (t) =>
  t.field({ type: ResourcesRef, description: "The live workers' GPUs, host figures and GPU pool allocations now.", resolve: (_root, _args, ctx) => ctx.core.workers.resources() }),
);

builder.subscriptionField('gpuTelemetry', (t) =>
  t.field({
    type: ResourcesRef,
    description: 'The `resources` snapshot once a second.',
    subscribe: (_root, _args, ctx) =>
      new Repeater<Resources>(async (push, stop) => {
        const tick = async () => push(await ctx.core.workers.resources());
        await tick();
        const timer = setInterval(() => void tick().catch((error) => stop(error)), 1000);
        await stop;
        clearInterval(timer);
      }),
    resolve: (snapshot) => snapshot,
  }),
);
