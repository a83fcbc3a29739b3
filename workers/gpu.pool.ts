import { AppError } from '../src/services/errors.ts';
import type { Allocation } from '../src/services/worker-registry.service.ts';

export interface Device {
  /** "cuda:0", or "cpu" when the CPU execution provider runs the models. */
  id: string;
  memoryBytes: number;
  maxConcurrent: number;
}

export interface Lease {
  device: Device;
  release(): void;
}

interface Waiter {
  jobId: string;
  bytes: number;
  preference: string | null;
  resolve(lease: Lease): void;
  reject(error: unknown): void;
}

const gb = (bytes: number) => `${Math.round((bytes / 1024 ** 3) * 10) / 10} GB`;

/**
 * Shares the worker's devices among jobs: a job waits until a device has both a free slot and room in
 * its memory budget; a job no device could ever hold fails at once rather than waiting forever.
 */
export class GpuPool {
  readonly devices: readonly Device[];
  private readonly held = new Map<string, { jobs: number; bytes: number }>();
  private readonly leases: Allocation[] = [];
  private readonly waiting: Waiter[] = [];

  constructor(devices: Device[]) {
    if (!devices.length) throw new Error('GpuPool needs at least one device');
    this.devices = devices;
    for (const d of devices) this.held.set(d.id, { jobs: 0, bytes: 0 });
  }

  allocations(): Allocation[] {
    return [...this.leases];
  }

  acquire(jobId: string, bytes: number, options: { preference?: string | null; signal?: AbortSignal } = {}): Promise<Lease> {
    const largest = Math.max(...this.devices.map((d) => d.memoryBytes));
    if (bytes > largest) {
      const what = this.devices.every((d) => d.id === 'cpu') ? 'the CPU memory budget is' : 'largest GPU has';
      return Promise.reject(new AppError('RESOURCE_ERROR', `insufficient VRAM: needs ${gb(bytes)}, ${what} ${gb(largest)}`));
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) {
          this.waiting.splice(index, 1);
          reject(signal!.reason);
        }
      };
      const waiter: Waiter = {
        jobId,
        bytes,
        preference: options.preference ?? null,
        resolve: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
        reject,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.dispatch();
    });
  }

  private fits(device: Device, bytes: number) {
    const held = this.held.get(device.id)!;
    return held.jobs < device.maxConcurrent && held.bytes + bytes <= device.memoryBytes;
  }

  /** First come, first served, but a small job may pass a big one that is waiting for room. */
  private dispatch() {
    for (const waiter of [...this.waiting]) {
      const candidates = this.devices.filter((d) => this.fits(d, waiter.bytes));
      const device = candidates.find((d) => d.id === waiter.preference) ?? candidates[0];
      if (!device) continue;
      this.waiting.splice(this.waiting.indexOf(waiter), 1);
      const held = this.held.get(device.id)!;
      held.jobs++;
      held.bytes += waiter.bytes;
      const allocation = { jobId: waiter.jobId, device: device.id, vramBytes: waiter.bytes };
      this.leases.push(allocation);
      let released = false;
      waiter.resolve({
        device,
        release: () => {
          if (released) return;
          released = true;
          held.jobs--;
          held.bytes -= waiter.bytes;
          this.leases.splice(this.leases.indexOf(allocation), 1);
          this.dispatch();
        },
      });
    }
  }
}
