import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Atelier, GenerationInput, GenerationKind } from '../sdk/src/index.ts';
import { uploadFile } from '../sdk/src/node.ts';

type FlagType = 'int' | 'float' | 'string' | 'file' | 'bool';
interface Flag {
  type: FlagType;
  /** The input field it sets; dots go into nested objects (videoConfig.resolution). */
  field: string;
  help: string;
}

const common: Record<string, Flag> = {
  engine: { type: 'string', field: 'engine', help: 'builtin, onnx, comfyui or provider' },
  priority: { type: 'int', field: 'priority', help: '1 runs first, 10 last' },
  timeout: { type: 'int', field: 'timeout', help: 'seconds the job may run' },
};

/** The flags of each kind; the first argument is the prompt (image, video), the text (speech) or absent. */
export const KIND_FLAGS: Record<GenerationKind, Record<string, Flag>> = {
  image: {
    ...common,
    width: { type: 'int', field: 'width', help: '64–2048, a multiple of 8' },
    height: { type: 'int', field: 'height', help: '64–2048, a multiple of 8' },
    steps: { type: 'int', field: 'steps', help: '1–150' },
    seed: { type: 'int', field: 'seed', help: 'same prompt and seed, same image' },
    guidance: { type: 'float', field: 'guidance', help: '0–30' },
    negative: { type: 'string', field: 'negativePrompt', help: 'what to avoid' },
    'num-images': { type: 'int', field: 'numImages', help: '1–4' },
    style: { type: 'string', field: 'style', help: 'realistic, art, anime…' },
    model: { type: 'string', field: 'model', help: 'a local model pack' },
    'init-image': { type: 'file', field: 'initImageAssetId', help: 'img2img: a picture to start from' },
    strength: { type: 'float', field: 'strength', help: 'img2img: how much to repaint, (0, 1]' },
  },
  video: {
    ...common,
    frames: { type: 'int', field: 'numFrames', help: '1–1440' },
    fps: { type: 'int', field: 'fps', help: '1–60' },
    resolution: { type: 'string', field: 'videoConfig.resolution', help: 'WIDTHxHEIGHT, e.g. 512x512' },
    seed: { type: 'int', field: 'seed', help: 'same prompt and seed, same video' },
    negative: { type: 'string', field: 'negativePrompt', help: 'what to avoid' },
    'motion-scale': { type: 'float', field: 'motionScale', help: '0–10' },
    image: { type: 'file', field: 'imageAssetId', help: 'animate this picture' },
    upscale: { type: 'bool', field: 'videoConfig.upscale', help: 'render small, upscale each frame' },
  },
  speech: {
    ...common,
    voice: { type: 'string', field: 'voiceId', help: 'see the voices query; default en_us_female' },
    speed: { type: 'float', field: 'speed', help: '0.5–2.0' },
    format: { type: 'string', field: 'format', help: 'WAV or MP3' },
    emotion: { type: 'string', field: 'emotion', help: 'NEUTRAL, HAPPY, SAD, ANGRY, EXCITED, CALM' },
  },
  'talking-head': {
    ...common,
    image: { type: 'file', field: 'imageAssetId', help: 'the portrait (required)' },
    audio: { type: 'file', field: 'audioAssetId', help: 'the voice; or give a text to speak as the first argument' },
    fps: { type: 'int', field: 'fps', help: 'default 25' },
    voice: { type: 'string', field: 'voiceId', help: 'with a text: the voice that speaks it' },
  },
};

export class UsageError extends Error {}

function convert(flag: string, type: FlagType, raw: string | boolean): string | number | boolean {
  if (type === 'bool') return raw === true || raw === 'true';
  if (typeof raw !== 'string') throw new UsageError(`--${flag} needs a value`);
  if (type === 'int' || type === 'float') {
    const value = Number(raw);
    if (!Number.isFinite(value) || (type === 'int' && !Number.isInteger(value))) {
      throw new UsageError(`--${flag} must be ${type === 'int' ? 'a whole number' : 'a number'}, not "${raw}"`);
    }
    return value;
  }
  return raw;
}

function setPath(target: Record<string, unknown>, field: string, value: unknown) {
  const [head, ...rest] = field.split('.');
  if (!rest.length) {
    target[head!] = value;
    return;
  }
  const inner = (target[head!] ??= {}) as Record<string, unknown>;
  setPath(inner, rest.join('.'), value);
}

/**
 * Builds the kind's input from the first argument and the flags; files named by flags are uploaded first.
 * A talking head given a text instead of --audio has that text spoken first (a speech job), then uses it.
 */
export async function buildInput<K extends GenerationKind>(
  atelier: Atelier,
  kind: K,
  text: string | undefined,
  flags: Record<string, string | boolean | undefined>,
  onStep: (message: string) => void,
): Promise<GenerationInput<K>> {
  const table = KIND_FLAGS[kind];
  const input: Record<string, unknown> = {};
  if (kind === 'image' || kind === 'video') {
    if (!text) throw new UsageError(`generate ${kind} needs a prompt: ./atelier generate ${kind} "a lighthouse at dusk"`);
    input.prompt = text;
  }
  if (kind === 'speech') {
    if (!text) throw new UsageError('generate speech needs a text: ./atelier generate speech "Hello there"');
    input.text = text;
  }
  for (const [flag, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    const spec = table[flag];
    if (!spec) throw new UsageError(`generate ${kind} has no --${flag}; it takes ${Object.keys(table).map((f) => `--${f}`).join(', ')}`);
    if (kind === 'talking-head' && flag === 'voice') continue;
    if (spec.type === 'file') {
      await access(String(raw), constants.R_OK).catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(error.code === 'ENOENT' ? `--${flag}: no such file ${raw}` : `--${flag}: cannot read ${raw} (${error.code})`);
      });
      onStep(`Uploading ${raw}`);
      setPath(input, spec.field, (await uploadFile(atelier, String(raw))).id);
    } else {
      setPath(input, spec.field, convert(flag, spec.type, raw));
    }
  }
  if (kind === 'talking-head') {
    if (!input.imageAssetId) throw new UsageError('generate talking-head needs --image PORTRAIT');
    if (!input.audioAssetId) {
      if (!text) throw new UsageError('generate talking-head needs --audio FILE, or a text to speak as the first argument');
      onStep('Speaking the text');
      const voice = flags.voice === undefined ? {} : { voiceId: String(flags.voice) };
      const speech = await atelier.wait((await atelier.synthesizeSpeech({ text, ...voice })).id);
      input.audioAssetId = speech.assets[0]!.id;
    }
  }
  return input as GenerationInput<K>;
}
