import { ApiKeySchema } from './api-key.entity.ts';
import { AssetSchema } from './asset.entity.ts';
import { JobSchema } from './job.entity.ts';
import { UserSchema } from './user.entity.ts';

export const entities = [UserSchema, ApiKeySchema, JobSchema, AssetSchema];
