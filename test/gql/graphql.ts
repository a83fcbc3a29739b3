/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type GenerateImageInput = {
  /** A character profile whose prompt fragments and seed apply. */
  characterId?: string | number | null | undefined;
  /** builtin, onnx, comfyui or provider; default from the project preset or DEFAULT_ENGINE. */
  engine?: string | null | undefined;
  /** Passed to the engine or provider as is. */
  extraParams?: unknown;
  /** onnx engine: the GPU to prefer when it has room, e.g. "1" or "cuda:1". */
  gpuPreference?: string | null | undefined;
  /** 0–30. Default 7.5. */
  guidance?: number | null | undefined;
  /** 64–2048, a multiple of 8. Default 512. */
  height?: number | null | undefined;
  /** The same key with the same input within 24 h returns the first job instead of a new one; with another input it is refused (IDEMPOTENCY_KEY_REUSED). */
  idempotencyKey?: string | null | undefined;
  /** img2img (onnx engine): an uploaded or generated image to start from. */
  initImageAssetId?: string | number | null | undefined;
  /** A local model pack (see `models`); implies engine onnx. Default: ONNX_DEFAULT_MODEL or the first pack. */
  model?: string | null | undefined;
  negativePrompt?: string | null | undefined;
  /** 1–4. Default 1. */
  numImages?: number | null | undefined;
  /** 1 runs first, 10 last. Default 5. */
  priority?: number | null | undefined;
  /** A project preset whose style and default engine apply. */
  projectId?: string | number | null | undefined;
  /** 1–4000 characters. */
  prompt: string;
  /** A configured provider to generate with. */
  providerId?: string | null | undefined;
  /** Same prompt and seed give the same image. Random when absent. */
  seed?: number | null | undefined;
  /** 1–150. Default 30. */
  steps?: number | null | undefined;
  /** img2img: how much of the start image to repaint, (0, 1]. Default 0.75. */
  strength?: number | null | undefined;
  /** e.g. realistic, art, anime; also used to route to a provider. */
  style?: string | null | undefined;
  /** Seconds the job may run, 30–300. Default 300. */
  timeout?: number | null | undefined;
  /** Send this job's events to a URL (ignored inside generateBatch requests). */
  webhook?: WebhookInput | null | undefined;
  /** 64–2048, a multiple of 8. Default 512. */
  width?: number | null | undefined;
};

export type JobKind =
  | 'IMAGE'
  | 'SPEECH'
  | 'TALKING_HEAD'
  | 'VIDEO'
  | 'WORKFLOW';

export type JobStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'PROCESSING'
  | 'QUEUED';

export type WebhookEvent =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'PROGRESS'
  | 'STARTED';

/** Where to send this job's events, signed per Standard Webhooks with your `webhookSecret` (webhook-id, webhook-timestamp, webhook-signature). */
export type WebhookInput = {
  /** Default: all of them. */
  events?: Array<WebhookEvent> | null | undefined;
  /** http(s); loopback and private addresses only when listed in WEBHOOK_ALLOWED_HOSTS. */
  url: string;
};

export type E2ELoginMutationVariables = Exact<{
  username: string;
  password: string;
}>;


export type E2ELoginMutation = { login: { accessToken: string, tokenType: string, expiresIn: number } };

export type E2EGenerateImageMutationVariables = Exact<{
  input: GenerateImageInput;
}>;


export type E2EGenerateImageMutation = { generateImage: { id: string, status: JobStatus, progress: number, kind: JobKind } };

export type E2EJobQueryVariables = Exact<{
  id: string | number;
}>;


export type E2EJobQuery = { job: { id: string, status: JobStatus, progress: number, result: unknown, assets: Array<{ id: string, url: string, width: number | null, height: number | null, mime: string, sha256: string }> } };


export const E2ELoginDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"E2ELogin"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"username"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"password"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"login"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"username"},"value":{"kind":"Variable","name":{"kind":"Name","value":"username"}}},{"kind":"Argument","name":{"kind":"Name","value":"password"},"value":{"kind":"Variable","name":{"kind":"Name","value":"password"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"tokenType"}},{"kind":"Field","name":{"kind":"Name","value":"expiresIn"}}]}}]}}]} as unknown as DocumentNode<E2ELoginMutation, E2ELoginMutationVariables>;
export const E2EGenerateImageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"E2EGenerateImage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"GenerateImageInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"generateImage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}}]}}]}}]} as unknown as DocumentNode<E2EGenerateImageMutation, E2EGenerateImageMutationVariables>;
export const E2EJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"E2EJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"job"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"result"}},{"kind":"Field","name":{"kind":"Name","value":"assets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}},{"kind":"Field","name":{"kind":"Name","value":"mime"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}}]}}]}}]}}]} as unknown as DocumentNode<E2EJobQuery, E2EJobQueryVariables>;