import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { probeStorage } from './storage.health.ts';

/** Where asset bytes live. Keys are relative, '/'-separated paths chosen by Atelier, never by users. */
export interface Storage {
  put(key: string, data: Buffer): Promise<void>;
  /** Stores a copy of a local file, never holding it in memory (uploads can be hundreds of MB). */
  putFile(key: string, file: string): Promise<void>;
  open(key: string): Readable;
  size(key: string): Promise<number>;
  remove(key: string): Promise<void>;
  /** Where a client may fetch the bytes directly (a presigned URL), or null to have the API stream them. */
  downloadUrl?(key: string, options: { mime: string; filename?: string | null }): Promise<string | null>;
  /** Every stored key under `prefix` (e.g. 'assets/') with its last write, for the sweep of files no row names. */
  list(prefix: string): AsyncIterable<StoredFile>;
  /** Rejects when storage could not take a new asset now (health and readiness). */
  probe(): Promise<void>;
}

export interface StoredFile {
  key: string;
  modifiedAt: Date;
}

export class LocalStorage implements Storage {
  readonly root: string;
  /** Folders this process made or found: most writes go to a folder written before, and need no mkdir. */
  private readonly folders = new Set<string>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private resolve(key: string): string {
    const full = path.resolve(this.root, key);
    if (!full.startsWith(this.root + path.sep)) throw new Error(`Storage key escapes the storage root: ${key}`);
    return full;
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.writeAtomically(key, (temp) => writeFile(temp, data));
  }

  async putFile(key: string, file: string): Promise<void> {
    await this.writeAtomically(key, (temp) => copyFile(file, temp));
  }

  /** Write then rename, so a reader never sees half a file and a crash leaves no partial asset. */
  private async writeAtomically(key: string, write: (temp: string) => Promise<void>): Promise<void> {
    const full = this.resolve(key);
    const folder = path.dirname(full);
    // The writer's pid in the name lets the launcher remove what a killed process left half-written.
    const temp = `${full}.${process.pid}-${randomUUID()}.partial`;
    try {
      if (!this.folders.has(folder)) await mkdir(folder, { recursive: true });
      await write(temp).catch(async (error: NodeJS.ErrnoException) => {
        // The folder went since (removed by hand, or by a sweep): make it again, once.
        if (error.code !== 'ENOENT') throw error;
        await mkdir(folder, { recursive: true });
        await write(temp);
      });
      this.folders.add(folder);
      await rename(temp, full);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  open(key: string): Readable {
    return createReadStream(this.resolve(key));
  }

  async size(key: string): Promise<number> {
    return (await stat(this.resolve(key))).size;
  }

  async remove(key: string): Promise<void> {
    await rm(this.resolve(key), { force: true });
  }

  probe(): Promise<void> {
    return probeStorage(this.root);
  }

  async *list(prefix: string): AsyncIterable<StoredFile> {
    const entries = await readdir(this.resolve(prefix), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      const info = await stat(full).catch(() => null);
      if (info) yield { key: path.relative(this.root, full).split(path.sep).join('/'), modifiedAt: info.mtime };
    }
  }
}
