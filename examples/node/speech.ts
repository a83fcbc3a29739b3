// Speech through GraphQL (the SDK) or the REST media API; saves the WAV and prints its path.
//   ATELIER_URL=http://127.0.0.1:4000 ATELIER_TOKEN=<token or API key> node examples/node/speech.ts [graphql|rest] [out dir]
import { writeFile } from 'node:fs/promises';
import { Atelier } from '../../sdk/src/index.ts';
import { downloadJob } from '../../sdk/src/node.ts';

const url = process.env.ATELIER_URL ?? 'http://127.0.0.1:4000';
const token = process.env.ATELIER_TOKEN;
const [face = 'graphql', out = '.'] = process.argv.slice(2);
const text = 'Hello, and welcome to Atelier.';

if (face === 'graphql') {
  const atelier = new Atelier({ url, token });
  const job = await atelier.synthesizeSpeech({ text, voiceId: 'en_us_female' });
  const done = await atelier.wait(job.id);
  for (const file of await downloadJob(atelier, done, out)) console.log(file);
  await atelier.close();
} else {
  const response = await fetch(`${url}/synthesize/speech`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text, voice_id: 'en_us_female', speed: 1.0 }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.status}: ${JSON.stringify(body)}`);
  const file = `${out}/${body.task_id}.wav`;
  await writeFile(file, Buffer.from(await (await fetch(body.audio_url)).arrayBuffer()));
  console.log(file);
}
