import pLimit from 'p-limit';
import { ProviderRunner } from '../../../src/providers/provider.runner.ts';
import { GENERATION_JOB_NAMES } from '../../../src/queue/queue.names.ts';
import type { Engine, EngineDeps } from '../../engine.types.ts';

/**
 * Image jobs routed to paid providers. Needs no provider at start: providers are read per job, so an
 * admin can configure one while the worker runs.
 */
export function createProviderEngine(deps: EngineDeps): Engine {
  const providers = deps.core.providers;
  // BATCH_MAX_CONCURRENT bounds this worker's calls in flight to all providers together.
  const limit = pLimit(deps.core.config.BATCH_MAX_CONCURRENT);
  const runner = new ProviderRunner(providers, (fn) => limit(fn));
  return {
    name: 'provider',
    jobNames: [GENERATION_JOB_NAMES.IMAGE],
    async run(run) {
      run.progress(0.05, 'Routing to a provider');
      return runner.run(run);
    },
  };
}
