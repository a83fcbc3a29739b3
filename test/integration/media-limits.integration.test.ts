import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { AppError } from '../../src/services/errors.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { pngBytes, wavBytes } from '../helpers/media.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

async function* once(data: Buffer) {
  yield data;
}

const rejection = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error as AppError);

describe('media held to quotas at submission', () => {
  let core: Core;
  let user: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    core = await testCore(testEnv({ QUOTA_MAX_DURATION_SECONDS: '10' }));
    user = await createTestUser(core);
    admin = await createTestUser(core, 'admin');
  });

  afterAll(async () => {
    await core?.close();
  });

  const upload = (owner: TestUser, filename: string, data: Buffer) => core.uploads.upload(core.orm.em.fork(), owner.actor, { filename, content: once(data) });

  it('a talking head whose audio is longer than max_duration is refused before it is queued; a short one is accepted', async () => {
    const image = await upload(user, 'face.png', await pngBytes());
    const long = await upload(user, 'long.wav', wavBytes(12, 8000));
    const short = await upload(user, 'short.wav', wavBytes(2, 8000));
    const refused = await rejection(core.jobs.createTalkingHeadJob(core.orm.em.fork(), user.actor, { imageAssetId: image.id, audioAssetId: long.id }));
    expect(refused).toBeInstanceOf(AppError);
    expect(refused!.code).toBe('QUOTA_EXCEEDED');
    expect(refused!.message).toMatch(/12 s, longer than your quota's max_duration 10 s/);
    const accepted = await core.jobs.createTalkingHeadJob(core.orm.em.fork(), user.actor, { imageAssetId: image.id, audioAssetId: short.id });
    expect(accepted.status).toBe('QUEUED');
  });

  it('speech whose text would run longer than max_duration is refused; admins are exempt as for every quota', async () => {
    const text = 'word '.repeat(60);
    const refused = await rejection(core.jobs.createSpeechJob(core.orm.em.fork(), user.actor, { text, voiceId: 'en_us_female' }));
    expect(refused?.code).toBe('QUOTA_EXCEEDED');
    const short = await core.jobs.createSpeechJob(core.orm.em.fork(), user.actor, { text: 'Hello there.', voiceId: 'en_us_female' });
    expect(short.status).toBe('QUEUED');
    const byAdmin = await core.jobs.createSpeechJob(core.orm.em.fork(), admin.actor, { text, voiceId: 'en_us_female' });
    expect(byAdmin.status).toBe('QUEUED');
  });
});
