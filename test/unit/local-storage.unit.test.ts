import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStorage } from '../../src/storage/storage.service.ts';

describe('local storage', () => {
  const roots: string[] = [];
  const newRoot = () => {
    const root = mkdtempSync(path.join(tmpdir(), 'atelier-storage-'));
    roots.push(root);
    return root;
  };
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it('writes into a folder it made before, and makes it again when it was removed since', async () => {
    const root = newRoot();
    const storage = new LocalStorage(root);
    await storage.put('assets/u1/a.png', Buffer.from('first'));
    await storage.put('assets/u1/b.png', Buffer.from('second'));
    rmSync(path.join(root, 'assets/u1'), { recursive: true });
    await storage.put('assets/u1/c.png', Buffer.from('third'));
    expect(readFileSync(path.join(root, 'assets/u1/c.png'), 'utf8')).toBe('third');
  });
});
