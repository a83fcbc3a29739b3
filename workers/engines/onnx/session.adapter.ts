import * as ort from 'onnxruntime-node';

/**
 * The one place where the pipelines' tensors meet what an export declares. Pipelines build float32 data and
 * int64 ids; exports differ (fp16 UNets and VAEs, int32 or int64 ids and timesteps, a scalar or a [1]
 * timestep). Each feed is converted to its input's declared type and rank, and every float16 output comes
 * back as float32, so the pipelines never see a dtype.
 */

type Metadata = readonly ort.InferenceSession.ValueMetadata[];
type Numeric = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint16Array | Uint8Array | Int8Array;

const F16 = (globalThis as { Float16Array?: { from(values: ArrayLike<number>): ArrayLike<number> & { buffer: ArrayBuffer } } }).Float16Array;

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE 754 binary16 bits of a number, rounded to nearest even (what Float16Array would store). */
export function halfBits(value: number): number {
  scratch.setFloat32(0, value);
  const x = scratch.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa rolls into the exponent, as it should (up to infinity).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** float32 → float16 bits (the raw Uint16Array an fp16 tensor holds). */
export function toFloat16Bits(values: ArrayLike<number>): Uint16Array {
  if (F16) {
    const half = F16.from(values);
    return new Uint16Array(half.buffer, 0, values.length);
  }
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfBits(values[i]!);
  return out;
}

/** float16 bits (or a Float16Array) → float32. */
export function fromFloat16(data: ArrayLike<number>): Float32Array {
  if (!(data instanceof Uint16Array)) return Float32Array.from(data);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = halfValue(data[i]!);
  return out;
}

/**
 * An fp16 tensor the native binding can read. onnxruntime-common 1.30 wraps Uint16Array data in a
 * Float16Array where the runtime has one (Node 24), and onnxruntime-node's binding reads a Float16Array as 0
 * bytes ("expected N, got 0"); the raw bits are put back as the tensor's data.
 */
export function float16Tensor(bits: Uint16Array, dims: readonly number[]): ort.Tensor {
  const tensor = new ort.Tensor('float16', bits, dims);
  if (!(tensor.data instanceof Uint16Array)) (tensor as unknown as { cpuData: Uint16Array }).cpuData = bits;
  return tensor;
}

const asNumbers = (data: ort.Tensor['data']): ArrayLike<number> =>
  data instanceof BigInt64Array || data instanceof BigUint64Array ? Array.from(data, Number) : (data as unknown as ArrayLike<number>);

/** The data of `tensor` as numbers of the declared type, or the tensor itself when it already is. */
function convert(tensor: ort.Tensor, type: string, dims: readonly number[]): ort.Tensor {
  const from = tensor.type;
  if (from === type) return dims === tensor.dims ? tensor : type === 'float16' ? float16Tensor(tensor.data as Uint16Array, dims) : new ort.Tensor(type, tensor.data as Numeric, dims);
  const values = from === 'float16' ? fromFloat16(tensor.data as Uint16Array) : asNumbers(tensor.data);
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(values), dims);
    case 'float16':
      return float16Tensor(toFloat16Bits(values), dims);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(values), dims);
    // A fractional timestep (Euler's linspace, Karras) goes to an integer UNet input rounded.
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(Math.round(v))), dims);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(values as ArrayLike<number>, (v) => Math.round(v)), dims);
    default:
      throw new Error(`Cannot feed ${from} data to a ${type} input`);
  }
}

/** The dims a feed should have for an input of this rank: a one-value [1] feed to a scalar input, and back. */
function dimsFor(declared: readonly (number | string)[] | undefined, dims: readonly number[]): readonly number[] {
  if (!declared) return dims;
  const size = dims.reduce((a, b) => a * b, 1);
  if (declared.length === 0 && dims.length !== 0 && size === 1) return [];
  if (declared.length === 1 && dims.length === 0) return [1];
  return dims;
}

/** Feeds converted to each input's declared type and rank; inputs the session does not have are dropped. */
export function adaptFeeds(metadata: Metadata, feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const meta of metadata) {
    const feed = feeds[meta.name];
    if (!feed) continue;
    if (!meta.isTensor) {
      out[meta.name] = feed;
      continue;
    }
    const dims = dimsFor(meta.shape, feed.dims);
    out[meta.name] = convert(feed, meta.type, dims);
  }
  return out;
}

/** float16 outputs as float32; others as they are. */
export function adaptOutputs(outputs: ort.InferenceSession.ReturnType): ort.InferenceSession.ReturnType {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    out[name] = tensor.type === 'float16' ? new ort.Tensor('float32', fromFloat16(tensor.data as Uint16Array), tensor.dims) : tensor;
  }
  return out;
}

/** What the pipelines need of a session, adapted: `run` takes float32 / int64 feeds and returns float32. */
export interface AdaptedSession {
  readonly inputMetadata: Metadata;
  readonly outputNames: readonly string[];
  run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType>;
  release(): Promise<void>;
}

export function adaptSession(session: ort.InferenceSession): AdaptedSession {
  return {
    inputMetadata: session.inputMetadata,
    outputNames: session.outputNames,
    run: async (feeds) => adaptOutputs(await session.run(adaptFeeds(session.inputMetadata, feeds))),
    release: () => session.release(),
  };
}

/** An in-process session behind the adapter (tests, benchmarks, the upscaler's probe). */
export async function openSession(file: string | Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<AdaptedSession> {
  return adaptSession(typeof file === 'string' ? await ort.InferenceSession.create(file, options) : await ort.InferenceSession.create(file, options));
}
