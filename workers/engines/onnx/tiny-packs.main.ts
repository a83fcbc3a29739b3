import path from 'node:path';
import { writeTinyPacks } from './tiny-packs.ts';

// npm run models:tiny [dir]: defaults to MODELS_DIR, else .data/models.
const root = path.resolve(process.argv[2] ?? process.env.MODELS_DIR ?? '.data/models');
const packs = await writeTinyPacks(root);
console.log(`Wrote ${packs.join(', ')} to ${root}`);
