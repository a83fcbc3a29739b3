import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';

/** A ComfyUI server an admin added to the pool (beside COMFYUI_SERVER_URLS). */
const ComfyServerSchema = defineEntity({
  name: 'ComfyServer',
  tableName: 'comfy_servers',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    /** The server's origin, e.g. http://10.0.0.5:8188. */
    url: p.string().length(512).unique(),
    name: p.string().length(128).nullable(),
    enabled: p.boolean().default(true),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class ComfyServer extends ComfyServerSchema.class {}
ComfyServerSchema.setClass(ComfyServer);
export { ComfyServerSchema };
