import { ApiKeySchema } from './api-key.entity.ts';
import { AssetSchema } from './asset.entity.ts';
import { BatchSchema } from './batch.entity.ts';
import { CharacterSchema } from './character.entity.ts';
import { ComfyServerSchema } from './comfy-server.entity.ts';
import { ComfyWorkflowSchema } from './comfy-workflow.entity.ts';
import { JobLogSchema } from './job-log.entity.ts';
import { JobSchema } from './job.entity.ts';
import { ProjectPresetSchema } from './project-preset.entity.ts';
import { ProviderAlertSchema, ProviderAttemptSchema, ProviderSchema } from './provider.entity.ts';
import { SceneProfileSchema } from './scene-profile.entity.ts';
import { UserSchema } from './user.entity.ts';
import { IdempotencyKeySchema } from './idempotency-key.entity.ts';
import { WebhookDeliverySchema, WebhookEndpointSchema, WebhookSecretSchema } from './webhook.entity.ts';

export const entities = [UserSchema, ApiKeySchema, JobSchema, AssetSchema, BatchSchema, JobLogSchema, CharacterSchema, ProjectPresetSchema, ProviderSchema, ProviderAttemptSchema, ProviderAlertSchema, ComfyServerSchema, ComfyWorkflowSchema, SceneProfileSchema, WebhookSecretSchema, WebhookEndpointSchema, WebhookDeliverySchema, IdempotencyKeySchema];
