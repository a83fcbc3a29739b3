// An image through GraphQL (the SDK, progress over WebSocket) or the REST media API; saves it and prints its path.
//   ATELIER_URL=http://127.0.0.1:4000 ATELIER_TOKEN=<token or API key> node examples/node/image.ts [graphql|rest] [out dir]
import { writeFile } from 'node:fs/promises';
import { Atelier } from '../../sdk/src/index.ts';
import { downloadJob } from '../../sdk/src/node.ts';

const url = process.env.ATELIER_URL ?? 'http://127.0.0.1:4000';
const token = process.env.ATELIER_TOKEN;
const [face = 'graphql', out = '.'] = process.argv.slice(2);
const prompt = 'a lighthouse at dusk, oil painting';

if (face === 'graphql') {
  const atelier = new Atelier({ url, token });
  const job = await atelier.generateImage({ prompt, width: 512, height: 512, steps: 30 });
  const done = await atelier.wait(job.id, (event) => console.error(`${event.status} ${event.progress}%`));
  for (const file of await downloadJob(atelier, done, out)) console.log(file);
  await atelier.close();
} else {
  // The media API answers once the image is made (send "Prefer: respond-async" to get the task id at once).
  const response = await fetch(`${url}/generate/image`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, width: 512, height: 512, num_inference_steps: 30 }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status}: ${JSON.stringify(body)}`);
  // Result URLs are signed: they open without a header.
  const file = `${out}/${body.task_id}.png`;
  await writeFile(file, Buffer.from(await (await fetch(body.image_urls[0])).arrayBuffer()));
  console.log(file);
}
