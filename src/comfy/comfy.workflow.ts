import { z } from 'zod';
import { badInput } from '../services/errors.ts';

/** ComfyUI's API format: node id → {class_type, inputs}; a link input is `[fromNodeId, outputIndex]`. */
export type ApiWorkflow = Record<string, { class_type: string; inputs: Record<string, unknown>; _meta?: unknown }>;

/** The parameters a saved workflow can be filled with. */
export const BINDING_KEYS = ['prompt', 'negativePrompt', 'seed', 'image', 'audio', 'width', 'height'] as const;
export type BindingKey = (typeof BINDING_KEYS)[number];
/** Each key names one or more node inputs, written "nodeId.inputName". */
export type Bindings = Partial<Record<BindingKey, string[]>>;

export const MAX_WORKFLOW_NODES = 500;

const apiNode = z.object({
  class_type: z.string().trim().min(1).max(200),
  inputs: z.record(z.string(), z.unknown()).default({}),
  _meta: z.unknown().optional(),
});
const apiWorkflow = z.record(z.string().regex(/^[A-Za-z0-9_:.-]{1,64}$/, 'node ids are 1–64 letters, digits, _ : . -'), apiNode);
const simplifiedWorkflow = z.object({
  nodes: z
    .array(z.object({ type: z.string().trim().min(1).max(200), inputs: z.record(z.string(), z.unknown()).default({}) }))
    .min(1, 'needs at least one node'),
});

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${['workflow', ...i.path].join('.')}: ${i.message}`).join('; ');
}

/**
 * Accepts ComfyUI's API format or the media API's simplified `{nodes: [{type, inputs}]}` list, whose
 * nodes get ids "1", "2", … by position (so a link `["1", 0]` points at the first node).
 */
export function toApiWorkflow(raw: unknown): ApiWorkflow {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw badInput('workflow must be a JSON object: ComfyUI API format or {nodes: [{type, inputs}]}', { field: 'workflow' });
  }
  let workflow: ApiWorkflow;
  if ('nodes' in raw && Array.isArray((raw as { nodes: unknown }).nodes)) {
    const parsed = simplifiedWorkflow.safeParse(raw);
    if (!parsed.success) throw badInput(`Invalid workflow: ${issues(parsed.error)}`, { field: 'workflow' });
    workflow = Object.fromEntries(parsed.data.nodes.map((node, index) => [String(index + 1), { class_type: node.type, inputs: node.inputs }]));
  } else {
    const parsed = apiWorkflow.safeParse(raw);
    if (!parsed.success) throw badInput(`Invalid workflow: ${issues(parsed.error)}`, { field: 'workflow' });
    workflow = parsed.data as ApiWorkflow;
  }
  const ids = Object.keys(workflow);
  if (ids.length === 0) throw badInput('workflow has no nodes', { field: 'workflow' });
  if (ids.length > MAX_WORKFLOW_NODES) throw badInput(`workflow has ${ids.length} nodes; at most ${MAX_WORKFLOW_NODES}`, { field: 'workflow' });
  for (const [id, node] of Object.entries(workflow)) {
    for (const [input, value] of Object.entries(node.inputs)) {
      if (isLink(value) && !workflow[String(value[0])]) {
        throw badInput(`Node ${id} input "${input}" links to node ${value[0]}, which is not in the workflow`, { field: 'workflow' });
      }
    }
  }
  return workflow;
}

const isLink = (value: unknown): value is [string | number, number] =>
  Array.isArray(value) && value.length === 2 && (typeof value[0] === 'string' || typeof value[0] === 'number') && typeof value[1] === 'number';

// Control characters, path separators and dot-dot: a name may end up in a file name or a URL path.
const unsafeName = /[\u0000-\u001f\u007f/\\]|\.\./;

export const workflowName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128)
  .refine((name) => !unsafeName.test(name), 'must not contain path separators, ".." or control characters');

export function parseWorkflowName(name: unknown, field = 'name'): string {
  const parsed = workflowName.safeParse(name);
  if (!parsed.success) throw badInput(`Invalid ${field}: ${parsed.error.issues[0]!.message}`, { field });
  return parsed.data;
}

const target = z.string().regex(/^[A-Za-z0-9_:.-]+\.[A-Za-z0-9_ -]+$/, 'a binding is "nodeId.inputName"');
const bindingsSchema = z.partialRecord(z.enum(BINDING_KEYS), z.union([target.transform((t) => [t]), z.array(target).min(1)]));

/** Checks that every binding names an input of a node in the workflow. */
export function parseBindings(raw: unknown, workflow: ApiWorkflow): Bindings {
  const parsed = bindingsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw badInput(`Invalid bindings: ${issues(parsed.error).replaceAll('workflow.', 'bindings.')}`, { field: 'bindings' });
  const bindings = parsed.data as Bindings;
  for (const [key, targets] of Object.entries(bindings)) {
    for (const t of targets ?? []) {
      const { node } = splitTarget(t);
      if (!workflow[node]) throw badInput(`Binding ${key} → ${t}: node ${node} is not in the workflow`, { field: `bindings.${key}` });
    }
  }
  return bindings;
}

export function splitTarget(target: string): { node: string; input: string } {
  const dot = target.lastIndexOf('.');
  return { node: target.slice(0, dot), input: target.slice(dot + 1) };
}

export interface WorkflowParams {
  prompt?: string | null;
  negativePrompt?: string | null;
  seed?: number | null;
  width?: number | null;
  height?: number | null;
  /** Asset ids: uploaded to the chosen server by the worker. */
  image?: string | null;
  audio?: string | null;
}

/** A file the worker uploads to the server before queueing, then writes into these node inputs. */
export interface WorkflowUpload {
  assetId: string;
  targets: string[];
}

/** Fills the bound inputs from params (a deep copy; the template is left alone); files become uploads. */
export function fillTemplate(template: ApiWorkflow, bindings: Bindings, params: WorkflowParams): { workflow: ApiWorkflow; uploads: WorkflowUpload[] } {
  const workflow = structuredClone(template);
  const uploads: WorkflowUpload[] = [];
  for (const key of BINDING_KEYS) {
    const value = params[key];
    const targets = bindings[key];
    if (value == null) continue;
    if (!targets?.length) throw badInput(`This workflow has no binding for "${key}"`, { field: `params.${key}` });
    if (key === 'image' || key === 'audio') {
      uploads.push({ assetId: String(value), targets });
      continue;
    }
    for (const t of targets) {
      const { node, input } = splitTarget(t);
      workflow[node]!.inputs[input] = value;
    }
  }
  return { workflow, uploads };
}

export function setInput(workflow: ApiWorkflow, targetName: string, value: unknown): void {
  const { node, input } = splitTarget(targetName);
  const entry = workflow[node];
  if (entry) entry.inputs[input] = value;
}
