import { setTimeout as delay } from 'node:timers/promises';
import sharp from 'sharp';
import { guardedDispatcher } from '../net/outbound.guard.ts';
import { type AdapterContext, ProviderCallError } from './provider.types.ts';
import { fetchProviderUrl } from './provider.url-guard.ts';

const CREDIT_WORDS = /insufficient|credit|quota|balance|billing/i;

/** Sends one JSON request and classifies any failure; the API key is never part of an error message. */
export async function callJson<T>(ctx: AdapterContext, method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)]);
  let response: Response;
  try {
    response = await fetch(new URL(path, ctx.baseUrl.endsWith('/') ? ctx.baseUrl : `${ctx.baseUrl}/`), {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      // An API that redirects could send the key's requests anywhere, a metadata address included.
      redirect: 'manual',
      // And a base URL's name could resolve to one: the address connected to is checked (src/net/outbound.guard.ts).
      dispatcher: guardedDispatcher('internal'),
    } as RequestInit);
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new ProviderCallError('TIMEOUT', `No answer within ${ctx.timeoutMs} ms`);
    throw new ProviderCallError('SERVER_ERROR', `Connection failed: ${(error as Error).message}`);
  }
  const text = await response.text().catch(() => '');
  if (response.status >= 300 && response.status < 400) throw new ProviderCallError('REJECTED', `The provider redirected (HTTP ${response.status}); redirects are not followed`, response.status);
  if (!response.ok) {
    const detail = text.slice(0, 300);
    if (response.status === 402 || (response.status === 429 && /insufficient_quota/.test(text))) {
      throw new ProviderCallError('NO_CREDITS', `Insufficient credits (HTTP ${response.status}): ${detail}`, response.status);
    }
    if (response.status === 429) throw new ProviderCallError('RATE_LIMITED', `Rate limited (HTTP 429): ${detail}`, 429);
    if (response.status >= 500) throw new ProviderCallError('SERVER_ERROR', `Provider error (HTTP ${response.status}): ${detail}`, response.status);
    if (CREDIT_WORDS.test(text) && /insufficient|exhausted|not enough/i.test(text)) {
      throw new ProviderCallError('NO_CREDITS', `Insufficient credits (HTTP ${response.status}): ${detail}`, response.status);
    }
    throw new ProviderCallError('REJECTED', `Request refused (HTTP ${response.status}): ${detail}`, response.status);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ProviderCallError('EMPTY_RESULT', `Answer is not JSON (HTTP ${response.status})`, response.status);
  }
}

/** A provider's message that says the account has run dry. */
export const isCreditMessage = (message: string) => CREDIT_WORDS.test(message) && /insufficient|exhausted|not enough|no /i.test(message);

/** Turns a URL or base64 from a provider into checked image bytes; anything that is not an image is an empty result. */
export async function fetchImage(ctx: AdapterContext, source: { url?: string | null; b64?: string | null }): Promise<Buffer> {
  let data: Buffer;
  if (source.b64) {
    data = Buffer.from(source.b64.replace(/^data:[^,]*,/, ''), 'base64');
  } else if (source.url) {
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)]);
    // The URL comes from the provider: checked (and each redirect re-checked) before anything is fetched.
    const response = await fetchProviderUrl(source.url, ctx.baseUrl, signal).catch((error: Error) => {
      if (error instanceof ProviderCallError) throw error;
      throw new ProviderCallError('TIMEOUT', `Downloading the image failed: ${error.message}`);
    });
    if (!response.ok) throw new ProviderCallError('EMPTY_RESULT', `Downloading the image failed (HTTP ${response.status})`, response.status);
    data = Buffer.from(await response.arrayBuffer());
  } else {
    throw new ProviderCallError('EMPTY_RESULT', 'The provider answered without an image');
  }
  try {
    await sharp(data).metadata();
  } catch {
    throw new ProviderCallError('EMPTY_RESULT', 'The provider returned something that is not an image');
  }
  return data;
}

/** Waits `ms`; an abort rejects with the signal's reason. Node's timer removes its abort listener when it fires. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch((error: unknown) => {
    throw signal?.aborted ? signal.reason : error;
  });

/** Polls until `step` returns a value; each poll waits the context's interval; gives up at the request timeout. */
export async function pollUntil<T>(
  ctx: AdapterContext,
  step: () => Promise<T | null>,
  notified?: { taskId: string; read: (task: Record<string, unknown>) => T | null },
): Promise<T> {
  const deadline = Date.now() + ctx.timeoutMs;
  for (;;) {
    const value = await step();
    if (value !== null) return value;
    if (Date.now() >= deadline) throw new ProviderCallError('TIMEOUT', `Task not finished within ${ctx.timeoutMs} ms`);
    if (notified && ctx.waitForTask) {
      // A webhook may bring the finished task before the next poll would.
      const task = await ctx.waitForTask(notified.taskId, ctx.pollIntervalMs);
      ctx.signal.throwIfAborted();
      const early = task ? notified.read(task) : null;
      if (early !== null) return early;
    } else {
      await sleep(ctx.pollIntervalMs, ctx.signal);
    }
  }
}
