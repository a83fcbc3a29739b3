import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { normalArray } from '../../workers/engines/onnx/random.ts';
import { writeTinyEsrgan } from '../../workers/engines/onnx/tiny-packs.ts';
import { upscaleTiled } from '../../workers/engines/onnx/upscale.pipeline.ts';

describe('tiled ESRGAN upscale', () => {
  it('gives the same pixels tiled with overlap as in one piece, and differs without overlap', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'atelier-esrgan-'));
    await writeTinyEsrgan(dir, 2);
    const session = await ort.InferenceSession.create(path.join(dir, 'tiny-esrgan-x2.onnx'));
    const [width, height] = [37, 23];
    const rgb = Uint8Array.from(normalArray(width * height * 3, 5), (v) => Math.max(0, Math.min(255, Math.round(128 + v * 50))));
    const whole = await upscaleTiled(session, rgb, width, height, 2, { tile: 64, overlap: 0 });
    expect(whole).toHaveLength(width * 2 * height * 2 * 3);
    const tiles: number[] = [];
    const tiled = await upscaleTiled(session, rgb, width, height, 2, { tile: 10, overlap: 2, onTile: (done) => tiles.push(done) });
    expect(tiles).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(Buffer.from(tiled).equals(Buffer.from(whole))).toBe(true);
    const seams = await upscaleTiled(session, rgb, width, height, 2, { tile: 10, overlap: 0 });
    expect(Buffer.from(seams).equals(Buffer.from(whole))).toBe(false);
    // A scale the model does not have (an unprobed pack's file-name guess, say) fails on the first tile.
    await expect(upscaleTiled(session, rgb, width, height, 4, { tile: 64, overlap: 0 })).rejects.toThrow('The upscaler turned a 37×23 tile into 74×46, not ×4');
  });
});
