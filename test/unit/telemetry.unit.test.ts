import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createSystemSampler, parseNvidiaSmiCsv, sampleGpus, startGpuMonitor } from '../../workers/telemetry.ts';

const fakeDir = fileURLToPath(new URL('../fakes/nvidia-smi', import.meta.url));
const MIB = 1024 * 1024;
const originalPath = process.env.PATH;
const until = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('GPU telemetry', () => {
  afterEach(() => {
    process.env.PATH = originalPath;
  });

  it('parses captured nvidia-smi CSV, memory in bytes and [N/A] as null', () => {
    const gpus = parseNvidiaSmiCsv(readFileSync(path.join(fakeDir, 'captured.csv'), 'utf8'));
    expect(gpus).toEqual([
      { id: 0, name: 'NVIDIA GeForce RTX 3090', totalVram: 24576 * MIB, usedVram: 1843 * MIB, temperature: 47, utilization: 12, powerDraw: 112.35 },
      { id: 1, name: 'NVIDIA GeForce RTX 3060', totalVram: 12288 * MIB, usedVram: 11020 * MIB, temperature: 71, utilization: 98, powerDraw: null },
    ]);
    expect(parseNvidiaSmiCsv('')).toEqual([]);
    expect(parseNvidiaSmiCsv('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n')).toEqual([]);
  });

  it('parses the output of a real H100 (captured on a lent GPU machine with the same query)', () => {
    const gpus = parseNvidiaSmiCsv(readFileSync(path.join(fakeDir, 'h100.csv'), 'utf8'));
    expect(gpus).toEqual([
      { id: 0, name: 'NVIDIA H100 80GB HBM3', totalVram: 81559 * MIB, usedVram: 0, temperature: 35, utilization: 0, powerDraw: 126.36 },
    ]);
  });

  it('runs nvidia-smi from PATH, and an absent one is an empty list', async () => {
    chmodSync(path.join(fakeDir, 'nvidia-smi'), 0o755);
    process.env.PATH = `${fakeDir}:${originalPath}`;
    expect((await sampleGpus()).map((g) => g.id)).toEqual([0, 1]);
    process.env.PATH = '/nonexistent';
    expect(await sampleGpus()).toEqual([]);
  });

  it('keeps one nvidia-smi looping and follows its rows as they change; stop ends it', async () => {
    chmodSync(path.join(fakeDir, 'nvidia-smi'), 0o755);
    process.env.PATH = `${fakeDir}:${originalPath}`;
    const csv = path.join(mkdtempSync(path.join(tmpdir(), 'atelier-smi-')), 'gpus.csv');
    copyFileSync(path.join(fakeDir, 'captured.csv'), csv);
    process.env.FAKE_NVIDIA_SMI_CSV = csv;
    const starts = path.join(path.dirname(csv), 'starts');
    process.env.FAKE_NVIDIA_SMI_STARTS = starts;
    const monitor = startGpuMonitor({ intervalMs: 200, staleMs: 1_000 });
    try {
      await monitor.firstSample;
      expect(monitor.latest()).toHaveLength(2);
      expect(monitor.latest().map((g) => [g.id, g.utilization])).toEqual([
        [0, 12],
        [1, 98],
      ]);
      // The same process, read again a loop later: GPU 0 got busy and GPU 1 stopped reporting.
      writeFileSync(csv, '0, NVIDIA GeForce RTX 3090, 24576, 20000, 80, 100, 350.00\n');
      await until(() => monitor.latest()[0]?.utilization === 100);
      await until(() => monitor.latest().length === 1, 3_000);
      // All of it from one nvidia-smi, started once, not one per interval.
      expect(readFileSync(starts, 'utf8').trim().split('\n')).toEqual(['start']);
      // Stopped, nothing more is read: a running loop would have printed 55 within one interval.
      monitor.stop();
      writeFileSync(csv, '0, NVIDIA GeForce RTX 3090, 24576, 20000, 80, 55, 350.00\n');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(monitor.latest().map((g) => g.utilization)).toEqual([100]);
    } finally {
      monitor.stop();
      delete process.env.FAKE_NVIDIA_SMI_CSV;
      delete process.env.FAKE_NVIDIA_SMI_STARTS;
    }
  });

  it('reports no GPUs, without failing, where nvidia-smi is absent', async () => {
    process.env.PATH = '/nonexistent';
    // A first-row wait far beyond the test's own time limit: firstSample can only settle by nvidia-smi being missing.
    const monitor = startGpuMonitor({ intervalMs: 50, retryMs: 50, firstSampleWaitMs: 600_000 });
    await monitor.firstSample;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(monitor.latest()).toEqual([]);
    monitor.stop();
  });

  it('samples host RAM and CPU percent', () => {
    const sample = createSystemSampler();
    const first = sample();
    expect(first.totalRam).toBeGreaterThan(first.usedRam);
    expect(first.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(first.cpuPercent).toBeLessThanOrEqual(100);
  });
});
