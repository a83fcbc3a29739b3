import { lexicographicSortSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { builder } from './builder.ts';
import { permissions } from './permissions.ts';
import './api-key.ts';
import './asset.ts';
import './auth.ts';
import './batch.ts';
import './character.ts';
import './health.ts';
import './job.ts';
import './project-preset.ts';
import './talking-head-config.ts';
import './user.ts';
import './voice.ts';

export const schema = applyMiddleware(lexicographicSortSchema(builder.toSchema()), permissions);
