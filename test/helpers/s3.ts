import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import S3rver from 's3rver';

export interface LocalS3 {
  /** STORAGE_URL for Atelier, path-style against this server. */
  storageUrl(options?: { redirect?: boolean; prefix?: string }): string;
  /** AWS_* variables s3rver accepts (its fixed development credentials). */
  env: Record<string, string>;
  endpoint: string;
  stop(): Promise<void>;
}

/** A real S3-compatible server (s3rver) on a free loopback port, with one bucket, data in a temp dir. */
export async function startLocalS3(bucket = 'atelier'): Promise<LocalS3> {
  const directory = mkdtempSync(path.join(tmpdir(), 'atelier-s3-'));
  const port = await getPort({ host: '127.0.0.1' });
  const server = new S3rver({ port, address: '127.0.0.1', directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' },
    storageUrl: ({ redirect = false, prefix = '' } = {}) =>
      `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true&redirect=${redirect}`,
    stop: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
