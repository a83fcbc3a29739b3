import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { pngBytes, postJson } from '../helpers/media.ts';
import { startApi, startProcess, type RunningProcess } from '../helpers/processes.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE = `mutation { generateImage(input: { prompt: "a lighthouse on s3", width: 64, height: 64 }) { id } }`;
const UPLOAD = `mutation Up($file: File!) { uploadAsset(file: $file) { id url bytes } }`;

/**
 * One API and one worker that share nothing but PostgreSQL, Redis and an S3 bucket (s3rver): the worker's own
 * PUBLIC_URL is deliberately wrong, and every URL a client gets must name the API it asked.
 */
describe('object storage and result URLs across machines', () => {
  let s3: LocalS3;
  let core: Core;
  let user: TestUser;
  let api: RunningProcess;
  let worker: RunningProcess;
  let port: number;
  let streaming: { api: RunningProcess; port: number };
  const objects = async () => {
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'atelier', Prefix: 'e2e/' }));
    client.destroy();
    return (listed.Contents ?? []).map((o) => o.Key!);
  };

  beforeAll(async () => {
    s3 = await startLocalS3();
    const env = { ...testEnv({ STORAGE_URL: s3.storageUrl({ prefix: 'e2e', redirect: true }) }), ...s3.env };
    core = await testCore(env);
    user = await createTestUser(core);
    ({ api, port } = await startApi(env));
    // A second API on the same bucket that streams files through itself instead of redirecting.
    streaming = await startApi({ ...env, STORAGE_URL: s3.storageUrl({ prefix: 'e2e', redirect: false }) });
    // Its own disk and a public URL nobody can reach: neither may leak into what clients see.
    worker = await startProcess('workers/main.ts', { ...env, DATA_DIR: `${env.DATA_DIR}-worker`, PUBLIC_URL: 'http://worker.invalid:9' });
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop(), streaming?.api.stop()]);
    await core?.close();
    await s3?.stop();
  });

  it('a generated image lands in the bucket, its URL names the host the client used, and /files redirects to a presigned URL', async () => {
    const auth = { authorization: `Bearer ${user.token}` };
    for (const host of ['127.0.0.1', 'localhost']) {
      const base = `http://${host}:${port}`;
      const submitted = await gql<{ generateImage: { id: string } }, object>(base, GENERATE, {}, user.token);
      const job = await waitForJob(base, user.token, submitted.data!.generateImage.id);
      expect(job.status).toBe('COMPLETED');
      expect(job.result!.urls).toEqual([expect.stringMatching(new RegExp(`^${base}/files/${job.result!.assetIds[0]}\\?exp=\\d+&sig=`))]);

      const redirect = await fetch(job.result!.urls[0]!, { headers: auth, redirect: 'manual' });
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get('location')).toMatch(new RegExp(`^${s3.endpoint}/atelier/e2e/assets/.*X-Amz-Signature=`));
      const file = await fetch(redirect.headers.get('location')!);
      expect(file.headers.get('content-type')).toBe('image/png');
      expect((await file.arrayBuffer()).byteLength).toBeGreaterThan(50);
    }
    // Without a credential the API refuses before any URL is signed.
    const anonymous = await fetch(`http://127.0.0.1:${port}/files/${(await objects())[0]!.split('/').pop()!.split('.')[0]}`, { redirect: 'manual' });
    expect(anonymous.status).toBe(401);
  });

  it('a REST face answers with its own host too, and an upload streams into the bucket', async () => {
    const answer = await postJson(`http://localhost:${port}/generate/image`, { prompt: 'rest on s3', width: 64, height: 64 }, { authorization: `Bearer ${user.token}` });
    expect(answer.status).toBe(200);
    expect(answer.body.image_urls).toEqual([expect.stringMatching(new RegExp(`^http://localhost:${port}/files/[0-9a-f-]{36}\\?exp=\\d+&sig=`))]);

    const png = await pngBytes();
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: UPLOAD, variables: { file: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'in.png');
    const uploaded = (await (await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}` } })).json()) as {
      data: { uploadAsset: { id: string; url: string; bytes: number } };
    };
    const asset = uploaded.data.uploadAsset;
    expect(asset.url).toMatch(new RegExp(`^http://127.0.0.1:${port}/files/${asset.id}\\?exp=\\d+&sig=`));
    expect((await objects()).some((key) => key.includes(asset.id))).toBe(true);
    const back = await fetch(asset.url, { headers: { authorization: `Bearer ${user.token}` } });
    expect(Buffer.from(await back.arrayBuffer()).equals(png)).toBe(true);

    // Streamed out through the other API, straight from the bucket.
    const streamed = await fetch(`http://127.0.0.1:${streaming.port}/files/${asset.id}`, { headers: { authorization: `Bearer ${user.token}` }, redirect: 'manual' });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await streamed.arrayBuffer()).equals(png)).toBe(true);

    // A file gone from the bucket is a clear 404, not a 500 or a broken 200.
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const key = (await objects()).find((k) => k.includes(asset.id))!;
    await client.send(new DeleteObjectCommand({ Bucket: 'atelier', Key: key }));
    client.destroy();
    const missing = await fetch(`http://127.0.0.1:${streaming.port}/files/${asset.id}`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(missing.status).toBe(404);
    expect(JSON.stringify(await missing.json())).toContain(`The file of asset ${asset.id} is missing from storage`);
  });
});
