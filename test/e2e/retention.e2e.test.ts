import { createHash, randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import { User } from '../../src/db/entities/user.entity.ts';
import { createRedis } from '../../src/queue/redis.connection.ts';
import { startMaintenance } from '../../src/storage/asset.retention.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { gql } from '../helpers/graphql.ts';
import { startApi, type RunningProcess } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

describe('asset retention', () => {
  const env = testEnv({ ASSET_RETENTION_DAYS: '7' });
  let api: RunningProcess;
  let url: string;
  let core: Core;
  let user: TestUser;
  let other: TestUser;

  /** A stored file and its row, made `ageDays` ago. */
  const storeAsset = async (owner: TestUser, bytes: number, ageDays = 0) => {
    const em = core.orm.em.fork();
    const data = Buffer.alloc(bytes, 7);
    const id = randomUUID();
    const storageKey = `assets/${owner.id}/${id}.png`;
    await core.storage.put(storageKey, data);
    em.create(Asset, {
      id,
      kind: 'IMAGE',
      mime: 'image/png',
      bytes,
      sha256: createHash('sha256').update(data).digest('hex'),
      storageKey,
      owner: em.getReference(User, owner.id),
      createdAt: new Date(Date.now() - ageDays * 86_400_000),
    });
    await em.flush();
    return { id, storageKey };
  };
  const fileExists = (key: string) => core.storage.size(key).then(() => true, () => false);
  const rowExists = async (id: string) => (await core.orm.em.fork().count(Asset, { id })) === 1;
  const storageBytes = async (token: string) => (await gql<{ me: { storageBytes: number } }, unknown>(url, `{ me { storageBytes } }`, {}, token)).data!.me.storageBytes;

  beforeAll(async () => {
    core = await testCore(env);
    [user, other] = await Promise.all([createTestUser(core), createTestUser(core)]);
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
  });

  afterAll(async () => {
    await api?.stop();
    await core?.close();
  });

  it('shows storage used on me, and deletes files through deleteAsset and DELETE /files/{id} (owner or admin only)', async () => {
    expect(await storageBytes(user.token)).toBe(0);
    const a = await storeAsset(user, 1000);
    const b = await storeAsset(user, 234);
    expect(await storageBytes(user.token)).toBe(1234);

    const foreign = await gql(url, `mutation ($id: ID!) { deleteAsset(id: $id) }`, { id: a.id }, other.token);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const deleted = await gql<{ deleteAsset: boolean }, unknown>(url, `mutation ($id: ID!) { deleteAsset(id: $id) }`, { id: a.id }, user.token);
    expect(deleted.data!.deleteAsset).toBe(true);
    expect(await fileExists(a.storageKey)).toBe(false);
    expect(await rowExists(a.id)).toBe(false);
    expect(await storageBytes(user.token)).toBe(234);

    const http = (id: string, token?: string) => fetch(`${url}/files/${id}`, { method: 'DELETE', headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await http(b.id)).status).toBe(401);
    expect((await http(b.id, other.token)).status).toBe(403);
    expect((await http(b.id, user.token)).status).toBe(204);
    expect((await fetch(`${url}/files/${b.id}`, { headers: { authorization: `Bearer ${user.token}` } })).status).toBe(404);
    expect((await http(b.id, user.token)).status).toBe(404);
    expect(await fileExists(b.storageKey)).toBe(false);
    expect(await storageBytes(user.token)).toBe(0);
  });

  it('sweeps files older than ASSET_RETENTION_DAYS, file and row, from a scheduled BullMQ job', async () => {
    const old = await storeAsset(other, 10, 8);
    const recent = await storeAsset(other, 10, 6);
    const connection = createRedis(env.REDIS_URL!, 'worker');
    const maintenance = await startMaintenance({
      ...core,
      connection,
      prefix: env.QUEUE_PREFIX!,
      retentionDays: core.config.ASSET_RETENTION_DAYS,
      log: pino({ level: 'silent' }),
    });
    try {
      const schedulers = await maintenance.queue.getJobSchedulers();
      expect(schedulers.map((s) => s.every)).toEqual([3_600_000]);
      // The scheduler's first run comes at once; the next an hour later.
      await vi.waitFor(async () => expect(await rowExists(old.id)).toBe(false), { timeout: 30_000, interval: 50 });
      expect(await fileExists(old.storageKey)).toBe(false);
      expect(await rowExists(recent.id)).toBe(true);
      expect(await fileExists(recent.storageKey)).toBe(true);
    } finally {
      await maintenance.close();
      connection.disconnect();
    }
  });
});
