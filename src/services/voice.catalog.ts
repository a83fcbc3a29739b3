/** A voice Atelier offers, and how the builtin eSpeak NG engine speaks it. */
export interface Voice {
  id: string;
  name: string;
  language: string;
  /** Unknown for Piper voices, whose config does not say. */
  gender: 'female' | 'male' | 'unknown';
  engine: string;
  /** eSpeak NG voice name (language) and variant. */
  espeakVoice: string;
  espeakVariant: string;
}

const builtin = (id: string, name: string, language: string, gender: Voice['gender'], espeakVoice: string): Voice => ({
  id,
  name,
  language,
  gender,
  engine: 'builtin',
  espeakVoice,
  espeakVariant: gender === 'female' ? 'f3' : 'm3',
});

export const BUILTIN_VOICES: readonly Voice[] = [
  builtin('pt_br_female', 'Português (Brasil), feminina', 'pt-BR', 'female', 'pt-br'),
  builtin('pt_br_male', 'Português (Brasil), masculina', 'pt-BR', 'male', 'pt-br'),
  builtin('pt_pt_female', 'Português (Portugal), feminina', 'pt-PT', 'female', 'pt'),
  builtin('en_us_female', 'English (US), female', 'en-US', 'female', 'en-us'),
  builtin('en_us_male', 'English (US), male', 'en-US', 'male', 'en-us'),
  builtin('en_gb_female', 'English (UK), female', 'en-GB', 'female', 'en-gb'),
  builtin('es_female', 'Español, femenina', 'es', 'female', 'es'),
  builtin('es_male', 'Español, masculina', 'es', 'male', 'es'),
  builtin('fr_female', 'Français, féminine', 'fr', 'female', 'fr'),
  builtin('de_male', 'Deutsch, männlich', 'de', 'male', 'de'),
  builtin('it_female', 'Italiano, femminile', 'it', 'female', 'it'),
  builtin('ru_female', 'Русский, женский', 'ru', 'female', 'ru'),
  builtin('zh_female', '中文（普通话），女声', 'zh', 'female', 'cmn'),
];

/** Emotion as prosody: eSpeak NG has no emotions, but pitch, range and rate carry much of one. */
export const EMOTION_PROSODY: Record<string, { pitch: number; range: number; rate: number }> = {
  neutral: { pitch: 50, range: 50, rate: 1 },
  happy: { pitch: 65, range: 75, rate: 1.1 },
  excited: { pitch: 72, range: 90, rate: 1.2 },
  sad: { pitch: 35, range: 25, rate: 0.85 },
  angry: { pitch: 45, range: 80, rate: 1.15 },
  calm: { pitch: 45, range: 35, rate: 0.9 },
};

export const findVoice = (id: string) => BUILTIN_VOICES.find((v) => v.id === id);
