import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import type { ApiWorkflow, Bindings } from '../../comfy/comfy.workflow.ts';
import { User } from './user.entity.ts';

/** A saved ComfyUI workflow (API format) and which node inputs receive each request parameter. */
const ComfyWorkflowSchema = defineEntity({
  name: 'ComfyWorkflow',
  tableName: 'comfy_workflows',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    name: p.string().length(128).unique(),
    description: p.text().nullable(),
    workflow: p.json<ApiWorkflow>(),
    bindings: p.json<Bindings>(),
    /** Null for the shipped examples, which only admins may change. */
    owner: () => p.manyToOne(User).nullable().deleteRule('cascade').index(),
    /** A saved workflow is its owner's alone unless shared; shipped ones (no owner) are everyone's. */
    shared: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export class ComfyWorkflow extends ComfyWorkflowSchema.class {}
ComfyWorkflowSchema.setClass(ComfyWorkflow);
export { ComfyWorkflowSchema };
