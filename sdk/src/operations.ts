import { graphql } from './gql/index.ts';

/**
 * Every operation the SDK, the CLI and the dashboard send. `npm run codegen` types them from the schema
 * (sdk/src/gql/), so a field renamed in the schema fails the typecheck here, not a user's script.
 */

export const JobFields = graphql(`
  fragment JobFields on Job {
    id
    kind
    status
    progress
    statusMessage
    engine
    priority
    cost
    createdAt
    startedAt
    finishedAt
    queuePosition
    etaSeconds
    queuedMs
    runMs
    batchId
    input
    result
    error { code message }
    assets { id kind mime bytes width height durationSeconds url }
    owner { id username }
  }
`);

export const Login = graphql(`
  mutation SdkLogin($username: String!, $password: String!) {
    login(username: $username, password: $password) { accessToken expiresIn tokenType }
  }
`);

export const Me = graphql(`
  query SdkMe { me { id username role } }
`);

export const GenerateImage = graphql(`
  mutation SdkGenerateImage($input: GenerateImageInput!) { generateImage(input: $input) { ...JobFields } }
`);

export const GenerateVideo = graphql(`
  mutation SdkGenerateVideo($input: GenerateVideoInput!) { generateVideo(input: $input) { ...JobFields } }
`);

export const SynthesizeSpeech = graphql(`
  mutation SdkSynthesizeSpeech($input: SynthesizeSpeechInput!) { synthesizeSpeech(input: $input) { ...JobFields } }
`);

export const GenerateTalkingHead = graphql(`
  mutation SdkGenerateTalkingHead($input: GenerateTalkingHeadInput!) { generateTalkingHead(input: $input) { ...JobFields } }
`);

export const GenerateBatch = graphql(`
  mutation SdkGenerateBatch($requests: [GenerateImageInput!]!, $priority: Int, $metadata: JSON) {
    generateBatch(requests: $requests, priority: $priority, metadata: $metadata) {
      id
      total
      createdAt
      progress { batchId status progress total queued processing completed failed cancelled cost }
      jobs { ...JobFields }
    }
  }
`);

export const UploadAsset = graphql(`
  mutation SdkUploadAsset($file: File!) {
    uploadAsset(file: $file) { id kind mime bytes width height durationSeconds filename url }
  }
`);

export const Job = graphql(`
  query SdkJob($id: ID!) {
    job(id: $id) {
      ...JobFields
      preview
      stepDurationsMs
      timeoutSeconds
      attempt
      logs { at level message }
    }
  }
`);

export const Jobs = graphql(`
  query SdkJobs($first: Int, $after: String, $status: JobStatus, $kind: JobKind, $search: String, $batchId: ID, $engine: String) {
    jobs(first: $first, after: $after, status: $status, kind: $kind, search: $search, batchId: $batchId, engine: $engine) {
      edges { node { ...JobFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const CancelJob = graphql(`
  mutation SdkCancelJob($id: ID!) { cancelJob(id: $id) { ...JobFields } }
`);

export const RetryJob = graphql(`
  mutation SdkRetryJob($id: ID!) { retryJob(id: $id) { ...JobFields } }
`);

export const JobProgress = graphql(`
  subscription SdkJobProgress($id: ID!) {
    jobProgress(id: $id) { jobId kind status progress message etaSeconds queuePosition result error { code message } at }
  }
`);

export const JobEvents = graphql(`
  subscription SdkJobEvents {
    jobs { jobId kind status progress message etaSeconds queuePosition result error { code message } at batchId }
  }
`);

export const Batch = graphql(`
  query SdkBatch($id: ID!) {
    batch(id: $id) {
      id
      total
      createdAt
      metadata
      progress { batchId status progress total queued processing completed failed cancelled cost }
      jobs { ...JobFields }
    }
  }
`);

export const BatchProgress = graphql(`
  subscription SdkBatchProgress($id: ID!) {
    batchProgress(id: $id) { batchId status progress total queued processing completed failed cancelled cost }
  }
`);

export const Voices = graphql(`
  query SdkVoices { voices { id name language gender engine } }
`);

export const Stats = graphql(`
  query SdkStats($everyone: Boolean) {
    stats(everyone: $everyone) { total byStatus { status count } byKind { kind count } }
  }
`);

// Admin views (the dashboard's admin pages).

export const Workers = graphql(`
  query SdkWorkers {
    workers {
      id
      host
      pid
      status
      engines
      models
      startedAt
      lastHeartbeat
      runningJobs
      executionProvider
      gpus { id name totalVram usedVram temperature utilization powerDraw }
      system { cpuPercent usedRam totalRam }
    }
    queues { engine paused waiting running delayed failed }
  }
`);

export const GpuTelemetry = graphql(`
  subscription SdkGpuTelemetry {
    gpuTelemetry {
      at
      gpus { id name workerId totalVram usedVram temperature utilization powerDraw }
      system { cpuPercent usedRam totalRam }
      allocations { jobId device vramBytes workerId }
    }
  }
`);

export const Queues = graphql(`
  query SdkQueues { queues { engine paused waiting running delayed failed } }
`);

export const Costs = graphql(`
  query SdkCosts($groupBy: CostGroup!, $from: DateTime, $to: DateTime) {
    costs(groupBy: $groupBy, from: $from, to: $to) { key count totalCost averageGenerationMs }
  }
`);

export const Providers = graphql(`
  query SdkProviders {
    providers { id name type isActive isDefault health costPerImage creditsRemaining creditsCheckedAt priority }
    alerts(limit: 20) { id kind message providerName at }
  }
`);

export const ProviderCredits = graphql(`
  query SdkProviderCredits($id: ID!) { providerCredits(id: $id) { credits hasCredits checkedAt } }
`);

export const Alerts = graphql(`
  subscription SdkAlerts { alerts { id kind message providerName at } }
`);

export const Users = graphql(`
  query SdkUsers { users { id username role createdAt } }
`);

export const CreateUser = graphql(`
  mutation SdkCreateUser($username: String!, $password: String!, $role: UserRole) {
    createUser(username: $username, password: $password, role: $role) { id username role createdAt }
  }
`);

export const ApiKeys = graphql(`
  query SdkApiKeys { apiKeys { id name prefix scopes createdAt lastUsedAt revokedAt } }
`);

export const CreateApiKey = graphql(`
  mutation SdkCreateApiKey($name: String!, $scopes: [ApiScope!], $userId: ID) {
    createApiKey(name: $name, scopes: $scopes, userId: $userId) { secret apiKey { id name prefix scopes createdAt lastUsedAt revokedAt } }
  }
`);

export const RevokeApiKey = graphql(`
  mutation SdkRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }
`);

export const UserQuota = graphql(`
  query SdkUserQuota($userId: ID) {
    userQuota(userId: $userId) { imagesPerDay videosPerDay maxResolution maxDurationSeconds maxFrames }
  }
`);

export const SetUserQuota = graphql(`
  mutation SdkSetUserQuota($userId: ID!, $input: UserQuotaInput!) {
    setUserQuota(userId: $userId, input: $input) { imagesPerDay videosPerDay maxResolution maxDurationSeconds maxFrames }
  }
`);
