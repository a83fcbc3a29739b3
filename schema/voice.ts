import { BUILTIN_VOICES, type Voice } from '../src/services/voice.catalog.ts';
import { builder } from './builder.ts';

const VoiceRef = builder.objectRef<Voice>('Voice').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Pass as synthesizeSpeech(input: {voiceId}).' }),
    name: t.exposeString('name'),
    language: t.exposeString('language'),
    gender: t.exposeString('gender'),
    engine: t.exposeString('engine'),
  }),
});

builder.queryField('voices', (t) =>
  t.field({
    type: [VoiceRef],
    description: 'Voices speech synthesis can use: the builtin eSpeak NG ones, then the Piper voices of live onnx workers.',
    resolve: async (_root, _args, ctx) => {
      const piper = (await ctx.core.workers.models()).filter((m) => m.kind === 'VOICE');
      return [
        ...BUILTIN_VOICES,
        ...piper.map(
          (m): Voice => ({
            id: m.name,
            name: `${String(m.details.voice ?? m.name)} (Piper)`,
            language: String(m.details.language ?? 'unknown').replace('_', '-'),
            gender: 'unknown',
            engine: 'onnx',
            espeakVoice: '',
            espeakVariant: '',
          }),
        ),
      ];
    },
  }),
);
