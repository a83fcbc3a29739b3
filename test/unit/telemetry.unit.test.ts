import { chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createSystemSampler, parseNvidiaSmiCsv, sampleGpus } from '../../workers/telemetry.ts';

const fakeDir = fileURLToPath(new URL('../fakes/nvidia-smi', import.meta.url));
const MIB = 1024 * 1024;
const originalPath = process.env.PATH;

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

  it('samples host RAM and CPU percent', () => {
    const sample = createSystemSampler();
    const first = sample();
    expect(first.totalRam).toBeGreaterThan(first.usedRam);
    expect(first.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(first.cpuPercent).toBeLessThanOrEqual(100);
  });
});
