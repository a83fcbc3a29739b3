import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Asset } from '../../src/db/entities/asset.entity.ts';
import { User } from '../../src/db/entities/user.entity.ts';
import { sweepOrphanFiles } from '../../src/jobs/files.sweeper.ts';
import { S3Storage, parseS3Url } from '../../src/storage/s3.storage.ts';
import { LocalStorage, type Storage } from '../../src/storage/storage.service.ts';
import { testCore } from '../helpers/env.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const log = pino({ level: 'silent' });

describe('sweep of stored files no asset names (real PostgreSQL; local disk and s3rver)', () => {
  let core: Core;
  let user: TestUser;
  let s3: LocalS3;
  const dir = mkdtempSync(path.join(tmpdir(), 'atelier-files-sweep-'));

  beforeAll(async () => {
    core = await testCore();
    user = await createTestUser(core);
    s3 = await startLocalS3();
    Object.assign(process.env, s3.env);
  });
  afterAll(async () => {
    await core?.close();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const backends: [string, () => Storage][] = [
    ['local disk', () => new LocalStorage(dir)],
    ['S3', () => new S3Storage(parseS3Url(s3.storageUrl({ prefix: 'sweep' })))],
  ];

  it.each(backends)('%s: removes an old orphan, keeps files with a row and files too young to judge', async (_name, make) => {
    const storage = make();
    const em = core.orm.em.fork();
    const kept = `assets/${user.id}/${crypto.randomUUID()}.png`;
    const orphan = `assets/${user.id}/${crypto.randomUUID()}.png`;
    await storage.put(kept, Buffer.from('kept'));
    await storage.put(orphan, Buffer.from('orphan'));
    // Not Atelier's: outside assets/, never touched.
    await storage.put('backups/old.tar', Buffer.from('someone else\'s'));
    em.create(Asset, { kind: 'IMAGE', mime: 'image/png', bytes: 4, sha256: '0'.repeat(64), storageKey: kept, owner: em.getReference(User, user.id) });
    await em.flush();

    // Both files were written just now: an hour's grace spares them.
    expect(await sweepOrphanFiles(core.orm.em.fork(), storage, { olderThanMs: 3_600_000, log })).toEqual([]);
    // Seen from an hour later, the orphan goes and the named file stays.
    const removed = await sweepOrphanFiles(core.orm.em.fork(), storage, { olderThanMs: 3_600_000, log, now: Date.now() + 3_600_001 });
    expect(removed).toEqual([orphan]);
    const left: string[] = [];
    for await (const file of storage.list('assets/')) left.push(file.key);
    expect(left).toEqual([kept]);
    expect(await storage.size('backups/old.tar')).toBeGreaterThan(0);
  });
});
