import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { pngBytes, wavBytes } from '../helpers/media.ts';
import { startApi, type RunningProcess } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE = `mutation ($input: GenerateImageInput!) { generateImage(input: $input) { id status } }`;

// Only the API: idempotency is decided before any worker sees a job.
describe('idempotency keys', () => {
  const env = testEnv();
  let api: RunningProcess;
  let url: string;
  let core: Core;
  let user: TestUser;

  const generate = (input: Record<string, unknown>, token = user.token) =>
    gql<{ generateImage: { id: string } }, unknown>(url, GENERATE, { input: { prompt: 'same', width: 64, height: 64, ...input } }, token);
  const rest = (body: Record<string, unknown>, key: string, token = user.token) =>
    fetch(`${url}/generate/image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': key, prefer: 'respond-async' },
      body: JSON.stringify(body),
    });
  const jobsOf = (userId: string) => core.orm.em.fork().count(Job, { owner: userId });

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
  });

  afterAll(async () => {
    await api?.stop();
    await core?.close();
  });

  it('GraphQL: the same key and input give the same job; another input under that key is refused', async () => {
    const before = await jobsOf(user.id);
    const first = await generate({ idempotencyKey: 'gql-1', seed: 1 });
    const again = await generate({ idempotencyKey: 'gql-1', seed: 1 });
    expect(first.errors).toBeUndefined();
    expect(again.data!.generateImage.id).toBe(first.data!.generateImage.id);
    const other = await generate({ idempotencyKey: 'gql-1', seed: 2 });
    expect(other.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await jobsOf(user.id)).toBe(before + 1);
    // Without a key every submit is a new job.
    const a = await generate({ seed: 1 });
    const b = await generate({ seed: 1 });
    expect(a.data!.generateImage.id).not.toBe(b.data!.generateImage.id);
  });

  it('GraphQL: ten concurrent identical submits make one job', async () => {
    const before = await jobsOf(user.id);
    const answers = await Promise.all(Array.from({ length: 10 }, () => generate({ idempotencyKey: 'gql-race', seed: 7 })));
    const ids = new Set(answers.map((a) => a.data?.generateImage.id));
    expect(answers.flatMap((a) => a.errors ?? [])).toEqual([]);
    expect(ids.size).toBe(1);
    expect(await jobsOf(user.id)).toBe(before + 1);
  });

  it('REST: the same Idempotency-Key and body answer the same task with 200; another body 409', async () => {
    const before = await jobsOf(user.id);
    const body = { prompt: 'rest same', width: 64, height: 64, seed: 3 };
    const first = await rest(body, 'rest-1');
    const again = await rest(body, 'rest-1');
    expect([first.status, again.status]).toEqual([200, 200]);
    const [a, b] = (await Promise.all([first.json(), again.json()])) as { task_id: string }[];
    expect(b!.task_id).toBe(a!.task_id);
    const changed = await rest({ ...body, seed: 4 }, 'rest-1');
    expect(changed.status).toBe(409);
    expect(await changed.json()).toMatchObject({ type: 'idempotency_key_reused', detail: expect.stringContaining('different request') });
    expect(await jobsOf(user.id)).toBe(before + 1);
  });

  it('REST: two concurrent identical submits make one job', async () => {
    const before = await jobsOf(user.id);
    const body = { prompt: 'rest race', width: 64, height: 64, seed: 5 };
    const answers = await Promise.all([rest(body, 'rest-race'), rest(body, 'rest-race')]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    const ids = (await Promise.all(answers.map((r) => r.json()))) as { task_id: string }[];
    expect(ids[0]!.task_id).toBe(ids[1]!.task_id);
    expect(await jobsOf(user.id)).toBe(before + 1);
  });

  it('REST multipart: the key guards the uploaded files by content, not by their new asset ids', async () => {
    const [image, audio] = [await pngBytes(), wavBytes()];
    const post = (key: string, cache: string) => {
      const body = new FormData();
      body.append('image_file', new Blob([new Uint8Array(image)]), 'person.png');
      body.append('audio_file', new Blob([new Uint8Array(audio)]), 'speech.wav');
      body.append('use_cache', cache);
      return fetch(`${url}/api/v1/inference/hallo2`, { method: 'POST', body, headers: { authorization: `Bearer ${user.token}`, 'idempotency-key': key } });
    };
    const first = await post('form-1', 'true');
    const again = await post('form-1', 'true');
    expect([first.status, again.status]).toEqual([200, 200]);
    const [a, b] = (await Promise.all([first.json(), again.json()])) as { task_id: string }[];
    expect(b!.task_id).toBe(a!.task_id);
    const changed = await post('form-1', 'false');
    expect(changed.status).toBe(409);
    expect(await changed.json()).toMatchObject({ error_code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('keys belong to one user, and one face cannot replay the other\'s request', async () => {
    const other = await createTestUser(core);
    const mine = await generate({ idempotencyKey: 'shared-key', seed: 9 });
    const theirs = await generate({ idempotencyKey: 'shared-key', seed: 9 }, other.token);
    expect(theirs.data!.generateImage.id).not.toBe(mine.data!.generateImage.id);
    const viaRest = await rest({ prompt: 'same', width: 64, height: 64, seed: 9 }, 'shared-key');
    expect(viaRest.status).toBe(409);
  });

  it('forgets a key after IDEMPOTENCY_TTL_HOURS (24 h)', async () => {
    const first = await generate({ idempotencyKey: 'old-key', seed: 11 });
    // The key's clock is its row's created_at: a day and a minute ago.
    await core.orm.em
      .fork()
      .getConnection()
      .execute(`update idempotency_keys set created_at = now() - interval '24 hours 1 minute' where owner_id = ? and key = ?`, [user.id, 'old-key']);
    const later = await generate({ idempotencyKey: 'old-key', seed: 12 });
    expect(later.errors).toBeUndefined();
    expect(later.data!.generateImage.id).not.toBe(first.data!.generateImage.id);
  });

  it('refuses a malformed key, and a failed submit leaves the key free', async () => {
    const bad = await generate({ idempotencyKey: 'has space', seed: 1 });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const refused = await generate({ idempotencyKey: 'retry-me', width: 7 });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const fixed = await generate({ idempotencyKey: 'retry-me', width: 64 });
    expect(fixed.errors).toBeUndefined();
  });

  it('has migrations that match the webhook and idempotency entities', async () => {
    const sql = await core.orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(sql.split('\n').filter((line) => /webhook_|idempotency_keys/.test(line))).toEqual([]);
    const all = (await core.orm.schema.getCreateSchemaSQL({ wrap: false })).split('\n').filter((line) => /webhook_|idempotency_keys/.test(line));
    expect(all.length).toBeGreaterThan(4);
  });
});
