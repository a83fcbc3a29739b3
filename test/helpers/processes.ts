import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningProcess {
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts a real Atelier process (API or worker) and resolves once it reports ready over IPC. */
export function startProcess(script: string, env: Record<string, string>, timeoutMs = 30_000): Promise<RunningProcess> {
  const child = fork(`${root}/${script}`, [], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const handle: RunningProcess = {
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not ready in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('message', () => {
      clearTimeout(timer);
      resolve(handle);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

export interface RunningSystem {
  url: string;
  wsUrl: string;
  api: RunningProcess;
  worker: RunningProcess;
  stop(): Promise<void>;
}

/** The real API on a free port and one real worker process, sharing the test's environment. */
export async function startSystem(env: Record<string, string>): Promise<RunningSystem> {
  const { api, port } = await startApi(env);
  // The worker builds result URLs from HOST and PORT, so it starts once the API's port is known.
  const worker = await startProcess('workers/main.ts', { ...env, PORT: String(port), HOST: '127.0.0.1' }).catch(async (error) => {
    await api.stop();
    throw error;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    api,
    worker,
    stop: async () => {
      await Promise.all([api.stop(), worker.stop()]);
    },
  };
}

/**
 * The API on a free port. Test files run in parallel processes, so a port found free can be taken before the
 * API binds it; then another port is tried.
 */
export async function startApi(env: Record<string, string>, attempts = 5): Promise<{ api: RunningProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await getPort({ host: '127.0.0.1' });
    try {
      const api = await startProcess('server/main.ts', { ...env, PORT: String(port), HOST: '127.0.0.1' });
      return { api, port };
    } catch (error) {
      if (attempt >= attempts || !String((error as Error).message).includes('EADDRINUSE')) throw error;
    }
  }
}
