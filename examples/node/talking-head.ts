// A talking head from a portrait and a voice recording, through GraphQL (the SDK: upload, generate, wait) or the
// REST talking-head API (multipart task, then polling); saves the MP4 and prints its path.
//   ATELIER_URL=… ATELIER_TOKEN=… node examples/node/talking-head.ts [graphql|rest] [out dir] portrait.png voice.wav
import { openAsBlob } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Atelier } from '../../sdk/src/index.ts';
import { downloadJob, uploadFile } from '../../sdk/src/node.ts';

const url = process.env.ATELIER_URL ?? 'http://127.0.0.1:4000';
const token = process.env.ATELIER_TOKEN;
const [face = 'graphql', out = '.', portrait = 'portrait.png', voice = 'voice.wav'] = process.argv.slice(2);

if (face === 'graphql') {
  const atelier = new Atelier({ url, token });
  const [image, audio] = [await uploadFile(atelier, portrait), await uploadFile(atelier, voice)];
  const job = await atelier.generateTalkingHead({ imageAssetId: image.id, audioAssetId: audio.id });
  const done = await atelier.wait(job.id, (event) => console.error(`${event.status} ${event.progress}%`));
  for (const file of await downloadJob(atelier, done, out)) console.log(file);
  await atelier.close();
} else {
  const headers = { authorization: `Bearer ${token}` };
  const form = new FormData();
  form.set('image_file', await openAsBlob(portrait), 'portrait.png');
  form.set('audio_file', await openAsBlob(voice), 'voice.wav');
  const created = await (await fetch(`${url}/api/v1/inference/hallo2`, { method: 'POST', headers, body: form })).json();
  if (!created.task_id) throw new Error(JSON.stringify(created));
  let task;
  do {
    await sleep(500);
    task = await (await fetch(`${url}/api/v1/tasks/${created.task_id}`, { headers })).json();
    console.error(`${task.status} ${task.progress}%`);
  } while (task.status === 'queued' || task.status === 'processing');
  if (task.status !== 'completed') throw new Error(JSON.stringify(task));
  const file = `${out}/${created.task_id}.mp4`;
  await writeFile(file, Buffer.from(await (await fetch(`${url}/api/v1/tasks/${created.task_id}/video`, { headers })).arrayBuffer()));
  console.log(file);
}
