import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboardIfStale } from '../../dashboard/build.main.ts';
import type { Core } from '../../src/core.ts';
import { testCore, testEnv } from '../helpers/env.ts';
import { pngBytes, wavBytes } from '../helpers/media.ts';
import { startApi, startProcess, type RunningProcess } from '../helpers/processes.ts';
import { createTestUser, type TestUser } from '../helpers/users.ts';

/** Debian's chromium, never a downloaded browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const fakeSmiDir = fileURLToPath(new URL('../fakes/nvidia-smi', import.meta.url));
/** Set SCREENSHOT_DIR to keep a picture of each page. */
const shots = process.env.SCREENSHOT_DIR;

describe('the dashboard in headless Chromium', () => {
  const env = testEnv();
  let api: RunningProcess;
  let worker: RunningProcess | undefined;
  let url: string;
  let core: Core;
  let user: TestUser;
  let admin: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    await buildDashboardIfStale();
    chmodSync(path.join(fakeSmiDir, 'nvidia-smi'), 0o755);
    core = await testCore(env);
    [user, admin] = await Promise.all([createTestUser(core), createTestUser(core, 'admin')]);
    // The worker starts once the page watches the queued job (first test), so the page sees every step of it.
    const started = await startApi(env);
    api = started.api;
    url = `http://127.0.0.1:${started.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    if (shots) mkdirSync(shots, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([api?.stop(), worker?.stop()]);
    await core?.close();
  });

  const snap = async (page: Page, name: string) => {
    if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  };

  async function signIn(who: TestUser, viewport = { width: 1200, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${url}/`);
    await page.fill('input[name=username]', who.username);
    await page.fill('input[name=password]', who.password);
    await snap(page, `login-${who.role}`);
    await page.click('button[type=submit]');
    await page.waitForSelector(`text=${who.username}`);
    expect(errors).toEqual([]);
    return page;
  }

  it('signs in, submits an image, follows its progress to 100 and shows the picture', async () => {
    const page = await signIn(user);
    await page.waitForSelector('text=No jobs yet.');

    await page.click('text=Generate >> nth=0');
    await page.waitForSelector('form[data-kind=image]');
    await page.fill('textarea[name=prompt]', 'a lighthouse at dusk');
    await page.fill('input[name=width]', '256');
    await page.fill('input[name=height]', '192');
    await page.fill('input[name=steps]', '40');
    await snap(page, 'new-image');
    // Every value the job page's progress bar shows, from its first render on.
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { seen: number[] }).seen = seen;
      new MutationObserver(() => {
        const value = document.querySelector('.job-page [role=progressbar]')?.getAttribute('aria-valuenow');
        if (value != null && Number(value) !== seen.at(-1)) seen.push(Number(value));
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
    });
    await page.click('button[type=submit]');
    await page.waitForSelector('.job-page[data-status=QUEUED]');
    // Its nvidia-smi is the fake one, which reports the two GPUs of a captured box, for the admin's telemetry.
    const gpuEnv = { PATH: `${fakeSmiDir}:${process.env.PATH}` };
    worker = await startProcess('workers/main.ts', { ...env, ...gpuEnv, PORT: new URL(url).port, HOST: '127.0.0.1' });
    await page.waitForSelector('.job-page[data-status=COMPLETED] [role=progressbar][aria-valuenow="100"]', { timeout: 60_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(100);
    expect(seen.some((v) => v > 0 && v < 100)).toBe(true);

    // The picture, loaded by the browser from its signed URL (no Authorization header).
    const picture = await page.waitForSelector('.results img');
    await page.waitForFunction(() => (document.querySelector('.results img') as HTMLImageElement | null)?.complete === true);
    expect(await picture.evaluate((img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight])).toEqual([256, 192]);
    await snap(page, 'job');

    await page.click('text=← Jobs');
    await page.waitForSelector('[data-testid=job-list] li');
    expect(await page.textContent('[data-testid=job-list]')).toContain('a lighthouse at dusk');
    await page.fill('input[type=search]', 'no such prompt');
    await page.waitForSelector('text=No job matches these filters.');
    await page.fill('input[type=search]', '');
    await page.waitForSelector('[data-testid=job-list] li');
    await snap(page, 'jobs');

    // A talking head from two files uploaded by the form: the video player shows the result.
    await page.goto(`${url}/#/new/talking-head`);
    await page.setInputFiles('input[name=image]', { name: 'portrait.png', mimeType: 'image/png', buffer: await pngBytes(64, 64) });
    await page.setInputFiles('input[name=audio]', { name: 'voice.wav', mimeType: 'audio/wav', buffer: wavBytes(0.4) });
    await page.fill('input[name=fps]', '5');
    await page.click('button[type=submit]');
    await page.waitForSelector('.job-page[data-status=COMPLETED] .results video', { timeout: 60_000 });
    await page.waitForFunction(() => (document.querySelector('.results video') as HTMLVideoElement).readyState >= 1);
    expect(await page.$eval('.results video', (v) => [(v as HTMLVideoElement).videoWidth, (v as HTMLVideoElement).videoHeight])).toEqual([64, 64]);
    await snap(page, 'talking-head');

    await page.goto(`${url}/#/jobs`);
    await page.waitForSelector('[data-testid=job-list] li');
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await snap(page, 'jobs-phone');
    await page.context().close();
  }, 120_000);

  it('shows an admin the workers and their GPUs with live telemetry charts, queue depth and a cost chart', async () => {
    const page = await signIn(admin);
    await page.goto(`${url}/#/workers`);
    const worker = await page.waitForSelector('[data-worker]');
    expect(await worker.textContent()).toContain('builtin');
    expect(await worker.textContent()).toContain('GPU 0 NVIDIA GeForce RTX 3090');
    await page.waitForSelector('[data-chart="Host CPU and RAM (%)"] canvas');
    await page.waitForSelector('[data-chart="GPU utilization (%)"] canvas');
    await page.waitForSelector('[data-chart="GPU memory used (%)"] canvas');
    expect(await page.textContent('[data-chart="Queue depth per engine"]')).toContain('builtin');
    await snap(page, 'workers');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
    await snap(page, 'workers-phone');
    await page.setViewportSize({ width: 1200, height: 900 });

    await page.goto(`${url}/#/costs`);
    await page.waitForSelector('[data-chart="Cost per day ($)"] canvas');
    expect(await page.textContent('[data-chart="By user"]')).toContain(user.username);
    await snap(page, 'costs');

    // Other test files add providers to the shared database: the providers page is checked for its alerts section.
    for (const [route, selector] of [
      ['providers', 'h2:has-text("Alerts")'],
      ['users', `text=${user.username}`],
      ['keys', 'text=No API keys yet.'],
    ]) {
      await page.goto(`${url}/#/${route}`);
      await page.waitForSelector(selector!);
      await snap(page, route!);
    }
    await page.context().close();
  }, 120_000);
});
