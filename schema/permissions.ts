import { allow, deny, rule, shield } from 'graphql-shield';
import type { IRule } from 'graphql-shield';
import { checkOperation, type Operation } from '../src/services/scopes.ts';
import type { GraphQLContext } from './context.ts';
import { forbidden } from '../src/services/errors.ts';

/**
 * The service operation each root field runs; what the operation needs is declared once, in the core
 * (src/services/scopes.ts), and REST routes go through the same check. Fields not listed are denied, so a
 * new operation is closed until someone names it here.
 */
export const FIELD_OPERATIONS = {
  Query: {
    health: 'system.health',
    me: 'account.read',
    apiKeys: 'account.keys',
    users: 'users.manage',
    job: 'jobs.read',
    jobs: 'jobs.read',
    jobLogs: 'jobs.read',
    stats: 'jobs.read',
    asset: 'assets.read',
    assets: 'assets.read',
    batch: 'jobs.read',
    voices: 'catalog.read',
    models: 'catalog.read',
    workers: 'workers.read',
    resources: 'workers.read',
    queues: 'queues.read',
    webhookSecret: 'webhooks.read',
    webhookEndpoints: 'webhooks.read',
    webhookDeliveries: 'webhooks.read',
    characters: 'catalog.read',
    character: 'catalog.read',
    projectPresets: 'catalog.read',
    projectPreset: 'catalog.read',
    sceneProfiles: 'catalog.read',
    sceneProfile: 'catalog.read',
    configFiles: 'system.config',
    systemSettings: 'system.config',
    talkingHeadConfig: 'catalog.read',
    userQuota: 'quota.read',
    providers: 'providers.read',
    providerCredits: 'providers.read',
    estimateCost: 'costs.read',
    costs: 'costs.read',
    alerts: 'providers.monitor',
    providerPerformance: 'providers.monitor',
    cacheStats: 'providers.monitor',
    workflows: 'comfy.read',
    comfyStatus: 'comfy.read',
    comfyHistory: 'comfy.read',
    comfyServers: 'comfy.manage',
  },
  Mutation: {
    login: 'auth.login',
    createApiKey: 'account.keys',
    revokeApiKey: 'account.keys',
    createUser: 'users.manage',
    generateImage: 'jobs.submit',
    upscaleImage: 'jobs.submit',
    generateVideo: 'jobs.submit',
    synthesizeSpeech: 'jobs.submit',
    generateTalkingHead: 'jobs.submit',
    generateBatch: 'jobs.submit',
    cancelJob: 'jobs.control',
    retryJob: 'jobs.control',
    setTalkingHeadConfig: 'talkingHeadConfig.write',
    setUserQuota: 'quota.manage',
    executeComfyWorkflow: 'jobs.submit',
    executeSavedWorkflow: 'jobs.submit',
    saveWorkflow: 'workflows.write',
    deleteWorkflow: 'workflows.write',
    addComfyServer: 'comfy.manage',
    removeComfyServer: 'comfy.manage',
    uploadAsset: 'assets.upload',
    createCharacter: 'catalog.manage',
    updateCharacter: 'catalog.manage',
    deleteCharacter: 'catalog.manage',
    createProjectPreset: 'catalog.manage',
    updateProjectPreset: 'catalog.manage',
    deleteProjectPreset: 'catalog.manage',
    createSceneProfile: 'catalog.manage',
    updateSceneProfile: 'catalog.manage',
    deleteSceneProfile: 'catalog.manage',
    configureProvider: 'providers.manage',
    updateProvider: 'providers.manage',
    deactivateProvider: 'providers.manage',
    deleteProvider: 'providers.manage',
    rotateWebhookSecret: 'webhooks.manage',
    createWebhookEndpoint: 'webhooks.manage',
    deleteWebhookEndpoint: 'webhooks.manage',
    redeliverWebhook: 'webhooks.manage',
    pauseQueue: 'queues.manage',
    resumeQueue: 'queues.manage',
    setUserQueueWeight: 'queues.manage',
    setJobPriority: 'jobs.control',
    cancelJobs: 'jobs.control',
    deleteAsset: 'assets.delete',
  },
  Subscription: {
    jobProgress: 'jobs.read',
    jobs: 'jobs.read',
    batchProgress: 'jobs.read',
    alerts: 'providers.monitor',
    gpuTelemetry: 'telemetry.read',
  },
} as const satisfies Record<'Query' | 'Mutation' | 'Subscription', Record<string, Operation>>;

// Shield caches a rule's verdict by its name, so there is one rule instance per operation.
const rules = new Map<Operation, IRule>();
const needs = (operation: Operation): IRule => {
  let found = rules.get(operation);
  if (!found) {
    found = rule(`op:${operation}`, { cache: 'contextual' })((_root, _args, ctx: GraphQLContext) => checkOperation(ctx.actor, operation));
    rules.set(operation, found);
  }
  return found;
};

const typeRules = (fields: Record<string, Operation>) => ({
  '*': deny,
  ...Object.fromEntries(Object.entries(fields).map(([field, operation]) => [field, operation === 'system.health' || operation === 'auth.login' ? allow : needs(operation)])),
});

export const permissions = shield(
  {
    Query: typeRules(FIELD_OPERATIONS.Query),
    Mutation: typeRules(FIELD_OPERATIONS.Mutation),
    Subscription: typeRules(FIELD_OPERATIONS.Subscription),
  },
  {
    fallbackRule: allow,
    // Resolver errors are already shaped by the services; shield must not replace them.
    allowExternalErrors: true,
    // Without this, shield's own refusal would be masked as "Unexpected error".
    fallbackError: () => forbidden('Not allowed'),
  },
);
