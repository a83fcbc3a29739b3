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
  t.field({ type: [VoiceRef], description: 'Voices speech synthesis can use.', resolve: () => [...BUILTIN_VOICES] }),
);
