import type { GenerationJobName } from '../src/queue/queue.names.ts';
import { createBuiltinImageEngine } from './engines/builtin/image.engine.ts';
import { createBuiltinSpeechEngine } from './engines/builtin/speech.engine.ts';
import { createBuiltinTalkingHeadEngine } from './engines/builtin/talking-head.engine.ts';
import { createBuiltinVideoEngine } from './engines/builtin/video.engine.ts';
import type { Engine, EngineDeps } from './engine.types.ts';

/** Each engine family registers its factory here once; WORKER_ENGINES picks which a worker loads. */
const FACTORIES: Record<string, (deps: EngineDeps) => Engine[]> = {
  builtin: (deps) => [createBuiltinImageEngine(deps), createBuiltinVideoEngine(deps), createBuiltinTalkingHeadEngine(deps), createBuiltinSpeechEngine(deps)],
};

export const knownEngineFamilies = () => Object.keys(FACTORIES);

export function loadEngines(families: string[], deps: EngineDeps): Engine[] {
  const unknown = families.filter((f) => !FACTORIES[f]);
  if (unknown.length) {
    throw new Error(`Unknown engine(s) in WORKER_ENGINES: ${unknown.join(', ')}. Known: ${knownEngineFamilies().join(', ')}`);
  }
  return families.flatMap((family) => FACTORIES[family]!(deps));
}

/** Maps every job name to the one engine that runs it; two engines claiming one name is a start-up error. */
export function handlersByJobName(engines: Engine[]): Map<GenerationJobName, Engine> {
  const handlers = new Map<GenerationJobName, Engine>();
  for (const engine of engines) {
    for (const name of engine.jobNames) {
      const existing = handlers.get(name);
      if (existing) {
        throw new Error(`Job "${name}" is claimed by engines "${existing.name}" and "${engine.name}"; enable only one.`);
      }
      handlers.set(name, engine);
    }
  }
  return handlers;
}
