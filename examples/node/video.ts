// A short video through GraphQL (the SDK) or the REST media API; saves the MP4 and prints its path.
//   ATELIER_URL=http://127.0.0.1:4000 ATELIER_TOKEN=<token or API key> node examples/node/video.ts [graphql|rest] [out dir]
import { writeFile } from 'node:fs/promises';
import { Atelier } from '../../sdk/src/index.ts';
import { downloadJob } from '../../sdk/src/node.ts';

const url = process.env.ATELIER_URL ?? 'http://127.0.0.1:4000';
const token = process.env.ATELIER_TOKEN;
const [face = 'graphql', out = '.'] = process.argv.slice(2);
const prompt = 'a paper boat drifting on a pond';

if (face === 'graphql') {
  const atelier = new Atelier({ url, token });
  const job = await atelier.generateVideo({ prompt, numFrames: 24, fps: 12, videoConfig: { resolution: '256x256' } });
  const done = await atelier.wait(job.id, (event) => console.error(`${event.status} ${event.progress}%`));
  for (const file of await downloadJob(atelier, done, out)) console.log(file);
  await atelier.close();
} else {
  const response = await fetch(`${url}/generate/video`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, num_frames: 24, fps: 12 }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status}: ${JSON.stringify(body)}`);
  const file = `${out}/${body.task_id}.mp4`;
  await writeFile(file, Buffer.from(await (await fetch(body.video_url)).arrayBuffer()));
  console.log(file);
}
