/**
 * Runs inside a worker thread (see espeak.tool.ts): one eSpeak NG WebAssembly instance per thread,
 * created on the first task and reused. Synthesis is synchronous in WASM, so it never runs on the
 * caller's event loop.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface SpeakTask {
  text: string;
  /** eSpeak NG voice: an identifier ("roa/pt-BR"), its file name ("pt-BR") or a language ("en-gb"). */
  voice: string;
  /** A file in espeak-ng-data/voices/!v, e.g. "f3"; null for the voice's own. */
  variant: string | null;
  /** Words per minute, 80–450. */
  wpm: number;
  /** Base pitch and pitch range, 0–99 (eSpeak's default 50). */
  pitch: number;
  range: number;
}

export interface SpeakResult {
  samples: Int16Array;
  sampleRate: number;
  /** The eSpeak voice identifier (with +variant) that spoke. */
  voice: string;
}

interface VoiceInfo {
  name: string;
  identifier: string;
  languages: { priority: number; name: string }[];
}

/** The parts of the Emscripten glue (espeakng_glue.cpp / glue.js) used here. */
interface ESpeakWorker {
  set_voice(name: string): number;
  set_rate(wpm: number): void;
  set_pitch(pitch: number): void;
  set_range(range: number): void;
  get_samplerate(): number;
  list_voices(): VoiceInfo[];
  /** Calls back with 16-bit mono samples; returning true stops synthesis. */
  synthesize(text: string, callback: (samples: Int16Array | null, events: { type: string }[]) => boolean): void;
  /** IPA of the text, one line per clause; code 0 on success. */
  synthesize_ipa(text: string): { code: number; ipa: string };
}

interface ESpeakModule {
  eSpeakNGWorker: new () => ESpeakWorker;
  FS: { analyzePath(path: string): { exists: boolean } };
}

const DATA_DIR = '/usr/share/espeak-ng-data';

let instance: Promise<{ worker: ESpeakWorker; module: ESpeakModule; voices: VoiceInfo[] }> | undefined;

function load() {
  instance ??= (async () => {
    const require = createRequire(import.meta.url);
    const entry = pathToFileURL(require.resolve('@echogarden/espeak-ng-emscripten')).href;
    // A specifier in a variable: the package ships no types, and this file declares what it uses.
    const factory = ((await import(entry)) as { default: () => Promise<ESpeakModule> }).default;
    const module = await factory();
    const worker = new module.eSpeakNGWorker();
    return { worker, module, voices: worker.list_voices() };
  })();
  return instance;
}

/** Resolves a voice name the way a user of the espeak-ng command line would expect: identifier, file name, then language. */
function resolveVoice(voices: VoiceInfo[], requested: string): string {
  const want = requested.trim().toLowerCase();
  const byId = voices.find((v) => v.identifier.toLowerCase() === want || v.identifier.split('/').pop()!.toLowerCase() === want);
  if (byId) return byId.identifier;
  const byLanguage = voices
    .flatMap((v) => v.languages.filter((l) => l.name.toLowerCase() === want).map((l) => ({ identifier: v.identifier, priority: l.priority })))
    .sort((a, b) => a.priority - b.priority)[0];
  if (byLanguage) return byLanguage.identifier;
  throw new Error(`eSpeak NG has no voice or language "${requested}"`);
}

const clampInt = (value: number, min: number, max: number) => Math.round(Math.min(max, Math.max(min, value)));

/** IPA phonemes, as Piper voices are trained on (espeak-ng --ipa), one string per clause. */
export async function phonemise(task: { text: string; voice: string }): Promise<{ clauses: string[]; voice: string }> {
  const { worker, voices } = await load();
  const voice = resolveVoice(voices, task.voice);
  const code = worker.set_voice(voice);
  if (code !== 0) throw new Error(`eSpeak NG could not load voice "${voice}" (error ${code})`);
  const result = worker.synthesize_ipa(task.text);
  if (result.code !== 0) throw new Error(`eSpeak NG could not phonemise (error ${result.code})`);
  const clauses = result.ipa.split('\n').map((line) => line.trim()).filter(Boolean);
  return { clauses, voice };
}

export default async function speak(task: SpeakTask): Promise<SpeakResult> {
  const { worker, module, voices } = await load();
  const identifier = resolveVoice(voices, task.voice);
  if (task.variant && (!/^[\w -]+$/.test(task.variant) || !module.FS.analyzePath(`${DATA_DIR}/voices/!v/${task.variant}`).exists)) {
    throw new Error(`eSpeak NG has no voice variant "${task.variant}"`);
  }
  const voice = task.variant ? `${identifier}+${task.variant}` : identifier;
  const code = worker.set_voice(voice);
  if (code !== 0) throw new Error(`eSpeak NG could not load voice "${voice}" (error ${code})`);
  // The glue keeps these between calls, so every task sets all of them.
  worker.set_rate(clampInt(task.wpm, 80, 450));
  worker.set_pitch(clampInt(task.pitch, 0, 99));
  worker.set_range(clampInt(task.range, 0, 99));

  const chunks: Int16Array[] = [];
  let length = 0;
  worker.synthesize(task.text, (samples) => {
    if (samples?.length) {
      chunks.push(samples);
      length += samples.length;
    }
    return false;
  });
  const samples = new Int16Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    samples.set(chunk, offset);
    offset += chunk.length;
  }
  return { samples, sampleRate: worker.get_samplerate(), voice };
}
