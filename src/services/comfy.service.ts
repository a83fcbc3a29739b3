import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { flushUnique } from '../db/unique.flush.ts';
import { jobQueries } from '../jobs/jobs.query.ts';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ComfyPool } from '../comfy/comfy.pool.ts';
import { checkRequestedServer, parseServerList, serverOrigin } from '../comfy/comfy.server-url.ts';
import {
  type ApiWorkflow,
  type Bindings,
  fillTemplate,
  parseBindings,
  parseWorkflowName,
  toApiWorkflow,
  type WorkflowParams,
  type WorkflowUpload,
} from '../comfy/comfy.workflow.ts';
import { Asset } from '../db/entities/asset.entity.ts';
import { ComfyServer } from '../db/entities/comfy-server.entity.ts';
import { ComfyWorkflow } from '../db/entities/comfy-workflow.entity.ts';
import { Job } from '../db/entities/job.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import { type Actor, canSeeOwnedBy, isAdmin } from './actor.ts';
import { AppError, badInput, forbidden, notFound } from './errors.ts';
import { MAX_SEED, priority, timeoutSeconds } from './generation.inputs.ts';
import type { JobService } from './job.service.ts';
import type { Page, PageArgs } from './pagination.ts';
import { isUuid, parseInput } from './validation.ts';

/** What a WORKFLOW job stores as its input; the worker reads nothing else. */
export interface WorkflowJobInput {
  workflow: ApiWorkflow;
  uploads: WorkflowUpload[];
  /** The ComfyUI prompt id of the latest dispatch (the first is chosen here, so callers know it at once). */
  promptId: string;
  /** A per-request server (already checked against COMFYUI_ALLOWED_SERVERS); null lets the pool choose. */
  serverUrl: string | null;
  /** The server the latest dispatch went to, written by the worker. */
  server?: string | null;
  gpuPreference: number | null;
  workflowName: string | null;
  params: WorkflowParams | null;
}

const runOptions = {
  priority: priority.default(5),
  timeout: timeoutSeconds.default(300),
  gpuPreference: z.number().int().min(0).max(64).nullish(),
  serverUrl: z.string().trim().min(1).max(2048).nullish(),
};
const executeInput = z.object({ workflow: z.unknown(), ...runOptions });
const paramsInput = z
  .object({
    prompt: z.string().trim().max(4000).nullish(),
    negativePrompt: z.string().trim().max(4000).nullish(),
    seed: z.number().int().min(0).max(MAX_SEED).nullish(),
    width: z.number().int().min(16).max(8192).nullish(),
    height: z.number().int().min(16).max(8192).nullish(),
    image: z.uuid('must be an asset id').nullish(),
    audio: z.uuid('must be an asset id').nullish(),
  })
  .strict();
const executeSavedInput = z.object({ name: z.string(), params: paramsInput.nullish(), ...runOptions });

export type ExecuteWorkflowInput = { workflow?: unknown; priority?: number | null; timeout?: number | null; gpuPreference?: number | null; serverUrl?: string | null };
export type ExecuteSavedWorkflowInput = Omit<ExecuteWorkflowInput, 'workflow'> & { name: string; params?: Record<string, unknown> | null };

export interface ComfyPromptStatus {
  promptId: string;
  server: string | null;
  job: Job;
}

interface SeedFile {
  name: string;
  description?: string;
  workflow: unknown;
  bindings?: unknown;
}

const PREVIEW_TTL_SECONDS = 600;

/** Which library workflow runs each kind of request sent with engine "comfyui", and which request fields fill it. */
const KIND_WORKFLOWS: Partial<Record<Job['kind'], { workflow: string; params: (input: Record<string, unknown>) => WorkflowParams }>> = {
  IMAGE: {
    workflow: 'sdxl_txt2img',
    params: (i) => ({ prompt: i.prompt as string, negativePrompt: i.negativePrompt as string | null, seed: i.seed as number, width: i.width as number, height: i.height as number }),
  },
  VIDEO: {
    workflow: 'image_to_video',
    params: (i) => ({ prompt: i.prompt as string, negativePrompt: i.negativePrompt as string | null, seed: i.seed as number, image: i.imageAssetId as string | null }),
  },
  TALKING_HEAD: {
    workflow: 'hallo2_talking_head',
    params: (i) => ({ image: i.imageAssetId as string, audio: i.audioAssetId as string }),
  },
};

/**
 * ComfyUI workflows as jobs: validation and submission, the saved-workflow library, prompt status and
 * history, the server pool's admin list, and the latest preview of a running job. Shared by GraphQL and REST.
 */
export class ComfyService {
  readonly pool: ComfyPool;
  /** Origins a request may name as its own server (COMFYUI_ALLOWED_SERVERS). */
  readonly allowedServers: readonly string[];
  readonly maxAttempts: number;
  private readonly jobs: JobService;
  private readonly redis: Redis;
  private readonly prefix: string;
  private seeded: Promise<void> | null = null;

  constructor(deps: {
    jobs: JobService;
    redis: Redis;
    prefix: string;
    serverUrls?: string;
    allowedServers?: string;
    maxAttempts?: number;
  }) {
    this.jobs = deps.jobs;
    this.redis = deps.redis;
    this.prefix = deps.prefix;
    this.pool = new ComfyPool({ configured: parseServerList(deps.serverUrls, 'COMFYUI_SERVER_URLS') });
    this.allowedServers = parseServerList(deps.allowedServers, 'COMFYUI_ALLOWED_SERVERS');
    this.maxAttempts = deps.maxAttempts ?? 3;
  }

  /** Refuses, before any request leaves, a server URL that is not on the allowlist. */
  checkServerUrl(url: string, field = 'serverUrl'): string {
    return checkRequestedServer(url, this.allowedServers, field);
  }

  /* ---- running ---- */

  async execute(em: EntityManager, actor: Actor, raw: ExecuteWorkflowInput): Promise<Job> {
    const input = parseInput(executeInput, raw);
    const workflow = toApiWorkflow(input.workflow);
    return this.submit(em, actor, { workflow, uploads: [], workflowName: null, params: null }, input);
  }

  async executeSaved(em: EntityManager, actor: Actor, raw: ExecuteSavedWorkflowInput): Promise<Job> {
    const input = parseInput(executeSavedInput, raw);
    const saved = await this.getWorkflow(em, actor, input.name);
    const params = (input.params ?? {}) as WorkflowParams;
    const filled = fillTemplate(saved.workflow, saved.bindings, params);
    for (const [field, kind] of [['image', 'IMAGE'], ['audio', 'AUDIO']] as const) {
      const id = params[field];
      if (!id) continue;
      const asset = await em.findOne(Asset, { id });
      if (!asset || !canSeeOwnedBy(actor, asset.owner.id)) throw badInput(`No asset ${id} of yours`, { field: `params.${field}` });
      if (asset.kind !== kind) throw badInput(`Asset ${id} is ${asset.kind.toLowerCase()}, not ${kind.toLowerCase()}`, { field: `params.${field}` });
    }
    return this.submit(em, actor, { ...filled, workflowName: saved.name, params }, input);
  }

  private async submit(
    em: EntityManager,
    actor: Actor,
    body: Pick<WorkflowJobInput, 'workflow' | 'uploads' | 'workflowName' | 'params'>,
    options: { priority: number; timeout: number; gpuPreference?: number | null; serverUrl?: string | null },
  ): Promise<Job> {
    const serverUrl = options.serverUrl ? this.checkServerUrl(options.serverUrl) : null;
    const input: WorkflowJobInput = {
      ...body,
      promptId: randomUUID(),
      serverUrl,
      server: null,
      gpuPreference: options.gpuPreference ?? null,
    };
    return this.jobs.submitValidated(em, actor, {
      kind: 'WORKFLOW',
      input,
      priority: options.priority,
      timeout: options.timeout,
      prompt: body.params?.prompt ?? body.workflowName ?? null,
      engine: 'comfyui',
    });
  }

  /**
   * What a job runs on ComfyUI: a WORKFLOW job's own workflow, or for an image, video or talking-head job
   * sent to the comfyui engine, a library workflow filled from the request: the one its project's engine alias
   * named (input.workflowName, e.g. "sdxl_base" for InstantID), else the kind's default.
   */
  async workflowFor(em: EntityManager, job: Job): Promise<WorkflowJobInput> {
    if (job.kind === 'WORKFLOW') return job.input as unknown as WorkflowJobInput;
    const mapping = KIND_WORKFLOWS[job.kind];
    if (!mapping) throw badInput(`${job.kind} jobs cannot run on ComfyUI`, { field: 'engine' });
    const name = typeof job.input.workflowName === 'string' ? job.input.workflowName : mapping.workflow;
    // The alias comes from server configuration (ENGINE_ALIASES), so it may name any workflow of the library.
    const saved = await this.libraryWorkflow(em, name, () => true);
    if (!saved) throw badInput(`The workflow library has no "${name}" workflow for ${job.kind} jobs on ComfyUI`, { field: 'engine' });
    const wanted = mapping.params(job.input);
    // Only what the workflow binds: a request field the workflow has no input for is left out, not refused.
    const params = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => value != null && saved.bindings[key as keyof Bindings]?.length));
    const filled = fillTemplate(saved.workflow, saved.bindings, params);
    return { ...filled, promptId: randomUUID(), serverUrl: null, server: null, gpuPreference: null, workflowName: saved.name, params };
  }

  /** The job behind a ComfyUI prompt id (any of its dispatches' ids is recorded on the job as it runs). */
  async status(em: EntityManager, actor: Actor, promptId: string): Promise<ComfyPromptStatus> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(promptId)) throw badInput('promptId is not a ComfyUI prompt id', { field: 'promptId' });
    const query = jobQueries.byComfyPrompt(promptId);
    const [row] = await em.execute<{ id: string }[]>(query.sql, query.params);
    if (!row) throw notFound('ComfyUI prompt', promptId);
    const job = await this.jobs.getJob(em, actor, row.id);
    const input = job.input as unknown as WorkflowJobInput;
    return { promptId, server: input.server ?? input.serverUrl ?? null, job };
  }

  /** The caller's jobs run on ComfyUI, newest first (everyone's, for an admin). */
  history(em: EntityManager, actor: Actor, args: PageArgs): Promise<Page<Job>> {
    return this.jobs.listJobs(em, actor, { ...args, engine: 'comfyui' });
  }

  /* ---- the workflow library ---- */

  async saveWorkflow(
    em: EntityManager,
    actor: Actor,
    raw: { name: string; workflow?: unknown; bindings?: unknown; description?: string | null; shared?: boolean | null },
  ): Promise<ComfyWorkflow> {
    await this.ensureSeeded(em);
    const name = parseWorkflowName(raw.name);
    const workflow = toApiWorkflow(raw.workflow);
    const bindings = parseBindings(raw.bindings, workflow);
    const description = raw.description?.trim().slice(0, 2000) || null;
    const existing = await em.findOne(ComfyWorkflow, { name });
    if (existing) {
      if (!this.canChange(actor, existing)) throw forbidden(`Workflow "${name}" belongs to someone else`);
      Object.assign(existing, { workflow, bindings, description: description ?? existing.description, shared: raw.shared ?? existing.shared });
      await em.flush();
      return existing;
    }
    // An admin's workflow is for everyone unless said otherwise; anyone else's stays private unless shared.
    const shared = raw.shared ?? isAdmin(actor);
    const row = em.create(ComfyWorkflow, { name, workflow, bindings, description, shared, owner: em.getReference(User, actor.userId) });
    await flushUnique(em, () => new AppError('CONFLICT', `A workflow named "${name}" was saved meanwhile; save again to replace it`, { field: 'name' }));
    return row;
  }

  async listWorkflows(em: EntityManager, actor: Actor): Promise<ComfyWorkflow[]> {
    await this.ensureSeeded(em);
    const where = isAdmin(actor) ? {} : { $or: [{ owner: null }, { shared: true }, { owner: actor.userId }] };
    return em.find(ComfyWorkflow, where, { orderBy: { name: 'asc' } });
  }

  async getWorkflow(em: EntityManager, actor: Actor, rawName: string): Promise<ComfyWorkflow> {
    const row = await this.libraryWorkflow(em, rawName, (ownerId) => canSeeOwnedBy(actor, ownerId));
    if (!row) throw notFound('Workflow', parseWorkflowName(rawName));
    return row;
  }

  /**
   * A library workflow by name (the shipped ones seeded first): what 000's workflow_name and a job's engine alias
   * both run. A private one counts only where `canSee` its owner; null when there is none to see.
   */
  private async libraryWorkflow(em: EntityManager, rawName: string, canSee: (ownerId: string) => boolean): Promise<ComfyWorkflow | null> {
    await this.ensureSeeded(em);
    const row = await em.findOne(ComfyWorkflow, { name: parseWorkflowName(rawName) });
    return row && (!row.owner || row.shared || canSee(row.owner.id)) ? row : null;
  }

  async deleteWorkflow(em: EntityManager, actor: Actor, rawName: string): Promise<boolean> {
    const row = await this.getWorkflow(em, actor, rawName);
    if (!this.canChange(actor, row)) throw forbidden(`Only an admin can delete the shipped workflow "${row.name}"`);
    await em.remove(row).flush();
    return true;
  }

  private canChange(actor: Actor, row: ComfyWorkflow): boolean {
    return isAdmin(actor) || (row.owner !== null && row.owner !== undefined && row.owner.id === actor.userId);
  }

  /** Puts the shipped example workflows into the library when absent; once per process. */
  ensureSeeded(em: EntityManager): Promise<void> {
    this.seeded ??= this.seed(em.fork()).catch((error) => {
      this.seeded = null;
      throw error;
    });
    return this.seeded;
  }

  private async seed(em: EntityManager): Promise<void> {
    const dir = new URL('../comfy/workflows/', import.meta.url);
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
      const seed = JSON.parse(await readFile(new URL(file, dir), 'utf8')) as SeedFile;
      const name = parseWorkflowName(seed.name);
      const workflow = toApiWorkflow(seed.workflow);
      const bindings = parseBindings(seed.bindings, workflow);
      // Several processes may seed at once; the unique name decides, and a deleted example stays deleted only until restart.
      await em
        .getConnection()
        .execute(
          `insert into comfy_workflows (id, name, description, workflow, bindings, owner_id, created_at, updated_at)
           values (?, ?, ?, ?, ?, null, now(), now()) on conflict (name) do nothing`,
          [randomUUID(), name, seed.description ?? null, JSON.stringify(workflow), JSON.stringify(bindings)],
        );
    }
  }

  /* ---- the server pool ---- */

  listServers(em: EntityManager): Promise<ComfyServer[]> {
    return em.find(ComfyServer, {}, { orderBy: { createdAt: 'asc' } });
  }

  configuredServers(): readonly string[] {
    return this.pool.configured;
  }

  async addServer(em: EntityManager, raw: { url: string; name?: string | null }): Promise<ComfyServer> {
    const url = serverOrigin(raw.url);
    if (!url) throw badInput('url must be an http(s) URL of a ComfyUI server (not a link-local or metadata address)', { field: 'url' });
    if (await em.findOne(ComfyServer, { url })) throw new AppError('CONFLICT', `Server ${url} is already in the pool`);
    const row = em.create(ComfyServer, { url, name: raw.name?.trim() || null, enabled: true });
    await flushUnique(em, () => new AppError('CONFLICT', `Server ${url} is already in the pool`));
    return row;
  }

  async removeServer(em: EntityManager, id: string): Promise<boolean> {
    const row = isUuid(id) ? await em.findOne(ComfyServer, { id }) : null;
    if (!row) throw notFound('ComfyUI server', id);
    await em.remove(row).flush();
    return true;
  }

  /* ---- live preview ---- */

  private previewKey = (jobId: string) => `${this.prefix}:comfy:preview:${jobId}`;

  async savePreview(jobId: string, mime: string, data: Buffer): Promise<void> {
    await this.redis.set(this.previewKey(jobId), `data:${mime};base64,${data.toString('base64')}`, 'EX', PREVIEW_TTL_SECONDS);
  }

  /** The latest preview image of a running job as a data: URL, or null. */
  async preview(jobId: string): Promise<string | null> {
    return this.redis.get(this.previewKey(jobId));
  }
}

