import { badInput } from '../src/services/errors.ts';

const claimed = new WeakSet<object>();

/**
 * Marks an uploaded file as used by one upload. The same variable named by several aliased fields hands each
 * of them the same file: only the first may store it.
 */
export function claimUpload<T extends object>(file: T): T {
  if (claimed.has(file)) throw badInput('Each uploaded file backs one upload: send one file part per uploadAsset field');
  claimed.add(file);
  return file;
}
