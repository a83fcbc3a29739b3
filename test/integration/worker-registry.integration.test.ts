import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import type { WorkerState } from '../../src/services/worker-registry.service.ts';
import { testCore } from '../helpers/env.ts';

const state = (id: string, secondsAgo: number, models: WorkerState['models'] = []): WorkerState => ({
  id,
  host: 'box',
  pid: 1,
  engines: ['builtin', 'onnx'],
  executionProvider: 'cpu',
  executionProviderNote: 'ONNX_EXECUTION_PROVIDER=cpu',
  gpus: [{ id: 0, name: 'GPU', totalVram: 8e9, usedVram: 1e9, temperature: 50, utilization: 10, powerDraw: null }],
  system: { totalRam: 16e9, usedRam: 4e9, cpuPercent: 20 },
  models,
  runningJobs: [],
  allocations: [{ jobId: 'j1', device: 'cuda:0', vramBytes: 2e9 }],
  modelLoads: [],
  startedAt: new Date().toISOString(),
  lastHeartbeat: new Date(Date.now() - secondsAgo * 1000).toISOString(),
});

const sd = { name: 'sd15', kind: 'STABLE_DIFFUSION' as const, sizeBytes: 1, vramBytes: 1, details: {} };

describe('worker registry (real Redis)', () => {
  let core: Core;
  beforeAll(async () => {
    core = await testCore();
  });
  afterAll(() => core?.close());

  it('marks a worker lost when its heartbeats stop, hides its models and resources, and forgets it later', async () => {
    const now = await core.workers.now();
    await core.workers.publish(state('live:1', 0, [sd]));
    await core.workers.publish(state('quiet:2', 6, [{ ...sd, name: 'only-on-lost' }]), now - 6_000);
    await core.workers.publish(state('gone:3', 11 * 60), now - 11 * 60_000);
    const workers = await core.workers.list();
    expect(workers.map((w) => [w.id, w.status])).toEqual([
      ['live:1', 'ONLINE'],
      ['quiet:2', 'LOST'],
    ]);
    expect((await core.workers.models()).map((m) => [m.name, m.workers])).toEqual([['sd15', ['live:1']]]);
    const resources = await core.workers.resources();
    expect(resources.gpus.map((g) => g.workerId)).toEqual(['live:1']);
    expect(resources.allocations).toEqual([{ jobId: 'j1', device: 'cuda:0', vramBytes: 2e9, workerId: 'live:1' }]);
    await expect(core.workers.requireModel('only-on-lost', ['STABLE_DIFFUSION'], 'model')).rejects.toThrow('Unknown model "only-on-lost". Available: sd15');
    await core.workers.remove('live:1');
    expect((await core.workers.list()).map((w) => w.id)).toEqual(['quiet:2']);
  });

  it("judges beats by Redis's clock: a worker whose own clock is an hour behind is online", async () => {
    await core.workers.publish(state('skewed:4', 3600));
    const skewed = (await core.workers.list()).find((w) => w.id === 'skewed:4')!;
    expect(skewed.status).toBe('ONLINE');
    expect(Math.abs(Date.parse(skewed.lastHeartbeat) - (await core.workers.now()))).toBeLessThan(60_000);
  });
});
