import { createClient, type Client as WsClient } from 'graphql-ws';
import type {
  GenerateImageInput,
  GenerateTalkingHeadInput,
  GenerateVideoInput,
  JobFieldsFragment,
  JobKind,
  JobStatus,
  SdkJobQuery,
  SdkJobProgressSubscription,
  SdkJobsQueryVariables,
  SynthesizeSpeechInput,
  TypedDocumentString,
} from './gql/graphql.ts';
import * as ops from './operations.ts';

export type Job = JobFieldsFragment;
export type JobDetail = SdkJobQuery['job'];
export type JobEvent = SdkJobProgressSubscription['jobProgress'];
export type Asset = Job['assets'][number];
export type { GenerateImageInput, GenerateTalkingHeadInput, GenerateVideoInput, JobKind, JobStatus, SynthesizeSpeechInput };

/** The four kinds a client generates, by their CLI names. */
export const GENERATION_KINDS = ['image', 'video', 'speech', 'talking-head'] as const;
export type GenerationKind = (typeof GENERATION_KINDS)[number];
export type GenerationInput<K extends GenerationKind> = {
  image: GenerateImageInput;
  video: GenerateVideoInput;
  speech: SynthesizeSpeechInput;
  'talking-head': GenerateTalkingHeadInput;
}[K];

export const FINISHED: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** What went wrong, with the server's code (extensions.code) or UNREACHABLE / HTTP_<status> / JOB_<status>. */
export class AtelierError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'AtelierError';
    this.code = code;
    this.details = details;
  }
}

export interface AtelierOptions {
  /** The API's address, e.g. http://127.0.0.1:4000. */
  url: string;
  /** A JWT (from login) or an API key. */
  token?: string | null;
}

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown } }[];
}

const failure = (errors: NonNullable<GraphQLAnswer<unknown>['errors']>) => {
  const first = errors[0]!;
  const { code, ...details } = first.extensions ?? {};
  return new AtelierError(code ?? 'GRAPHQL_ERROR', first.message, details);
};

/**
 * A typed client for Atelier's GraphQL API: queries and mutations over HTTP, progress over graphql-ws.
 * Works in Node (22+) and in browsers; file helpers that touch the disk are in node.ts.
 */
export class Atelier {
  readonly url: string;
  private currentToken: string | null;
  private ws: WsClient | null = null;

  constructor(options: AtelierOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.currentToken = options.token ?? null;
  }

  get token(): string | null {
    return this.currentToken;
  }

  /** Changes the credential; an open socket is closed, since it was authenticated as someone else. */
  set token(token: string | null) {
    this.currentToken = token;
    void this.ws?.dispose();
    this.ws = null;
  }

  private headers(): Record<string, string> {
    return this.currentToken ? { authorization: `Bearer ${this.currentToken}` } : {};
  }

  /** Sends any typed document over HTTP and answers its data, or throws the first error as an AtelierError. */
  async request<R, V>(document: TypedDocumentString<R, V>, variables?: V): Promise<R> {
    const body = JSON.stringify({ query: document.toString(), variables: variables ?? {} });
    return this.answer<R>(await this.post({ 'content-type': 'application/json' }, body));
  }

  private async post(headers: Record<string, string>, body: BodyInit): Promise<Response> {
    try {
      return await fetch(`${this.url}/graphql`, { method: 'POST', headers: { ...this.headers(), ...headers }, body });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new AtelierError('UNREACHABLE', `Cannot reach Atelier at ${this.url} (${cause?.code ?? cause?.message ?? (error as Error).message})`);
    }
  }

  private async answer<R>(response: Response): Promise<R> {
    let parsed: GraphQLAnswer<R>;
    try {
      parsed = (await response.json()) as GraphQLAnswer<R>;
    } catch {
      throw new AtelierError(`HTTP_${response.status}`, `Atelier at ${this.url} answered HTTP ${response.status} without a GraphQL body`);
    }
    if (parsed.errors?.length) throw failure(parsed.errors);
    if (!parsed.data) throw new AtelierError(`HTTP_${response.status}`, `Atelier answered HTTP ${response.status} without data`);
    return parsed.data;
  }

  private socket(): WsClient {
    this.ws ??= createClient({
      url: `${this.url.replace(/^http/, 'ws')}/graphql`,
      connectionParams: () => this.headers(),
      retryAttempts: 3,
      // No socket is held open between subscriptions.
      lazy: true,
    });
    return this.ws;
  }

  /** A subscription as an async iterator; breaking out of the loop unsubscribes. */
  async *subscribe<R, V>(document: TypedDocumentString<R, V>, variables?: V): AsyncGenerator<R> {
    const iterator = this.socket().iterate<R>({ query: document.toString(), variables: (variables ?? {}) as Record<string, unknown> });
    try {
      for await (const result of iterator) {
        if (result.errors?.length) throw failure(result.errors as never);
        yield result.data as R;
      }
    } catch (error) {
      if (error instanceof AtelierError) throw error;
      // graphql-ws rejects with a CloseEvent, an Error, or the server's error list.
      if (Array.isArray(error)) throw failure(error);
      const reason = (error as { reason?: string; message?: string }).reason || (error as Error).message || 'connection closed';
      throw new AtelierError('UNREACHABLE', `Progress stream from ${this.url} failed: ${reason}`);
    } finally {
      await iterator.return?.();
    }
  }

  /** Logs in and keeps the token for every later call. */
  async login(username: string, password: string): Promise<string> {
    const { login } = await this.request(ops.Login, { username, password });
    this.token = login.accessToken;
    return login.accessToken;
  }

  async me() {
    return (await this.request(ops.Me)).me;
  }

  async generateImage(input: GenerateImageInput): Promise<Job> {
    return (await this.request(ops.GenerateImage, { input })).generateImage;
  }

  async generateVideo(input: GenerateVideoInput): Promise<Job> {
    return (await this.request(ops.GenerateVideo, { input })).generateVideo;
  }

  async synthesizeSpeech(input: SynthesizeSpeechInput): Promise<Job> {
    return (await this.request(ops.SynthesizeSpeech, { input })).synthesizeSpeech;
  }

  async generateTalkingHead(input: GenerateTalkingHeadInput): Promise<Job> {
    return (await this.request(ops.GenerateTalkingHead, { input })).generateTalkingHead;
  }

  /** Submits one job of any kind. */
  generate<K extends GenerationKind>(kind: K, input: GenerationInput<K>): Promise<Job> {
    switch (kind) {
      case 'image':
        return this.generateImage(input as GenerateImageInput);
      case 'video':
        return this.generateVideo(input as GenerateVideoInput);
      case 'speech':
        return this.synthesizeSpeech(input as SynthesizeSpeechInput);
      case 'talking-head':
        return this.generateTalkingHead(input as GenerateTalkingHeadInput);
      default:
        throw new AtelierError('BAD_USER_INPUT', `Unknown kind "${kind}"; one of ${GENERATION_KINDS.join(', ')}`);
    }
  }

  /** Up to 100 image requests, accepted or refused whole. */
  async generateBatch(requests: GenerateImageInput[], options: { priority?: number; metadata?: unknown } = {}) {
    return (await this.request(ops.GenerateBatch, { requests, priority: options.priority, metadata: options.metadata })).generateBatch;
  }

  /** Uploads an image or audio file (a Blob or File) for img2img, video or talking-head inputs. */
  async upload(file: Blob, filename = (file as File).name ?? 'upload') {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: ops.UploadAsset.toString(), variables: { file: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', file, filename);
    const data = await this.answer<{ uploadAsset: Asset & { filename: string | null } }>(await this.post({}, form));
    return data.uploadAsset;
  }

  async job(id: string): Promise<JobDetail> {
    return (await this.request(ops.Job, { id })).job;
  }

  /** Your jobs, newest first (everyone's for an admin). */
  async jobs(filter: SdkJobsQueryVariables = {}) {
    const { jobs } = await this.request(ops.Jobs, { first: 20, ...filter });
    return { jobs: jobs.edges.map((e) => e.node), hasMore: jobs.pageInfo.hasNextPage, cursor: jobs.pageInfo.endCursor };
  }

  async cancel(id: string): Promise<Job> {
    return (await this.request(ops.CancelJob, { id })).cancelJob;
  }

  async retry(id: string): Promise<Job> {
    return (await this.request(ops.RetryJob, { id })).retryJob;
  }

  /** The job's state now, then every change, until it has finished (the iterator then ends). */
  async *follow(id: string): AsyncGenerator<JobEvent> {
    for await (const { jobProgress } of this.subscribe(ops.JobProgress, { id })) {
      yield jobProgress;
      if (FINISHED.includes(jobProgress.status)) return;
    }
  }

  /**
   * Follows the job until it has finished and answers it as stored; a job that failed or was cancelled
   * throws, with the job's error code.
   */
  async wait(id: string, onEvent?: (event: JobEvent) => void): Promise<JobDetail> {
    for await (const event of this.follow(id)) onEvent?.(event);
    const job = await this.job(id);
    if (job.status === 'FAILED') throw new AtelierError(job.error?.code ?? 'JOB_FAILED', job.error?.message ?? `Job ${id} failed`, { jobId: id });
    if (job.status === 'CANCELLED') throw new AtelierError('JOB_CANCELLED', `Job ${id} was cancelled`, { jobId: id });
    return job;
  }

  /** The bytes of one result file (its URL is signed; the token is sent as well for unsigned ones). */
  async download(asset: Pick<Asset, 'url'> | string): Promise<{ data: Uint8Array; mime: string }> {
    const url = typeof asset === 'string' ? asset : asset.url;
    let response: Response;
    try {
      response = await fetch(url, { headers: this.headers() });
    } catch (error) {
      throw new AtelierError('UNREACHABLE', `Cannot download ${url} (${(error as Error).message})`);
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
      throw new AtelierError(body?.error?.code ?? `HTTP_${response.status}`, body?.error?.message ?? `Download answered HTTP ${response.status}`);
    }
    return { data: new Uint8Array(await response.arrayBuffer()), mime: response.headers.get('content-type') ?? 'application/octet-stream' };
  }

  /** Closes the progress socket, if one is open. */
  async close(): Promise<void> {
    await this.ws?.dispose();
    this.ws = null;
  }
}
