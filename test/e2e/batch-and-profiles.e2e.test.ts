import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { Job } from '../../src/db/entities/job.entity.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { collect, gql, wsClient } from '../helpers/graphql.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

const GENERATE_BATCH = `mutation Batch($requests: [GenerateImageInput!]!, $priority: Int, $metadata: JSON) {
  generateBatch(requests: $requests, priority: $priority, metadata: $metadata) { id total priority metadata progress { status total queued } }
}`;
const BATCH = `query B($id: ID!) { batch(id: $id) { id total progress { status completed failed progress } jobs { id status batchId priority } } }`;
const BATCH_PROGRESS = `subscription BP($id: ID!) { batchProgress(id: $id) { batchId status total completed progress } }`;
const CREATE_CHARACTER = `mutation C($input: CharacterInput!) { createCharacter(input: $input) { id name seed } }`;
const CREATE_PRESET = `mutation P($input: ProjectPresetInput!) { createProjectPreset(input: $input) { id name style characters { id } } }`;
const GENERATE = `mutation G($input: GenerateImageInput!) { generateImage(input: $input) { id input } }`;

interface BatchProgress {
  batchProgress: { batchId: string; status: string; total: number; completed: number; progress: number };
}

describe('batches, characters and project presets', () => {
  const env = testEnv();
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    core = await testCore(env);
    [user, admin] = await Promise.all([createTestUser(core), createTestUser(core, 'admin')]);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  it('runs a batch whose status, counts and progress aggregate its jobs, live', async () => {
    const requests = [1, 2, 3].map((n) => ({ prompt: `batch image ${n}`, width: 64, height: 64, steps: 2 }));
    const created = await gql<{ generateBatch: { id: string; total: number; priority: number; metadata: unknown; progress: { total: number } } }, unknown>(
      system.url,
      GENERATE_BATCH,
      { requests, priority: 3, metadata: { description: 'campaign' } },
      user.token,
    );
    expect(created.errors).toBeUndefined();
    const batch = created.data!.generateBatch;
    expect(batch).toMatchObject({ total: 3, priority: 3, metadata: { description: 'campaign' } });

    const client = wsClient(system.wsUrl, user.token);
    const events = (await collect<BatchProgress>(client, BATCH_PROGRESS, { id: batch.id }).done).map((e) => e.batchProgress);
    await client.dispose();
    const last = events.at(-1)!;
    expect(last).toMatchObject({ batchId: batch.id, status: 'COMPLETED', total: 3, completed: 3, progress: 100 });
    const progress = events.map((e) => e.completed);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    const read = await gql<{ batch: { progress: { status: string; completed: number }; jobs: { status: string; batchId: string; priority: number }[] } }, unknown>(
      system.url,
      BATCH,
      { id: batch.id },
      user.token,
    );
    expect(read.data!.batch.progress).toMatchObject({ status: 'COMPLETED', completed: 3 });
    expect(read.data!.batch.jobs).toHaveLength(3);
    for (const job of read.data!.batch.jobs) expect(job).toEqual({ id: expect.any(String), status: 'COMPLETED', batchId: batch.id, priority: 3 });

    const other = await createTestUser(core);
    const forbidden = await gql(system.url, BATCH, { id: batch.id }, other.token);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a batch whole when one request is bad, or when it is too large', async () => {
    const before = await core.orm.em.fork().count(Job, { owner: user.id });
    const bad = await gql(system.url, GENERATE_BATCH, { requests: [{ prompt: 'ok' }, { prompt: 'bad', width: 100 }] }, user.token);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toMatch(/requests\[1\].*width/);
    const tooMany = await gql(system.url, GENERATE_BATCH, { requests: Array.from({ length: 101 }, () => ({ prompt: 'x' })) }, user.token);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await core.orm.em.fork().count(Job, { owner: user.id })).toBe(before);
  });

  it('applies a character and a project preset; admins manage them, users read them', async () => {
    const name = `hero-${randomUUID().slice(0, 8)}`;
    const refused = await gql(system.url, CREATE_CHARACTER, { input: { name, promptFragment: 'x' } }, user.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const character = await gql<{ createCharacter: { id: string } }, unknown>(
      system.url,
      CREATE_CHARACTER,
      { input: { name, promptFragment: 'a red-haired knight', negativeFragment: 'blurry', seed: 4242 } },
      admin.token,
    );
    expect(character.errors).toBeUndefined();
    const characterId = character.data!.createCharacter.id;
    const duplicate = await gql(system.url, CREATE_CHARACTER, { input: { name, promptFragment: 'again' } }, admin.token);
    expect(duplicate.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const preset = await gql<{ createProjectPreset: { id: string; characters: { id: string }[] } }, unknown>(
      system.url,
      CREATE_PRESET,
      { input: { name: `project-${name}`, style: 'anime', defaultEngine: 'builtin', characterIds: [characterId] } },
      admin.token,
    );
    expect(preset.data!.createProjectPreset.characters).toEqual([{ id: characterId }]);

    const listed = await gql<{ characters: { id: string }[] }, unknown>(system.url, `{ characters { id } }`, undefined, user.token);
    expect(listed.data!.characters.map((c) => c.id)).toContain(characterId);

    const job = await gql<{ generateImage: { id: string; input: Record<string, unknown> } }, unknown>(
      system.url,
      GENERATE,
      { input: { prompt: 'in a forest', width: 64, height: 64, steps: 1, characterId, projectId: preset.data!.createProjectPreset.id } },
      user.token,
    );
    expect(job.errors).toBeUndefined();
    expect(job.data!.generateImage.input).toMatchObject({
      prompt: 'a red-haired knight, in a forest',
      negativePrompt: 'blurry',
      seed: 4242,
      style: 'anime',
      characterId,
    });
    expect((await waitForJob(system.url, user.token, job.data!.generateImage.id)).status).toBe('COMPLETED');

    const unknown = await gql(system.url, GENERATE, { input: { prompt: 'x', characterId: randomUUID() } }, user.token);
    expect(unknown.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'characterId' } });
    const malformed = await gql(system.url, GENERATE, { input: { prompt: 'x', projectId: 'nope' } }, user.token);
    expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
