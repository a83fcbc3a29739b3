import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from 'pino';

export interface SupervisorOptions {
  name: string;
  /** Absolute path of the service's entry file. */
  script: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** First restart delay; it doubles with each crash in a row, up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** More than this many crashes within windowMs is a crash loop: the service is left down. */
  maxCrashes?: number;
  windowMs?: number;
  /** Runs after the process is gone and before it is started again (remove what the dead process left behind). */
  afterCrash?: (pid: number) => Promise<void>;
  /** The crash loop gave up on this service. */
  onGiveUp?: (message: string) => void;
}

/**
 * Keeps one service process running: a process that exits on its own (crash, kill -9, OOM) is started again
 * after a growing delay, and the other services never notice. A service that keeps crashing is left down with a
 * message saying so, rather than restarted for ever.
 */
export class Supervisor {
  private child: ChildProcess | undefined;
  private stopping = false;
  private crashes: number[] = [];
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly options: Required<Omit<SupervisorOptions, 'afterCrash' | 'onGiveUp'>> & Pick<SupervisorOptions, 'afterCrash' | 'onGiveUp'>;
  restarts = 0;
  gaveUp = false;

  constructor(options: SupervisorOptions) {
    this.options = { initialBackoffMs: 500, maxBackoffMs: 30_000, maxCrashes: 5, windowMs: 60_000, ...options };
    this.backoffMs = this.options.initialBackoffMs;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the service; resolves once it first reports ready, rejects if it crash-loops before ever being ready. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => this.spawn(resolve, reject));
  }

  private spawn(ready?: () => void, failed?: (error: Error) => void) {
    const { name, script, cwd, env, logger } = this.options;
    const child = fork(script, [], { cwd, env, stdio: 'inherit' });
    this.child = child;
    const startedAt = Date.now();
    child.once('message', () => {
      logger.info({ service: name, servicePid: child.pid }, `${name} ready`);
      ready?.();
      ready = undefined;
    });
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      // Up for a whole window: the next crash starts the backoff afresh.
      if (Date.now() - startedAt > this.options.windowMs) this.backoffMs = this.options.initialBackoffMs;
      const now = Date.now();
      this.crashes = [...this.crashes.filter((t) => now - t < this.options.windowMs), now];
      if (this.crashes.length > this.options.maxCrashes) {
        this.gaveUp = true;
        const message =
          `${name} crashed ${this.crashes.length} times within ${Math.round(this.options.windowMs / 1000)} s; ` +
          `not restarting it again (the other services keep running). See its log above for the cause.`;
        logger.error({ service: name, code, signal }, message);
        this.options.onGiveUp?.(message);
        failed?.(new Error(message));
        return;
      }
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs);
      logger.error({ service: name, servicePid: child.pid, code, signal, restartInMs: delay }, `${name} exited unexpectedly; restarting it`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        void (async () => {
          if (child.pid) await this.options.afterCrash?.(child.pid).catch((error) => logger.warn({ err: error, service: name }, 'cleanup after crash failed'));
          if (this.stopping) return;
          this.restarts++;
          this.spawn(ready, failed);
        })();
      }, delay);
    });
  }

  /** Stops the service (SIGTERM, SIGKILL after graceMs) and stops restarting it. */
  stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    return new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => {
        this.options.logger.warn({ pid: child.pid }, 'a service did not stop in 15 s; killed');
        child.kill('SIGKILL');
      }, graceMs).unref();
    });
  }
}
