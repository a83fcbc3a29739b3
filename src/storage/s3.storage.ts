import { createReadStream } from 'node:fs';
import { create as contentDisposition } from 'content-disposition';
import { PassThrough, Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Storage, StoredFile } from './storage.service.ts';

export interface S3Location {
  bucket: string;
  /** Key prefix inside the bucket, '' or ending in '/'. */
  prefix: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** `/files/{id}` answers with a redirect to a presigned URL instead of streaming the object through the API. */
  redirect: boolean;
  presignSeconds: number;
}

/**
 * Reads `s3://bucket/optional/prefix?endpoint=https://…&region=…&forcePathStyle=true&redirect=true&presignSeconds=300`.
 * Credentials are not part of it: the SDK reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the
 * instance role, as every AWS tool does.
 */
export function parseS3Url(raw: string): S3Location {
  const url = new URL(raw);
  if (url.protocol !== 's3:' || !url.hostname) throw new Error(`STORAGE_URL must look like s3://bucket?region=…, got "${raw}"`);
  const q = url.searchParams;
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  const presignSeconds = Number(q.get('presignSeconds') ?? 300);
  if (!Number.isInteger(presignSeconds) || presignSeconds < 1 || presignSeconds > 604_800) {
    throw new Error('STORAGE_URL presignSeconds must be a whole number of seconds from 1 to 604800');
  }
  return {
    bucket: url.hostname,
    prefix: prefix ? `${prefix}/` : '',
    endpoint: q.get('endpoint') ?? undefined,
    region: q.get('region') ?? process.env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: q.get('forcePathStyle') === 'true',
    redirect: q.get('redirect') === 'true',
    presignSeconds,
  };
}

/** Asset bytes in an S3-compatible bucket, shared by every API and worker whatever machine they run on. */
export class S3Storage implements Storage {
  readonly location: S3Location;
  private readonly client: S3Client;

  constructor(location: S3Location, client?: S3Client) {
    this.location = location;
    this.client =
      client ?? new S3Client({ region: location.region, endpoint: location.endpoint, forcePathStyle: location.forcePathStyle });
  }

  private key(key: string): string {
    if (!key || key.startsWith('/') || key.split('/').includes('..')) throw new Error(`Invalid storage key: ${key}`);
    return this.location.prefix + key;
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.location.bucket, Key: this.key(key), Body: data }));
  }

  /** Streams the file up in parts (multipart past 5 MB), so an upload of hundreds of MB never sits in memory. */
  async putFile(key: string, file: string): Promise<void> {
    await new Upload({
      client: this.client,
      params: { Bucket: this.location.bucket, Key: this.key(key), Body: createReadStream(file) },
      queueSize: 2,
    }).done();
  }

  /**
   * The object as a stream, returned at once as `Storage.open` promises; the request runs behind it and its
   * failure (a missing object included) surfaces as the stream's error.
   */
  open(key: string): Readable {
    const out = new PassThrough();
    this.client
      .send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.key(key) }))
      .then((answer) => {
        const body = answer.Body as Readable | undefined;
        if (!body) throw new Error(`Empty body for ${key}`);
        body.on('error', (error) => out.destroy(error));
        body.pipe(out);
      })
      .catch((error: Error) => out.destroy(error));
    return out;
  }

  async size(key: string): Promise<number> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.key(key) }));
    return head.ContentLength ?? 0;
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.key(key) }));
  }

  /** The bucket answers and this machine's credentials reach it; the reason, never the endpoint, on failure. */
  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.location.bucket }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      throw new Error(name ? `storage unavailable (${name})` : 'storage unavailable');
    }
  }

  async *list(prefix: string): AsyncIterable<StoredFile> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.key(prefix), ContinuationToken }));
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key.slice(this.location.prefix.length), modifiedAt: object.LastModified ?? new Date(0) };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /** A time-limited URL the client fetches straight from the bucket, or null when redirects are off. */
  async downloadUrl(key: string, options: { mime: string; filename?: string | null }): Promise<string | null> {
    if (!this.location.redirect) return null;
    const command = new GetObjectCommand({
      Bucket: this.location.bucket,
      Key: this.key(key),
      ResponseContentType: options.mime,
      ResponseContentDisposition: options.filename ? contentDisposition(options.filename, { type: 'inline' }) : undefined,
    });
    return getSignedUrl(this.client, command, { expiresIn: this.location.presignSeconds });
  }
}
