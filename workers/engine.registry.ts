import { ENGINE_FAMILIES, type EngineFamily, type GenerationJobName, isEngineFamily } from '../src/queue/queue.names.ts';
import { createBuiltinImageEngine } from './engines/builtin/image.engine.ts';
import { createBuiltinSpeechEngine } from './engines/builtin/speech.engine.ts';
import { createBuiltinTalkingHeadEngine } from './engines/builtin/talking-head.engine.ts';
import { createBuiltinVideoEngine } from './engines/builtin/video.engine.ts';
import { createComfyEngine } from './engines/comfyui/comfyui.engine.ts';
import { createOnnxEngines } from './engines/onnx/onnx.engine.ts';
import { createProviderEngine } from './engines/providers/provider.engine.ts';
import type { Engine, EngineDeps } from './engine.types.ts';

/**
 * Each engine family registers its factory here once; WORKER_ENGINES picks which a worker loads. Every
 * engine of a family is named after it, and the family's queue carries only its jobs.
 */
const FACTORIES: Partial<Record<EngineFamily, (deps: EngineDeps) => Engine[]>> = {
  builtin: (deps) => [createBuiltinImageEngine(deps), createBuiltinVideoEngine(deps), createBuiltinTalkingHeadEngine(deps), createBuiltinSpeechEngine(deps)],
  comfyui: (deps) => [createComfyEngine(deps)],
  onnx: (deps) => createOnnxEngines(deps),
  provider: (deps) => [createProviderEngine(deps)],
};

export const knownEngineFamilies = () => ENGINE_FAMILIES.filter((f) => FACTORIES[f]);

export function loadEngines(families: string[], deps: EngineDeps): Map<EngineFamily, Engine[]> {
  const unknown = families.filter((f) => !isEngineFamily(f) || !FACTORIES[f]);
  if (unknown.length) {
    throw new Error(`Unknown engine(s) in WORKER_ENGINES: ${unknown.join(', ')}. Known: ${knownEngineFamilies().join(', ')}`);
  }
  const loaded = new Map<EngineFamily, Engine[]>();
  for (const family of new Set(families as EngineFamily[])) {
    const engines = FACTORIES[family]!(deps);
    const misnamed = engines.filter((e) => e.name !== family);
    if (misnamed.length) throw new Error(`Engines of family "${family}" must be named "${family}": ${misnamed.map((e) => e.name).join(', ')}`);
    loaded.set(family, engines);
  }
  return loaded;
}

/** Maps every job name of a family to the one engine that runs it; two claiming one name is a start-up error. */
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
