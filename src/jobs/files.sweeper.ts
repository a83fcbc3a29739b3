import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { Asset } from '../db/entities/asset.entity.ts';
import type { Storage, StoredFile } from '../storage/storage.service.ts';

/**
 * Removes stored files that no asset row names. A file is written before its row is saved (a reader never finds a
 * row without its file), so a process killed between the two leaves a file nobody can see or delete. Only files
 * older than `olderThanMs` go: a younger one may belong to a row about to be saved.
 */
export async function sweepOrphanFiles(
  em: EntityManager,
  storage: Storage,
  options: { olderThanMs: number; log: Logger; now?: number },
): Promise<string[]> {
  const before = (options.now ?? Date.now()) - options.olderThanMs;
  const removed: string[] = [];
  let batch: StoredFile[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const keys = batch.map((f) => f.key);
    const known = new Set((await em.find(Asset, { storageKey: { $in: keys } }, { fields: ['storageKey'] })).map((a) => a.storageKey));
    for (const file of batch) {
      if (known.has(file.key)) continue;
      await storage.remove(file.key);
      removed.push(file.key);
    }
    batch = [];
  };
  // Only where Atelier writes assets: STORAGE_DIR or the bucket may hold other things.
  for await (const file of storage.list('assets/')) {
    if (file.modifiedAt.getTime() > before) continue;
    batch.push(file);
    if (batch.length >= 500) await flush();
  }
  await flush();
  if (removed.length) options.log.warn({ files: removed.length }, `removed ${removed.length} stored file(s) no asset names (left by processes that died while saving)`);
  return removed;
}
