import { AppError } from './errors.ts';

/**
 * Settings that come from a file under CONFIG_DIR are the file's: the API may read them but not change
 * them, or the next reload of the file would silently undo the change.
 */
export function assertEditable(source: string | null | undefined, what: string): void {
  if (!source) return;
  throw new AppError('CONFLICT', `${what} comes from the configuration file ${source}; change it there (it is read-only over the API)`, {
    source,
    readOnly: true,
  });
}
