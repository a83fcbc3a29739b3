import { FakeComfyUI } from '../test/fakes/comfyui.fake.ts';
import { gql } from '../test/helpers/graphql.ts';
import { percentile, startBenchSystem, table } from './bench.system.ts';

/**
 * ComfyUI engine overhead: N seven-node workflows on two fake ComfyUI servers whose nodes take no time,
 * so what is measured is Atelier's part (queue, dispatch, websocket, /history, /view, assets).
 */
const total = Number(process.env.JOBS ?? 100);
const concurrency = process.env.WORKER_CONCURRENCY ?? '4';
const servers = [await new FakeComfyUI({ nodeDelayMs: 0, samplerSteps: 5 }).start(), await new FakeComfyUI({ nodeDelayMs: 0, samplerSteps: 5 }).start()];
const system = await startBenchSystem({
  COMFYUI_SERVER_URLS: servers.map((s) => s.url).join(','),
  WORKER_ENGINES: 'comfyui',
  WORKER_CONCURRENCY: concurrency,
});

const workflow = {
  '3': { class_type: 'KSampler', inputs: { seed: 1, steps: 20, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] } },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'model.safetensors' } },
  '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a', clip: ['4', 1] } },
  '7': { class_type: 'CLIPTextEncode', inputs: { text: 'b', clip: ['4', 1] } },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
  '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'bench', images: ['8', 0] } },
};

interface Row {
  id: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

try {
  const started = performance.now();
  const submitted = await Promise.all(
    Array.from({ length: total }, () =>
      gql<{ executeComfyWorkflow: { id: string } }, unknown>(system.url, `mutation E($w: JSON!) { executeComfyWorkflow(workflow: $w) { id } }`, { w: workflow }, system.token),
    ),
  );
  const submitMs = performance.now() - started;
  if (submitted.some((r) => r.errors)) throw new Error(JSON.stringify(submitted.find((r) => r.errors)!.errors));
  let rows: Row[] = [];
  for (;;) {
    const page = await gql<{ comfyHistory: { edges: { node: Row }[] } }, unknown>(
      system.url,
      `{ comfyHistory(first: ${total}) { edges { node { id status createdAt startedAt finishedAt } } } }`,
      {},
      system.token,
    );
    rows = page.data!.comfyHistory.edges.map((e) => e.node);
    if (rows.length === total && rows.every((r) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.status))) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const wallMs = performance.now() - started;
  const ms = (a: string, b: string) => new Date(b).getTime() - new Date(a).getTime();
  const endToEnd = rows.map((r) => ms(r.createdAt, r.finishedAt!)).sort((a, b) => a - b);
  const run = rows.map((r) => ms(r.startedAt!, r.finishedAt!)).sort((a, b) => a - b);
  const failed = rows.filter((r) => r.status !== 'COMPLETED').length;
  console.log(`ComfyUI engine: ${total} seven-node workflows, 2 fake servers (instant nodes), worker concurrency ${concurrency}`);
  console.log(`submitted in ${submitMs.toFixed(0)} ms; all finished in ${wallMs.toFixed(0)} ms → ${((total / wallMs) * 1000).toFixed(1)} jobs/s; failed ${failed}`);
  console.log(`prompts per server: ${servers.map((s) => s.prompts.length).join(' / ')}`);
  console.log(
    table(
      ['ms', 'p50', 'p95', 'max'],
      [
        ['run (dispatch → assets saved)', String(percentile(run, 50)), String(percentile(run, 95)), String(run.at(-1))],
        ['queued + run', String(percentile(endToEnd, 50)), String(percentile(endToEnd, 95)), String(endToEnd.at(-1))],
      ],
    ),
  );
} finally {
  await system.stop();
  await Promise.all(servers.map((s) => s.stop()));
}
