import path from 'node:path';
import { writeExportLookAlikes, writeTinyPacks } from './tiny-packs.ts';

// npm run models:tiny [dir] [--look-alikes]: defaults to MODELS_DIR, else .data/models.
const args = process.argv.slice(2);
const root = path.resolve(args.find((a) => !a.startsWith('--')) ?? process.env.MODELS_DIR ?? '.data/models');
const packs = await writeTinyPacks(root);
if (args.includes('--look-alikes')) packs.push(...(await writeExportLookAlikes(root)));
console.log(`Wrote ${packs.join(', ')} to ${root}`);
