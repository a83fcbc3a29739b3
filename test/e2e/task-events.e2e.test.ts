import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startSystem, type RunningSystem } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

describe('task events (SSE)', () => {
  // REST_ANONYMOUS_FAMILIES=none: on loopback the talking-head family would otherwise take a credential-less caller as the anonymous user (403, not 401).
  const env = testEnv({ WORKER_CONCURRENCY: '1', REST_ANONYMOUS_FAMILIES: 'none' });
  let system: RunningSystem;
  let core: Core;
  let user: TestUser;

  const submit = async () => {
    const response = await fetch(`${system.url}/generate/image`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}`, prefer: 'respond-async' },
      body: JSON.stringify({ prompt: 'streamed', width: 64, height: 64, num_inference_steps: 6 }),
    });
    return ((await response.json()) as { task_id: string }).task_id;
  };
  const open = (id: string, headers: Record<string, string> = {}) =>
    fetch(`${system.url}/api/v1/tasks/${id}/events`, { headers: { authorization: `Bearer ${user.token}`, ...headers } });
  /** Reads a stream to its end, calling `onEvent` as each event arrives. */
  const readAll = async (response: Response, onEvent: (event: EventSourceMessage) => void = () => undefined) => {
    const events: EventSourceMessage[] = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return events;
      events.push(value);
      onEvent(value);
    }
  };

  beforeAll(async () => {
    core = await testCore(env);
    user = await createTestUser(core);
    system = await startSystem(env);
  });

  afterAll(async () => {
    await system?.stop();
    await core?.close();
  });

  it('follows a task from its current state to the end, then closes', async () => {
    // Paused, so the state the stream starts with is certainly "queued".
    await core.queues.get('builtin').pause();
    const id = await submit();
    const response = await open(id);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readAll(response, (event) => {
      if (event.event === 'queued') void core.queues.get('builtin').resume();
    });
    const data = events.map((e) => JSON.parse(e.data) as { task_id: string; status: string; progress: number });
    expect(events[0]!.event).toBe('queued');
    expect(events.at(-1)!.event).toBe('completed');
    expect(data.every((d) => d.task_id === id)).toBe(true);
    expect(data.map((d) => d.status)).toContain('processing');
    const progress = data.filter((d) => d.status === 'processing').map((d) => d.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(data.at(-1)).toMatchObject({ status: 'completed', progress: 100 });
    expect(events.every((e) => e.id)).toBe(true);

    // Resuming after the final state: nothing more to send, and 204 tells an EventSource to stop.
    expect((await open(id, { 'last-event-id': events.at(-1)!.id! })).status).toBe(204);
    // Resuming from an earlier state: the current (final) state, then the end.
    const resumed = await readAll(await open(id, { 'last-event-id': events[0]!.id! }));
    expect(resumed.map((e) => e.event)).toEqual(['completed']);
  });

  it('answers a finished task with its final state at once, and refuses unknown or foreign tasks', async () => {
    const id = await submit();
    await waitForJob(system.url, user.token, id);
    const events = await readAll(await open(id));
    expect(events.map((e) => e.event)).toEqual(['completed']);

    const missing = await open('00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error_code: 'NOT_FOUND' });
    const stranger = await createTestUser(core);
    const foreign = await fetch(`${system.url}/api/v1/tasks/${id}/events`, { headers: { authorization: `Bearer ${stranger.token}` } });
    expect(foreign.status).toBe(403);
    expect((await fetch(`${system.url}/api/v1/tasks/${id}/events`)).status).toBe(401);
  });
});
