import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { FileUrlSigner } from '../../src/storage/file-url.signer.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { pngBytes } from '../helpers/media.ts';
import { startApi, type RunningProcess } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

describe('signed, expiring file URLs', () => {
  const env = testEnv({ FILE_URL_TTL_SECONDS: '600' });
  let core: Core;
  let user: TestUser;
  let api: RunningProcess;
  let url: string;
  let asset: { id: string; url: string };

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: 'mutation ($file: File!) { uploadAsset(file: $file) { id url } }', variables: { file: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new Blob([new Uint8Array(await pngBytes(32, 24))]), 'photo.png');
    const response = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}` } });
    asset = ((await response.json()) as { data: { uploadAsset: { id: string; url: string } } }).data.uploadAsset;
  });

  afterAll(async () => {
    await api?.stop();
    await core?.close();
  });

  it('hands out a signed URL that opens without a header, as an <img> would', async () => {
    expect(asset.url).toMatch(new RegExp(`^${url}/files/${asset.id}\\?exp=\\d+&sig=[\\w-]+$`));
    const exp = Number(new URL(asset.url).searchParams.get('exp'));
    expect(exp).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 600 - 5);
    const response = await fetch(asset.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Number(response.headers.get('cache-control')!.match(/max-age=(\d+)/)![1])).toBeLessThanOrEqual(exp - Math.floor(Date.now() / 1000) + 1);
    const again = await gql<{ asset: { url: string } }, unknown>(url, `{ asset(id: "${asset.id}") { url } }`, undefined, user.token);
    expect(again.data!.asset.url).toMatch(/\?exp=\d+&sig=/);
  });

  it('refuses a tampered signature, expiry or id with 403, and an expired link with 410', async () => {
    const signed = new URL(asset.url);
    const sig = signed.searchParams.get('sig')!;
    const exp = signed.searchParams.get('exp')!;
    const tamperedSig = `${url}/files/${asset.id}?exp=${exp}&sig=${sig.slice(0, -2)}xx`;
    const tamperedExp = `${url}/files/${asset.id}?exp=${Number(exp) + 86_400}&sig=${sig}`;
    for (const link of [tamperedSig, tamperedExp, `${url}/files/${asset.id}?exp=${exp}`]) {
      const response = await fetch(link, { headers: { authorization: `Bearer ${user.token}` } });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    // Signed with the server's secret, an hour in the past: a link handed out then and expired since.
    const yesterday = new FileUrlSigner({ secret: env.JWT_SECRET!, ttlSeconds: 600, publicUrl: url, now: () => Date.now() - 3_600_000 });
    const expired = await fetch(yesterday.url(asset.id));
    expect(expired.status).toBe(410);
    expect(await expired.json()).toMatchObject({ error: { code: 'LINK_EXPIRED' } });
  });

  it('still serves the plain path with the Authorization header, and not without it', async () => {
    const plain = `${url}/files/${asset.id}`;
    expect((await fetch(plain, { headers: { authorization: `Bearer ${user.token}` } })).status).toBe(200);
    expect((await fetch(plain)).status).toBe(401);
  });

  it('signs the URLs the REST dialects hand out', async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(await pngBytes(32, 32))]), 'photo.png');
    const response = await fetch(`${url}/api/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}` } });
    const { imageUrl } = (await response.json()) as { imageUrl: string };
    expect(imageUrl).toMatch(/\/files\/[0-9a-f-]{36}\?exp=\d+&sig=[\w-]+$/);
    expect((await fetch(imageUrl)).status).toBe(200);
  });
});
