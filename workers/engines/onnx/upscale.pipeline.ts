import * as ort from 'onnxruntime-node';
import type { Runner } from './sd.pipeline.ts';

/** Input pixels per tile side, and the overlap read around each (beyond ESRGAN's receptive radius at this size). */
export const UPSCALE_TILES = { tile: 256, overlap: 16 } as const;

export interface TileOptions {
  /** Input pixels per tile side (before the overlap is added). */
  tile: number;
  /** Extra input pixels read on each side of a tile and thrown away after: at least the model's receptive radius. */
  overlap: number;
  signal?: AbortSignal;
  onTile?(done: number, total: number): void;
}

/**
 * ESRGAN-family upscale ([1,3,H,W] in [0,1] → [1,3,sH,sW]) in overlapping tiles, so a large image needs
 * only one tile's activations at a time; each tile keeps only its core, so the seams match an untiled run.
 */
export async function upscaleTiled(session: Runner, rgb: Uint8Array, width: number, height: number, scale: number, options: TileOptions): Promise<Uint8Array> {
  const { tile, overlap } = options;
  // torch.onnx.export names them `input.1` and a number unless told otherwise: the model says.
  const inputName = session.inputMetadata[0]?.name ?? 'input';
  const outputName = session.outputNames?.[0] ?? 'output';
  const outWidth = width * scale;
  const out = new Uint8Array(outWidth * height * scale * 3);
  const tilesX = Math.ceil(width / tile);
  const tilesY = Math.ceil(height / tile);
  let done = 0;
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      options.signal?.throwIfAborted();
      const x0 = tx * tile;
      const y0 = ty * tile;
      const x1 = Math.min(x0 + tile, width);
      const y1 = Math.min(y0 + tile, height);
      const px0 = Math.max(x0 - overlap, 0);
      const py0 = Math.max(y0 - overlap, 0);
      const px1 = Math.min(x1 + overlap, width);
      const py1 = Math.min(y1 + overlap, height);
      const w = px1 - px0;
      const h = py1 - py0;
      const input = new Float32Array(3 * w * h);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const src = ((py0 + y) * width + px0 + x) * 3;
          for (let c = 0; c < 3; c++) input[c * w * h + y * w + x] = rgb[src + c]! / 255;
        }
      }
      const result = await session.run({ [inputName]: new ort.Tensor('float32', input, [1, 3, h, w]) });
      const tensor = (result[outputName] ?? Object.values(result)[0])!;
      if (tensor.dims.at(-1) !== w * scale || tensor.dims.at(-2) !== h * scale) {
        throw new Error(`The upscaler turned a ${w}×${h} tile into ${tensor.dims.at(-1)}×${tensor.dims.at(-2)}, not ×${scale}`);
      }
      const data = tensor.data as Float32Array;
      const ow = w * scale;
      const plane = ow * h * scale;
      // Copy the tile's core (its part of the image without the overlap) into place.
      for (let y = (y0 - py0) * scale; y < (y1 - py0) * scale; y++) {
        for (let x = (x0 - px0) * scale; x < (x1 - px0) * scale; x++) {
          const dst = ((py0 * scale + y) * outWidth + px0 * scale + x) * 3;
          for (let c = 0; c < 3; c++) out[dst + c] = Math.max(0, Math.min(255, Math.round(data[c * plane + y * ow + x]! * 255)));
        }
      }
      options.onTile?.(++done, tilesX * tilesY);
    }
  }
  return out;
}

/** Side of the tile the scale probe runs: small, and a multiple of what a pixel-unshuffling x2 / x1 model needs. */
const PROBE = 16;

/**
 * The model's own scale: one small tile through it, output side over input side. A file name says nothing
 * reliable (RealESRGAN_x2plus, 4x-UltraSharp, a renamed file), and a wrong scale makes garbage.
 */
export async function probeUpscaleScale(session: Runner): Promise<number> {
  const inputName = session.inputMetadata[0]?.name ?? 'input';
  const result = await session.run({ [inputName]: new ort.Tensor('float32', new Float32Array(3 * PROBE * PROBE).fill(0.5), [1, 3, PROBE, PROBE]) });
  const out = (result[session.outputNames?.[0] ?? ''] ?? Object.values(result)[0])!;
  const [, channels, height, width] = out.dims as [number, number, number, number];
  const scale = width / PROBE;
  if (out.dims.length !== 4 || channels !== 3 || height !== width || !Number.isInteger(scale) || scale < 1) {
    throw new Error(`not an image-to-image upscaler: a [1,3,${PROBE},${PROBE}] tile gave [${out.dims.join(',')}]`);
  }
  return scale;
}
