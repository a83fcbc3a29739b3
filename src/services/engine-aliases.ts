import { z } from 'zod';
import { workflowName } from '../comfy/comfy.workflow.ts';
import { ConfigError } from '../config/config.ts';
import { JOB_KINDS, type JobKind } from '../db/entities/job.entity.ts';
import { ENGINE_FAMILIES, type EngineFamily, isEngineFamily } from '../queue/queue.names.ts';

/**
 * What a document's engine name means here: an engine family, and the library workflow (comfyui) or model pack
 * (onnx, image jobs) it runs. A preset naming it hands both to its jobs (JobService).
 */
export interface EngineAlias {
  engine: EngineFamily;
  workflow?: string;
  modelPack?: string;
  /** The kinds of job its workflow or pack makes; a preset using it for another kind is refused, not run. */
  kinds?: JobKind[];
}

const aliasTable = z.record(
  z.string().min(1),
  // Checked as the library checks workflow names, so an unusable one fails at start rather than on every job.
  z
    .object({
      engine: z.enum(ENGINE_FAMILIES),
      workflow: workflowName.optional(),
      modelPack: z.string().min(1).optional(),
      kinds: z.array(z.enum(JOB_KINDS)).min(1).optional(),
    })
    .strict(),
);

/**
 * The documents' engine names (003: InstantID, SDXL, SVD; 000: SDXL, FastHunyuan, Fish Speech; 002: Hallo2).
 * ENGINE_ALIASES (JSON, same shape) adds to or replaces entries. Keys are compared lower-cased, spaces and dashes
 * as underscores. InstantID has no workflow of its own in the shipped library: it runs the SDXL base workflow.
 */
export const DEFAULT_ENGINE_ALIASES: Readonly<Record<string, EngineAlias>> = {
  instantid: { engine: 'comfyui', workflow: 'sdxl_base', kinds: ['IMAGE'] },
  sdxl: { engine: 'comfyui', workflow: 'sdxl_base', kinds: ['IMAGE'] },
  svd: { engine: 'comfyui', workflow: 'image_to_video', kinds: ['VIDEO'] },
  fasthunyuan: { engine: 'comfyui', workflow: 'image_to_video', kinds: ['VIDEO'] },
  fish_speech: { engine: 'builtin' },
  hallo2: { engine: 'comfyui', workflow: 'hallo2_talking_head', kinds: ['TALKING_HEAD'] },
};

export const aliasKey = (name: string) => name.trim().toLowerCase().replace(/[\s-]+/g, '_');

export function parseEngineAliases(json: string | undefined): Record<string, EngineAlias> {
  if (!json) return { ...DEFAULT_ENGINE_ALIASES };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new ConfigError(`ENGINE_ALIASES is not JSON: ${(error as Error).message}`);
  }
  const parsed = aliasTable.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`ENGINE_ALIASES is not a valid alias table: ${z.prettifyError(parsed.error)}`);
  const extra = Object.fromEntries(Object.entries(parsed.data).map(([name, alias]) => [aliasKey(name), alias]));
  return { ...DEFAULT_ENGINE_ALIASES, ...extra };
}

/** An engine family by its own name or a document's alias; null when neither. */
export function resolveEngine(name: string, aliases: Readonly<Record<string, EngineAlias>>): EngineAlias | null {
  if (isEngineFamily(name)) return { engine: name };
  return aliases[aliasKey(name)] ?? null;
}
