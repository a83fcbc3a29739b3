/* eslint-disable */
import * as types from './graphql.ts';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment JobFields on Job {\n    id\n    kind\n    status\n    progress\n    statusMessage\n    engine\n    priority\n    cost\n    createdAt\n    startedAt\n    finishedAt\n    queuePosition\n    etaSeconds\n    queuedMs\n    runMs\n    batchId\n    input\n    result\n    error { code message }\n    assets { id kind mime bytes width height durationSeconds url }\n    owner { id username }\n  }\n": typeof types.JobFieldsFragmentDoc,
    "\n  mutation SdkLogin($username: String!, $password: String!) {\n    login(username: $username, password: $password) { accessToken expiresIn tokenType }\n  }\n": typeof types.SdkLoginDocument,
    "\n  query SdkMe { me { id username role } }\n": typeof types.SdkMeDocument,
    "\n  mutation SdkGenerateImage($input: GenerateImageInput!) { generateImage(input: $input) { ...JobFields } }\n": typeof types.SdkGenerateImageDocument,
    "\n  mutation SdkGenerateVideo($input: GenerateVideoInput!) { generateVideo(input: $input) { ...JobFields } }\n": typeof types.SdkGenerateVideoDocument,
    "\n  mutation SdkSynthesizeSpeech($input: SynthesizeSpeechInput!) { synthesizeSpeech(input: $input) { ...JobFields } }\n": typeof types.SdkSynthesizeSpeechDocument,
    "\n  mutation SdkGenerateTalkingHead($input: GenerateTalkingHeadInput!) { generateTalkingHead(input: $input) { ...JobFields } }\n": typeof types.SdkGenerateTalkingHeadDocument,
    "\n  mutation SdkGenerateBatch($requests: [GenerateImageInput!]!, $priority: Int, $metadata: JSON) {\n    generateBatch(requests: $requests, priority: $priority, metadata: $metadata) {\n      id\n      total\n      createdAt\n      progress { batchId status progress total queued processing completed failed cancelled cost }\n      jobs { ...JobFields }\n    }\n  }\n": typeof types.SdkGenerateBatchDocument,
    "\n  mutation SdkUploadAsset($file: File!) {\n    uploadAsset(file: $file) { id kind mime bytes width height durationSeconds filename url }\n  }\n": typeof types.SdkUploadAssetDocument,
    "\n  query SdkJob($id: ID!) {\n    job(id: $id) {\n      ...JobFields\n      preview\n      stepDurationsMs\n      timeoutSeconds\n      attempt\n      logs { at level message }\n    }\n  }\n": typeof types.SdkJobDocument,
    "\n  query SdkJobs($first: Int, $after: String, $status: JobStatus, $kind: JobKind, $search: String, $batchId: ID, $engine: String) {\n    jobs(first: $first, after: $after, status: $status, kind: $kind, search: $search, batchId: $batchId, engine: $engine) {\n      edges { node { ...JobFields } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.SdkJobsDocument,
    "\n  mutation SdkCancelJob($id: ID!) { cancelJob(id: $id) { ...JobFields } }\n": typeof types.SdkCancelJobDocument,
    "\n  mutation SdkRetryJob($id: ID!) { retryJob(id: $id) { ...JobFields } }\n": typeof types.SdkRetryJobDocument,
    "\n  subscription SdkJobProgress($id: ID!) {\n    jobProgress(id: $id) { jobId kind status progress message etaSeconds queuePosition result error { code message } at }\n  }\n": typeof types.SdkJobProgressDocument,
    "\n  subscription SdkJobEvents {\n    jobs { jobId kind status progress message etaSeconds queuePosition result error { code message } at batchId }\n  }\n": typeof types.SdkJobEventsDocument,
    "\n  query SdkBatch($id: ID!) {\n    batch(id: $id) {\n      id\n      total\n      createdAt\n      metadata\n      progress { batchId status progress total queued processing completed failed cancelled cost }\n      jobs { ...JobFields }\n    }\n  }\n": typeof types.SdkBatchDocument,
    "\n  subscription SdkBatchProgress($id: ID!) {\n    batchProgress(id: $id) { batchId status progress total queued processing completed failed cancelled cost }\n  }\n": typeof types.SdkBatchProgressDocument,
    "\n  query SdkVoices { voices { id name language gender engine } }\n": typeof types.SdkVoicesDocument,
    "\n  query SdkStats($everyone: Boolean) {\n    stats(everyone: $everyone) { total byStatus { status count } byKind { kind count } }\n  }\n": typeof types.SdkStatsDocument,
    "\n  query SdkWorkers {\n    workers {\n      id\n      host\n      pid\n      status\n      engines\n      models\n      startedAt\n      lastHeartbeat\n      runningJobs\n      executionProvider\n      gpus { id name totalVram usedVram temperature utilization powerDraw }\n      system { cpuPercent usedRam totalRam }\n    }\n    queues { engine paused waiting running delayed failed }\n  }\n": typeof types.SdkWorkersDocument,
    "\n  subscription SdkGpuTelemetry {\n    gpuTelemetry {\n      at\n      gpus { id name workerId totalVram usedVram temperature utilization powerDraw }\n      system { cpuPercent usedRam totalRam }\n      allocations { jobId device vramBytes workerId }\n    }\n  }\n": typeof types.SdkGpuTelemetryDocument,
    "\n  query SdkQueues { queues { engine paused waiting running delayed failed } }\n": typeof types.SdkQueuesDocument,
    "\n  query SdkCosts($groupBy: CostGroup!, $from: DateTime, $to: DateTime) {\n    costs(groupBy: $groupBy, from: $from, to: $to) { key count totalCost averageGenerationMs }\n  }\n": typeof types.SdkCostsDocument,
    "\n  query SdkProviders {\n    providers { id name type isActive isDefault health costPerImage creditsRemaining creditsCheckedAt priority }\n    alerts(limit: 20) { id kind message providerName at }\n  }\n": typeof types.SdkProvidersDocument,
    "\n  query SdkProviderCredits($id: ID!) { providerCredits(id: $id) { credits hasCredits checkedAt } }\n": typeof types.SdkProviderCreditsDocument,
    "\n  subscription SdkAlerts { alerts { id kind message providerName at } }\n": typeof types.SdkAlertsDocument,
    "\n  query SdkUsers { users { id username role createdAt } }\n": typeof types.SdkUsersDocument,
    "\n  mutation SdkCreateUser($username: String!, $password: String!, $role: UserRole) {\n    createUser(username: $username, password: $password, role: $role) { id username role createdAt }\n  }\n": typeof types.SdkCreateUserDocument,
    "\n  query SdkApiKeys { apiKeys { id name prefix scopes createdAt lastUsedAt revokedAt } }\n": typeof types.SdkApiKeysDocument,
    "\n  mutation SdkCreateApiKey($name: String!, $scopes: [ApiScope!], $userId: ID) {\n    createApiKey(name: $name, scopes: $scopes, userId: $userId) { secret apiKey { id name prefix scopes createdAt lastUsedAt revokedAt } }\n  }\n": typeof types.SdkCreateApiKeyDocument,
    "\n  mutation SdkRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }\n": typeof types.SdkRevokeApiKeyDocument,
    "\n  query SdkUserQuota($userId: ID) {\n    userQuota(userId: $userId) { imagesPerDay videosPerDay maxResolution maxDurationSeconds maxFrames }\n  }\n": typeof types.SdkUserQuotaDocument,
    "\n  mutation SdkSetUserQuota($userId: ID!, $input: UserQuotaInput!) {\n    setUserQuota(userId: $userId, input: $input) { imagesPerDay videosPerDay maxResolution maxDurationSeconds maxFrames }\n  }\n": typeof types.SdkSetUserQuotaDocument,
};
const documents: Documents = {
    "\n  fragment JobFields on Job {\n    id\n    kind\n    status\n    progress\n    statusMessage\n    engine\n    priority\n    cost\n    createdAt\n    startedAt\n    finishedAt\n    queuePosition\n    etaSeconds\n    queuedMs\n    runMs\n    batchId\n    input\n    result\n    error { code message }\n    assets { id kind mime bytes width height durationSeconds url }\n    owner { id username }\n  }\n": types.JobFieldsFragmentDoc,
    "\n  mutation SdkLogin($username: String!, $password: String!) {\n    login(username: $username, password: $password) { accessToken expiresIn tokenType }\n  }\n": types.SdkLoginDocument,
    "\n  query SdkMe { me { id username role } }\n": types.SdkMeDocument,
    "\n  mutation SdkGenerateImage($input: GenerateImageInput!) { generateImage(input: $input) { ...JobFields } }\n": types.SdkGenerateImageDocument,
    "\n  mutation SdkGenerateVideo($input: GenerateVideoInput!) { generateVideo(input: $input) { ...JobFields } }\n": types.SdkGenerateVideoDocument,
    "\n  mutation SdkSynthesizeSpeech($input: SynthesizeSpeechInput!) { synthesizeSpeech(input: $input) { ...JobFields } }\n": types.SdkSynthesizeSpeechDocument,
    "\n  mutation SdkGenerateTalkingHead($input: GenerateTalkingHeadInput!) { generateTalkingHead(input: $input) { ...JobFields } }\n": types.SdkGenerateTalkingHeadDocument,
    "\n  mutation SdkGenerateBatch($requests: [GenerateImageInput!]!, $priority: Int, $metadata: JSON) {\n    generateBatch(requests: $requests, priority: $priority, metadata: $metadata) {\n      id\n      total\n      createdAt\n      progress { batchId status progress total queued processing completed failed cancelled cost }\n      jobs { ...JobFields }\n    }\n  }\n": types.SdkGenerateBatchDocument,
    "\n  mutation SdkUploadAsset($file: File!) {\n    uploadAsset(file: $file) { id kind mime bytes width height durationSeconds filename url }\n  }\n": types.SdkUploadAssetDocument,
    "\n  query SdkJob($id: ID!) {\n    job(id: $id) {\n      ...JobFields\n      preview\n      stepDurationsMs\n      timeoutSeconds\n      attempt\n      logs { at level message }\n    }\n  }\n": types.SdkJobDocument,
    "\n  query SdkJobs($first: Int, $after: String, $status: JobStatus, $kind: JobKind, $search: String, $batchId: ID, $engine: String) {\n    jobs(first: $first, after: $after, status: $status, kind: $kind, search: $search, batchId: $batchId, engine: $engine) {\n      edges { node { ...JobFields } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.SdkJobsDocument,
    "\n  mutation SdkCancelJob($id: ID!) { cancelJob(id: $id) { ...JobFields } }\n": types.SdkCancelJobDocument,
    "\n  mutation SdkRetryJob($id: ID!) { retryJob(id: $id) { ...JobFields } }\n": types.SdkRetryJobDocument,
    "\n  subscription SdkJobProgress($id: ID!) {\n    jobProgress(id: $id) { jobId kind status progress message etaSeconds queuePosition result error { code message } at }\n  }\n": types.SdkJobProgressDocument,
    "\n  subscription SdkJobEvents {\n    jobs { jobId kind status progress message etaSeconds queuePosition result error { code message } at batchId }\n  }\n": types.SdkJobEventsDocument,
    "\n  query SdkBatch($id: ID!) {\n    batch(id: $id) {\n      id\n      total\n      createdAt\n      metadata\n      progress { batchId status progress total queued processing completed failed cancelled cost }\n      jobs { ...JobFields }\n    }\n  }\n": types.SdkBatchDocument,
    "\n  subscription SdkBatchProgress($id: ID!) {\n    batchProgress(id: $id) { batchId status progress total queued processing completed failed cancelled cost }\n  }\n": types.SdkBatchProgressDocument,
    "\n  query SdkVoices { voices { id name language gender engine } }\n": types.SdkVoicesDocument,
    "\n  query SdkStats($everyone: Boolean) {\n    stats(everyone: $everyone) { total byStatus { status count } byKind { kind count } }\n  }\n": types.SdkStatsDocument,
    "\n  query SdkWorkers {\n    workers {\n      id\n      host\n      pid\n      status\n      engines\n      models\n      startedAt\n      lastHeartbeat\n      runningJobs\n      executionProvider\n      gpus { id name totalVram usedVram temperature utilization powerDraw }\n      system { cpuPercent usedRam totalRam }\n    }\n    queues { engine paused waiting running delayed failed }\n  }\n": types.SdkWorkersDocument,
    "\n  subscription SdkGpuTelemetry {\n    gpuTelemetry {\n      at\n      gpus { id name workerId totalVram usedVram temperature utilization powerDraw }\n      system { cpuPercent usedRam totalRam }\n      allocations { jobId device vramBytes workerId }\n    }\n  }\n": types.SdkGpuTelemetryDocument,
    "\n  query SdkQueues { queues { engine paused waiting running delayed failed } }\n": types.SdkQueuesDocument,
    "\n  query SdkCosts($groupBy: CostGroup!, $from: DateTime, $to: DateTime) {\n    costs(groupBy: $groupBy, from: $from, to: $to) { key count totalCost averageGenerationMs }\n  }\n": types.SdkCostsDocument,
    "\n  query SdkProviders {\n    providers { id name type isActive isDefault health costPerImage creditsRemaining creditsCheckedAt priority }\n    alerts(limit: 20) { id kind message providerName at }\n  }\n": types.SdkProvidersDocument,
    "\n  query SdkProviderCredits($id: ID!) { providerCredits(id: $id) { credits hasCredits checkedAt } }\n": types.SdkProviderCreditsDocument,
    "\n  subscription SdkAlerts { alerts { id kind message providerName at } }\n": types.SdkAlertsDocument,
    "\n  query SdkUsers { users { id username role createdAt } }\n": types.SdkUsersDocument,
    "\n  mutation SdkCreateUser($username: String!, $password: String!, $role: UserRole) {\n    createUser(username: $username, password: $password, role: $role) { id username role createdAt }\n  }\n": types.SdkCreateUserDocument,
    "\n  query SdkApiKeys { apiKeys { id name prefix scopes createdAt lastUsedAt revokedAt } }\n": types.SdkApiKeysDocument,
    "\n  mutation SdkCreateApiKey($name: String!, $scopes: [ApiScope!], $userId: ID) {\n    createApiKey(name: $name, scopes: $scopes, userId: $userId) { secret apiKey { id name prefix scopes createdAt lastUsedAt revokedAt } }\n  }\n": types.SdkCreateApiKeyDocument,
    "\n  mutation SdkRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }\n": types.SdkRevokeApiKeyDocument,
    "\n  query SdkUserQuota($userId: ID) {\n    userQuota(userId: $userId) { imagesPerDay videosPerDay maxResolution maxDurationSeconds maxFrames }\n  }\n": types.SdkUserQuotaDocument,
    "\n  mutation SdkSetUserQuota($userId: ID!, $input: UserQuotaInput!) {\n    setUserQuota(userId: $userId, input: $input) { imagesPerDay videosPerDay maxResolution maxDurationSeconds maxFrames }\n  }\n": types.SdkSetUserQuotaDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment JobFields on Job {\n    id\n    kind\n    status\n    progress\n    statusMessage\n    engine\n    priority\n    cost\n    createdAt\n    startedAt\n    finishedAt\n    queuePosition\n    etaSeconds\n    queuedMs\n    runMs\n    batchId\n    input\n    result\n    error { code message }\n    assets { id kind mime bytes width height durationSeconds url }\n    owner { id username }\n  }\n"): typeof import('./graphql.ts').JobFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkLogin($username: String!, $password: String!) {\n    login(username: $username, password: $password) { accessToken expiresIn tokenType }\n  }\n"): typeof import('./graphql.ts').SdkLoginDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkMe { me { id username role } }\n"): typeof import('./graphql.ts').SdkMeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkGenerateImage($input: GenerateImageInput!) { generateImage(input: $input) { ...JobFields } }\n"): typeof import('./graphql.ts').SdkGenerateImageDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkGenerateVideo($input: GenerateVideoInput!) { generateVideo(input: $input) { ...JobFields } }\n"): typeof import('./graphql.ts').SdkGenerateVideoDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkSynthesizeSpeech($input: SynthesizeSpeechInput!) { synthesizeSpeech(input: $input) { ...JobFields } }\n"): typeof import('./graphql.ts').SdkSynthesizeSpeechDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkGenerateTalkingHead($input: GenerateTalkingHeadInput!) { generateTalkingHead(input: $input) { ...JobFields } }\n"): typeof import('./graphql.ts').SdkGenerateTalkingHeadDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkGenerateBatch($requests: [GenerateImageInput!]!, $priority: Int, $metadata: JSON) {\n    generateBatch(requests: $requests, priority: $priority, metadata: $metadata) {\n      id\n      total\n      createdAt\n      progress { batchId status progress total queued processing completed failed cancelled cost }\n      jobs { ...JobFields }\n    }\n  }\n"): typeof import('./graphql.ts').SdkGenerateBatchDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkUploadAsset($file: File!) {\n    uploadAsset(file: $file) { id kind mime bytes width height durationSeconds filename url }\n  }\n"): typeof import('./graphql.ts').SdkUploadAssetDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkJob($id: ID!) {\n    job(id: $id) {\n      ...JobFields\n      preview\n      stepDurationsMs\n      timeoutSeconds\n      attempt\n      logs { at level message }\n    }\n  }\n"): typeof import('./graphql.ts').SdkJobDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkJobs($first: Int, $after: String, $status: JobStatus, $kind: JobKind, $search: String, $batchId: ID, $engine: String) {\n    jobs(first: $first, after: $after, status: $status, kind: $kind, search: $search, batchId: $batchId, engine: $engine) {\n      edges { node { ...JobFields } }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): typeof import('./graphql.ts').SdkJobsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkCancelJob($id: ID!) { cancelJob(id: $id) { ...JobFields } }\n"): typeof import('./graphql.ts').SdkCancelJobDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkRetryJob($id: ID!) { retryJob(id: $id) { ...JobFields } }\n"): typeof import('./graphql.ts').SdkRetryJobDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription SdkJobProgress($id: ID!) {\n    jobProgress(id: $id) { jobId kind status progress message etaSeconds queuePosition result error { code message } at }\n  }\n"): typeof import('./graphql.ts').SdkJobProgressDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription SdkJobEvents {\n    jobs { jobId kind status progress message etaSeconds queuePosition result error { code message } at batchId }\n  }\n"): typeof import('./graphql.ts').SdkJobEventsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkBatch($id: ID!) {\n    batch(id: $id) {\n      id\n      total\n      createdAt\n      metadata\n      progress { batchId status progress total queued processing completed failed cancelled cost }\n      jobs { ...JobFields }\n    }\n  }\n"): typeof import('./graphql.ts').SdkBatchDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription SdkBatchProgress($id: ID!) {\n    batchProgress(id: $id) { batchId status progress total queued processing completed failed cancelled cost }\n  }\n"): typeof import('./graphql.ts').SdkBatchProgressDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkVoices { voices { id name language gender engine } }\n"): typeof import('./graphql.ts').SdkVoicesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkStats($everyone: Boolean) {\n    stats(everyone: $everyone) { total byStatus { status count } byKind { kind count } }\n  }\n"): typeof import('./graphql.ts').SdkStatsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkWorkers {\n    workers {\n      id\n      host\n      pid\n      status\n      engines\n      models\n      startedAt\n      lastHeartbeat\n      runningJobs\n      executionProvider\n      gpus { id name totalVram usedVram temperature utilization powerDraw }\n      system { cpuPercent usedRam totalRam }\n    }\n    queues { engine paused waiting running delayed failed }\n  }\n"): typeof import('./graphql.ts').SdkWorkersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription SdkGpuTelemetry {\n    gpuTelemetry {\n      at\n      gpus { id name workerId totalVram usedVram temperature utilization powerDraw }\n      system { cpuPercent usedRam totalRam }\n      allocations { jobId device vramBytes workerId }\n    }\n  }\n"): typeof import('./graphql.ts').SdkGpuTelemetryDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkQueues { queues { engine paused waiting running delayed failed } }\n"): typeof import('./graphql.ts').SdkQueuesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkCosts($groupBy: CostGroup!, $from: DateTime, $to: DateTime) {\n    costs(groupBy: $groupBy, from: $from, to: $to) { key count totalCost averageGenerationMs }\n  }\n"): typeof import('./graphql.ts').SdkCostsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkProviders {\n    providers { id name type isActive isDefault health costPerImage creditsRemaining creditsCheckedAt priority }\n    alerts(limit: 20) { id kind message providerName at }\n  }\n"): typeof import('./graphql.ts').SdkProvidersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkProviderCredits($id: ID!) { providerCredits(id: $id) { credits hasCredits checkedAt } }\n"): typeof import('./graphql.ts').SdkProviderCreditsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription SdkAlerts { alerts { id kind message providerName at } }\n"): typeof import('./graphql.ts').SdkAlertsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkUsers { users { id username role createdAt } }\n"): typeof import('./graphql.ts').SdkUsersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkCreateUser($username: String!, $password: String!, $role: UserRole) {\n    createUser(username: $username, password: $password, role: $role) { id username role createdAt }\n  }\n"): typeof import('./graphql.ts').SdkCreateUserDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkApiKeys { apiKeys { id name prefix scopes createdAt lastUsedAt revokedAt } }\n"): typeof import('./graphql.ts').SdkApiKeysDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkCreateApiKey($name: String!, $scopes: [ApiScope!], $userId: ID) {\n    createApiKey(name: $name, scopes: $scopes, userId: $userId) { secret apiKey { id name prefix scopes createdAt lastUsedAt revokedAt } }\n  }\n"): typeof import('./graphql.ts').SdkCreateApiKeyDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }\n"): typeof import('./graphql.ts').SdkRevokeApiKeyDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SdkUserQuota($userId: ID) {\n    userQuota(userId: $userId) { imagesPerDay videosPerDay maxResolution maxDurationSeconds maxFrames }\n  }\n"): typeof import('./graphql.ts').SdkUserQuotaDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SdkSetUserQuota($userId: ID!, $input: UserQuotaInput!) {\n    setUserQuota(userId: $userId, input: $input) { imagesPerDay videosPerDay maxResolution maxDurationSeconds maxFrames }\n  }\n"): typeof import('./graphql.ts').SdkSetUserQuotaDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
