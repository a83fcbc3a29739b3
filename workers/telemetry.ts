import { type ChildProcess, execFile, spawn } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { GpuSample, SystemSample } from '../src/services/worker-registry.service.ts';

const run = promisify(execFile);
const MIB = 1024 * 1024;

export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,name,memory.total,memory.used,temperature.gpu,utilization.gpu,power.draw',
  '--format=csv,noheader,nounits',
];

const number = (value: string | undefined) => {
  const parsed = Number.parseFloat(value ?? '');
  // nvidia-smi prints "[N/A]" or "[Not Supported]" for fields a board lacks.
  return Number.isFinite(parsed) ? parsed : null;
};

/** Parses `nvidia-smi --format=csv,noheader,nounits` rows; memory comes in MiB and leaves in bytes. */
export function parseNvidiaSmiCsv(text: string): GpuSample[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter((fields) => fields.length >= 7 && number(fields[0]) !== null)
    .map(([index, name, total, used, temperature, utilization, power]) => ({
      id: number(index)!,
      name: name!,
      totalVram: (number(total) ?? 0) * MIB,
      usedVram: (number(used) ?? 0) * MIB,
      temperature: number(temperature),
      utilization: number(utilization),
      powerDraw: number(power),
    }));
}

/** One sample of the GPUs nvidia-smi reports; none (no driver, no binary, an error) is an empty list, not a failure. */
export async function sampleGpus(timeoutMs = 2_000): Promise<GpuSample[]> {
  try {
    const { stdout } = await run('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: timeoutMs });
    return parseNvidiaSmiCsv(stdout);
  } catch {
    return [];
  }
}

export interface GpuMonitor {
  /** The latest sample of each GPU, by index; GPUs not heard from for `staleMs` are left out. */
  latest(): GpuSample[];
  /** Settles at the first rows, when nvidia-smi is found missing, or after firstSampleWaitMs (2 s), whichever comes first. */
  firstSample: Promise<void>;
  stop(): void;
}

/**
 * Keeps one `nvidia-smi … -lms <interval>` running and reads its rows as they come, instead of starting
 * nvidia-smi every interval: each start loads NVML afresh and forks the worker, costing CPU the jobs need.
 * When nvidia-smi is absent or exits, it is tried again after `retryMs`; meanwhile the list is empty.
 */
export function startGpuMonitor({
  intervalMs,
  retryMs = 30_000,
  staleMs = Math.max(3 * intervalMs, 3_000),
  firstSampleWaitMs = 2_000,
}: {
  intervalMs: number;
  retryMs?: number;
  staleMs?: number;
  firstSampleWaitMs?: number;
}): GpuMonitor {
  const samples = new Map<number, { sample: GpuSample; at: number }>();
  let child: ChildProcess | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  let firstSettled: () => void = () => undefined;
  const firstSample = new Promise<void>((resolve) => {
    firstSettled = resolve;
    setTimeout(resolve, firstSampleWaitMs).unref();
  });

  const launch = () => {
    if (stopped) return;
    const current = spawn('nvidia-smi', [...NVIDIA_SMI_ARGS, '-lms', String(intervalMs)], { stdio: ['ignore', 'pipe', 'ignore'] });
    child = current;
    createInterface({ input: current.stdout! }).on('line', (line) => {
      for (const sample of parseNvidiaSmiCsv(line)) samples.set(sample.id, { sample, at: Date.now() });
      firstSettled();
    });
    let over = false;
    const relaunchLater = () => {
      firstSettled();
      if (over) return;
      over = true;
      if (!stopped) retry = setTimeout(launch, retryMs).unref();
    };
    current.on('error', relaunchLater);
    current.on('exit', relaunchLater);
  };
  launch();

  return {
    firstSample,
    latest: () => {
      const fresh = Date.now() - staleMs;
      return [...samples.values()].filter((s) => s.at >= fresh).map((s) => s.sample).sort((a, b) => a.id - b.id);
    },
    stop: () => {
      stopped = true;
      clearTimeout(retry);
      child?.kill();
    },
  };
}

/** Host RAM and CPU use; CPU % is measured between consecutive calls. */
export function createSystemSampler(): () => SystemSample {
  let previous = cpuTimes();
  return () => {
    const current = cpuTimes();
    const busy = current.busy - previous.busy;
    const total = current.total - previous.total;
    previous = current;
    const totalRam = os.totalmem();
    return { totalRam, usedRam: totalRam - os.freemem(), cpuPercent: total > 0 ? Math.round((busy / total) * 1000) / 10 : 0 };
  };
}

function cpuTimes() {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}
