import { randomUUID } from 'node:crypto';
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Below this much free space storage counts as full: a generation would fail half-way through writing. */
const MIN_FREE_BYTES = 64 * 1024 * 1024;

/** Writes and removes a small file under the storage root; rejects when storage cannot take a new asset. */
export async function probeStorage(root: string): Promise<void> {
  try {
    await mkdir(root, { recursive: true });
    const probe = path.join(root, `.probe-${process.pid}-${randomUUID()}`);
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
    const fs = await statfs(root);
    if (fs.bavail * fs.bsize < MIN_FREE_BYTES) throw new Error('storage is full');
  } catch (error) {
    // The message reaches health answers: the reason, never the path.
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code ? `storage unavailable (${code})` : (error as Error).message);
  }
}
