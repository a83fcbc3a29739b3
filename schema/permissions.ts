import { GraphQLError } from 'graphql';
import { allow, deny, rule, shield } from 'graphql-shield';
import { type ApiScope, hasScope, isAdmin } from '../src/services/actor.ts';
import type { GraphQLContext } from './context.ts';

const unauthenticated = () =>
  new GraphQLError('Authentication required: send "Authorization: Bearer <token or API key>"', {
    extensions: { code: 'UNAUTHENTICATED' },
  });
const forbidden = (message: string) => new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });

const isAuthenticated = rule({ cache: 'contextual' })((_root, _args, ctx: GraphQLContext) =>
  ctx.actor ? true : unauthenticated(),
);

const scope = (name: ApiScope) =>
  rule(`scope:${name}`, { cache: 'contextual' })((_root, _args, ctx: GraphQLContext) => {
    if (!ctx.actor) return unauthenticated();
    return hasScope(ctx.actor, name) ? true : forbidden(`This API key lacks the "${name}" scope`);
  });

// Shield requires one instance per named rule.
const canRead = scope('read');
const canGenerate = scope('generate');

const admin = rule({ cache: 'contextual' })((_root, _args, ctx: GraphQLContext) => {
  if (!ctx.actor) return unauthenticated();
  return isAdmin(ctx.actor) ? true : forbidden('Admins only');
});

/**
 * Root fields are denied unless listed, so a new operation is closed until someone opens it here.
 * Ownership (a user sees only their own jobs) is decided by the services, which know the rows.
 */
export const permissions = shield(
  {
    Query: {
      '*': deny,
      health: allow,
      me: isAuthenticated,
      apiKeys: isAuthenticated,
      users: admin,
      job: canRead,
      jobs: canRead,
      jobLogs: canRead,
      stats: canRead,
      asset: canRead,
      assets: canRead,
      batch: canRead,
      voices: canRead,
      models: canRead,
      workers: admin,
      resources: admin,
      characters: canRead,
      character: canRead,
      projectPresets: canRead,
      projectPreset: canRead,
      sceneProfiles: canRead,
      sceneProfile: canRead,
      configFiles: admin,
      systemSettings: admin,
      talkingHeadConfig: canRead,
      userQuota: canRead,
      providers: canRead,
      providerCredits: canRead,
      estimateCost: canRead,
      costs: canRead,
      alerts: admin,
      providerPerformance: admin,
      cacheStats: admin,
      workflows: canRead,
      comfyStatus: canRead,
      comfyHistory: canRead,
      comfyServers: admin,
      webhookSecret: canRead,
      webhookEndpoints: canRead,
      webhookDeliveries: canRead,
      queues: canRead,
    },
    Mutation: {
      '*': deny,
      login: allow,
      createApiKey: isAuthenticated,
      revokeApiKey: isAuthenticated,
      createUser: admin,
      generateImage: canGenerate,
      upscaleImage: canGenerate,
      generateVideo: canGenerate,
      synthesizeSpeech: canGenerate,
      generateTalkingHead: canGenerate,
      generateBatch: canGenerate,
      cancelJob: canGenerate,
      retryJob: canGenerate,
      setTalkingHeadConfig: canGenerate,
      setUserQuota: admin,
      executeComfyWorkflow: canGenerate,
      executeSavedWorkflow: canGenerate,
      saveWorkflow: canGenerate,
      deleteWorkflow: canGenerate,
      addComfyServer: admin,
      removeComfyServer: admin,
      uploadAsset: canGenerate,
      createCharacter: admin,
      updateCharacter: admin,
      deleteCharacter: admin,
      createProjectPreset: admin,
      updateProjectPreset: admin,
      deleteProjectPreset: admin,
      createSceneProfile: admin,
      updateSceneProfile: admin,
      deleteSceneProfile: admin,
      configureProvider: admin,
      updateProvider: admin,
      deactivateProvider: admin,
      deleteProvider: admin,
      rotateWebhookSecret: canGenerate,
      createWebhookEndpoint: canGenerate,
      deleteWebhookEndpoint: canGenerate,
      redeliverWebhook: canGenerate,
      pauseQueue: admin,
      setUserQueueWeight: admin,
      deleteAsset: canGenerate,
      resumeQueue: admin,
      setJobPriority: canGenerate,
      cancelJobs: canGenerate,
    },
    Subscription: {
      '*': deny,
      jobProgress: canRead,
      jobs: canRead,
      batchProgress: canRead,
      alerts: admin,
      gpuTelemetry: admin,
    },
  },
  {
    fallbackRule: allow,
    // Resolver errors are already shaped by the services; shield must not replace them.
    allowExternalErrors: true,
    // Without this, shield's own refusal would be masked as "Unexpected error".
    fallbackError: () => forbidden('Not allowed'),
  },
);
