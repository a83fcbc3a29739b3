import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX TensorProto element types used by the packs. */
export const DT = { FLOAT: 1, INT32: 6, INT64: 7, FLOAT16: 10 } as const;

type Dim = number | string;
export interface ValueInfo {
  name: string;
  type: number;
  shape: Dim[];
}
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[] | string>;
}
export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface ModelSpec {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeSpec[];
  initializers: Initializer[];
}

/**
 * The same graph with float16 inputs and outputs, as an fp16 export declares them: each float input is cast to
 * float32 where it enters and each float output cast to float16 where it leaves. The I/O is what a pipeline
 * sees; the weights stay float32, which changes nothing at the boundary.
 */
export function withFloat16Io(spec: ModelSpec, options: { only?: string[] } = {}): ModelSpec {
  const picked = (v: ValueInfo) => v.type === DT.FLOAT && (!options.only || options.only.includes(v.name));
  const inputs = spec.inputs.filter(picked).map((v) => v.name);
  const outputs = spec.outputs.filter(picked).map((v) => v.name);
  const rename = (name: string) => (inputs.includes(name) || outputs.includes(name) ? `${name}__f32` : name);
  return {
    ...spec,
    inputs: spec.inputs.map((v) => (inputs.includes(v.name) ? { ...v, type: DT.FLOAT16 } : v)),
    outputs: spec.outputs.map((v) => (outputs.includes(v.name) ? { ...v, type: DT.FLOAT16 } : v)),
    nodes: [
      ...inputs.map((name) => ({ op: 'Cast', inputs: [name], outputs: [`${name}__f32`], attrs: { to: DT.FLOAT } })),
      ...spec.nodes.map((n) => ({ ...n, inputs: n.inputs.map(rename), outputs: n.outputs.map(rename) })),
      ...outputs.map((name) => ({ op: 'Cast', inputs: [`${name}__f32`], outputs: [name], attrs: { to: DT.FLOAT16 } })),
    ],
  };
}

function valueInfo(v: ValueInfo) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.type,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: number | number[] | string) {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  return Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
}

/** Serialises a small graph to ONNX bytes (opset 13), for the generated test packs. */
export function buildModel(spec: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'atelier-tiny-packs',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: spec.name,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      node: spec.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: spec.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.data instanceof Float32Array ? DT.FLOAT : DT.INT64,
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
