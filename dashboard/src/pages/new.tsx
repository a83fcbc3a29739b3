import { useState } from 'preact/hooks';
import { operations, type GenerationKind } from '../../../sdk/src/index.ts';
import { atelier, go, messageOf, useLoad } from '../api.ts';

const TABS: [string, string][] = [
  ['image', 'Image'],
  ['video', 'Video'],
  ['speech', 'Speech'],
  ['talking-head', 'Talking head'],
  ['batch', 'Batch'],
];

const ENGINES = ['', 'builtin', 'onnx', 'comfyui', 'provider'];

type Values = Record<string, FormDataEntryValue>;
const text = (v: Values, key: string) => (typeof v[key] === 'string' && (v[key] as string).trim() ? (v[key] as string).trim() : undefined);
const num = (v: Values, key: string) => (text(v, key) === undefined ? undefined : Number(text(v, key)));
const file = (v: Values, key: string) => (v[key] instanceof File && (v[key] as File).size > 0 ? (v[key] as File) : undefined);

/** Uploads the form's file, if one was chosen, and answers its asset id. */
async function upload(v: Values, key: string): Promise<string | undefined> {
  const chosen = file(v, key);
  return chosen ? (await atelier.upload(chosen, chosen.name)).id : undefined;
}

async function submit(kind: string, v: Values): Promise<string> {
  const engine = text(v, 'engine');
  const common = { engine, priority: num(v, 'priority') };
  if (kind === 'batch') {
    const prompts = (text(v, 'prompts') ?? '').split('\n').map((p) => p.trim()).filter(Boolean);
    const size = { width: num(v, 'width'), height: num(v, 'height'), steps: num(v, 'steps'), engine };
    const batch = await atelier.generateBatch(prompts.map((prompt) => ({ prompt, ...size })), { priority: num(v, 'priority') });
    return `batches/${batch.id}`;
  }
  const inputs: Record<GenerationKind, () => Promise<unknown>> = {
    image: async () => ({
      ...common,
      prompt: text(v, 'prompt') ?? '',
      negativePrompt: text(v, 'negativePrompt'),
      width: num(v, 'width'),
      height: num(v, 'height'),
      steps: num(v, 'steps'),
      seed: num(v, 'seed'),
      guidance: num(v, 'guidance'),
      numImages: num(v, 'numImages'),
      initImageAssetId: await upload(v, 'initImage'),
      strength: file(v, 'initImage') ? num(v, 'strength') : undefined,
    }),
    video: async () => ({
      ...common,
      prompt: text(v, 'prompt') ?? '',
      numFrames: num(v, 'numFrames'),
      fps: num(v, 'fps'),
      seed: num(v, 'seed'),
      videoConfig: text(v, 'resolution') ? { resolution: text(v, 'resolution') } : undefined,
      imageAssetId: await upload(v, 'image'),
    }),
    speech: async () => ({ ...common, text: text(v, 'text') ?? '', voiceId: text(v, 'voiceId'), speed: num(v, 'speed') }),
    'talking-head': async () => ({ ...common, imageAssetId: await upload(v, 'image'), audioAssetId: await upload(v, 'audio'), fps: num(v, 'fps') }),
  };
  const job = await atelier.generate(kind as GenerationKind, (await inputs[kind as GenerationKind]()) as never);
  return `jobs/${job.id}`;
}

function Field(props: { label: string; name: string; type?: 'text' | 'number' | 'file'; placeholder?: string; min?: number; max?: number; step?: number; value?: string; required?: boolean; accept?: string }) {
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={(props.type ?? 'text') as 'text'}
        placeholder={props.placeholder}
        min={props.min}
        max={props.max}
        step={props.step}
        defaultValue={props.value}
        required={props.required}
        accept={props.accept}
      />
    </label>
  );
}

function EngineField() {
  return (
    <label>
      Engine
      <select name="engine">
        {ENGINES.map((e) => (
          <option value={e}>{e || 'default'}</option>
        ))}
      </select>
    </label>
  );
}

function Voices() {
  const voices = useLoad(() => atelier.request(operations.Voices).then((r) => r.voices), []);
  return (
    <label>
      Voice
      <select name="voiceId">
        <option value="">default</option>
        {(voices.data ?? []).map((v) => (
          <option value={v.id}>
            {v.name} ({v.language}, {v.engine})
          </option>
        ))}
      </select>
    </label>
  );
}

function Fields({ kind }: { kind: string }) {
  switch (kind) {
    case 'video':
      return (
        <>
          <label class="wide">
            Prompt
            <textarea name="prompt" required rows={3} placeholder="a paper boat drifting on a pond" />
          </label>
          <Field label="Frames" name="numFrames" type="number" min={1} max={1440} value="24" />
          <Field label="FPS" name="fps" type="number" min={1} max={60} value="12" />
          <Field label="Resolution" name="resolution" placeholder="512x512" value="256x256" />
          <Field label="Seed" name="seed" type="number" />
          <Field label="Animate an image (optional)" name="image" type="file" accept="image/*" />
          <EngineField />
        </>
      );
    case 'speech':
      return (
        <>
          <label class="wide">
            Text
            <textarea name="text" required rows={3} placeholder="Hello, and welcome to Atelier." />
          </label>
          <Voices />
          <Field label="Speed" name="speed" type="number" min={0.5} max={2} step={0.1} value="1" />
          <EngineField />
        </>
      );
    case 'talking-head':
      return (
        <>
          <Field label="Portrait" name="image" type="file" accept="image/*" required />
          <Field label="Voice (WAV, MP3, OGG, M4A)" name="audio" type="file" accept="audio/*" required />
          <Field label="FPS" name="fps" type="number" min={1} max={60} value="25" />
          <EngineField />
        </>
      );
    case 'batch':
      return (
        <>
          <label class="wide">
            Prompts, one per line (up to 100)
            <textarea name="prompts" required rows={6} placeholder={'a red fox in snow\na lighthouse at dusk\na bowl of cherries'} />
          </label>
          <Field label="Width" name="width" type="number" min={64} max={2048} step={8} value="512" />
          <Field label="Height" name="height" type="number" min={64} max={2048} step={8} value="512" />
          <Field label="Steps" name="steps" type="number" min={1} max={150} value="30" />
          <EngineField />
        </>
      );
    default:
      return (
        <>
          <label class="wide">
            Prompt
            <textarea name="prompt" required rows={3} placeholder="a lighthouse at dusk, oil painting" />
          </label>
          <label class="wide">
            Negative prompt
            <input name="negativePrompt" placeholder="blurry, text" />
          </label>
          <Field label="Width" name="width" type="number" min={64} max={2048} step={8} value="512" />
          <Field label="Height" name="height" type="number" min={64} max={2048} step={8} value="512" />
          <Field label="Steps" name="steps" type="number" min={1} max={150} value="30" />
          <Field label="Seed" name="seed" type="number" placeholder="random" />
          <Field label="Guidance" name="guidance" type="number" min={0} max={30} step={0.5} value="7.5" />
          <Field label="Images" name="numImages" type="number" min={1} max={4} value="1" />
          <Field label="Start from an image (img2img)" name="initImage" type="file" accept="image/*" />
          <Field label="Strength" name="strength" type="number" min={0.05} max={1} step={0.05} value="0.75" />
          <EngineField />
        </>
      );
  }
}

/** Forms for every kind, uploads included, and batches of images. */
export function NewJobPage({ kind = 'image' }: { kind?: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const values = Object.fromEntries(new FormData(event.target as HTMLFormElement).entries());
      go(await submit(kind, values));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>Generate</h1>
      <nav class="tabs">
        {TABS.map(([key, label]) => (
          <a href={`#/new/${key}`} class={key === kind ? 'active' : ''}>
            {label}
          </a>
        ))}
      </nav>
      <form class="card grid" onSubmit={onSubmit} key={kind} data-kind={kind}>
        <Fields kind={kind} />
        {error ? (
          <div class="error wide" role="alert">
            {messageOf(error)}
          </div>
        ) : null}
        <div class="wide">
          <button type="submit" disabled={busy}>
            {busy ? 'Submitting…' : kind === 'batch' ? 'Queue the batch' : 'Generate'}
          </button>
        </div>
      </form>
    </section>
  );
}
