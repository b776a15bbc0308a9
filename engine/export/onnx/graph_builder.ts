// Accumulates ONNX nodes and initializers while layers are converted, hands
// out unique tensor names, and tracks each Keras tensor's physical layout.
//
// Layout: Keras convolutions are channels-last (NHWC) while ONNX's Conv and
// pools are channels-first (NCHW). Rather than wrapping every conv in a pair
// of Transposes, each converted value remembers `perm`: physical axis i holds
// Keras axis perm[i]. A layer asks for the layout it needs (`withPerm`) and a
// Transpose is inserted only when the layout actually changes, so
// Conv → BatchNorm → ReLU → MaxPool → Conv stays in NCHW throughout and is
// transposed back once, before Flatten (which must see Keras' NHWC order).
import { attr, DataType, type AttributeValue, type DataTypeCode, type NodeDef, type TensorDef } from "./onnx_messages";

export type KerasShape = (number | null)[];

export interface Value {
  /** ONNX tensor name. */
  name: string;
  /** Shape in Keras' (logical) axis order; null = unknown (the batch). */
  shape: KerasShape;
  /** Physical axis i holds Keras axis perm[i]. */
  perm: number[];
  dtype: "float32" | "int32";
  /** Carries a Keras mask (Embedding maskZero) that recurrent layers would honour. */
  masked?: boolean;
}

export const identityPerm = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);

/** Keras channels-last → channels-first: [0, r-1, 1, ..., r-2]. */
export const channelsFirstPerm = (rank: number): number[] => [0, rank - 1, ...identityPerm(rank).slice(1, rank - 1)];

const isIdentity = (perm: number[]): boolean => perm.every((p, i) => p === i);

/** The physical axis where Keras axis `kerasAxis` (negative allowed) lives. */
export function physicalAxis(v: Value, kerasAxis: number): number {
  const rank = v.shape.length;
  const k = kerasAxis < 0 ? rank + kerasAxis : kerasAxis;
  const i = v.perm.indexOf(k);
  if (i < 0) throw new Error(`axis ${kerasAxis} out of range for rank ${rank}`);
  return i;
}

/** Physical shape of a value (Keras shape permuted). */
export const physicalShape = (v: Value): KerasShape => v.perm.map((k) => v.shape[k]);

function littleEndianBytes(data: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // Little-endian host: the array's own memory is the payload, no copy.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  // Big-endian host: swap each element's bytes (ONNX raw_data is little-endian).
  const out = new Uint8Array(bytes.length);
  const n = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += n) for (let j = 0; j < n; j++) out[i + j] = bytes[i + n - 1 - j];
  return out;
}

export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorDef[] = [];
  private readonly used = new Set<string>();
  private readonly transposeCache = new Map<string, Value>();

  constructor(readonly opset: number) {}

  /** A fresh name based on `base` (kept as is when not taken yet). */
  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name chosen elsewhere (graph inputs). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`duplicate ONNX tensor name ${name}`);
    this.used.add(name);
    return name;
  }

  /** Adds an initializer; it keeps `data` itself, so the caller must not change it afterwards. */
  constant(base: string, data: Float32Array | Int32Array | BigInt64Array, dims: number[]): string {
    const name = this.uniqueName(base);
    const dataType: DataTypeCode = data instanceof Float32Array ? DataType.FLOAT : data instanceof Int32Array ? DataType.INT32 : DataType.INT64;
    this.initializers.push({ name, dataType, dims, raw: littleEndianBytes(data) });
    return name;
  }

  private readonly scalars = new Map<number, string>();

  /** A float32 scalar constant, shared by every node that needs the same value. */
  scalar(value: number): string {
    const f = Math.fround(value);
    let name = this.scalars.get(f);
    if (!name) {
      name = this.constant(`const_${String(f).replace(/[^0-9a-zA-Z]/g, "_")}`, new Float32Array([f]), []);
      this.scalars.set(f, name);
    }
    return name;
  }

  /** An int64 1-D constant (shapes, perms for ops that take them as inputs). */
  int64s(base: string, values: number[]): string {
    return this.constant(base, BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);
  }

  /** Adds a node with one output and returns the output's name. */
  node(opType: string, base: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    const name = this.uniqueName(`${base}/${opType}`);
    this.nodes.push({ opType, name, inputs, outputs: [name], attributes });
    return name;
  }

  /**
   * Adds a node with several outputs; `wanted[i]` false leaves output i
   * unnamed (ONNX's way to skip an optional output).
   */
  nodeOutputs(opType: string, base: string, inputs: string[], wanted: boolean[], attributes: Record<string, AttributeValue> = {}): string[] {
    const name = this.uniqueName(`${base}/${opType}`);
    const outputs = wanted.map((w, i) => (w ? this.uniqueName(`${name}:${i}`) : ""));
    while (outputs.length && outputs[outputs.length - 1] === "") outputs.pop();
    this.nodes.push({ opType, name, inputs, outputs, attributes });
    return outputs;
  }

  /** `v` transposed so that its physical layout is `perm` (no-op when it already is). */
  withPerm(v: Value, perm: number[]): Value {
    if (perm.length !== v.perm.length) throw new Error(`rank mismatch: perm ${perm} for rank ${v.perm.length}`);
    if (perm.every((p, i) => p === v.perm[i])) return v;
    // The source layout is part of the key: Permute relabels a tensor without renaming it.
    const key = `${v.name}|${v.perm.join(",")}|${perm.join(",")}`;
    const cached = this.transposeCache.get(key);
    if (cached) return cached;
    // out[i] = in[q[i]] where in[j] holds Keras axis v.perm[j].
    const q = perm.map((k) => v.perm.indexOf(k));
    const name = this.node("Transpose", v.name, [v.name], { perm: attr.ints(q) });
    const out: Value = { ...v, name, perm: [...perm] };
    this.transposeCache.set(key, out);
    return out;
  }

  /** `v` in Keras' own axis order. */
  keras(v: Value): Value {
    return isIdentity(v.perm) ? v : this.withPerm(v, identityPerm(v.perm.length));
  }

  /**
   * Drops nodes and initializers that no graph output depends on (for example
   * a layer shared with another model) and renames each output's producer to
   * the output name, so no Identity nodes are needed.
   */
  finalize(outputs: { value: string; name: string }[], graphInputs: Set<string>): void {
    const rename = new Map<string, string>();
    for (const o of outputs) {
      if (o.value === o.name) continue;
      const producer = this.nodes.find((n) => n.outputs.includes(o.value));
      const alreadyRenamed = rename.has(o.value);
      if (!producer || graphInputs.has(o.value) || alreadyRenamed) {
        this.nodes.push({ opType: "Identity", name: this.uniqueName(`${o.name}/Identity`), inputs: [rename.get(o.value) ?? o.value], outputs: [o.name], attributes: {} });
      } else {
        rename.set(o.value, o.name);
      }
    }
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((i) => rename.get(i) ?? i);
      n.outputs = n.outputs.map((i) => rename.get(i) ?? i);
    }
    const needed = new Set(outputs.map((o) => o.name));
    const kept: NodeDef[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (n.outputs.some((o) => needed.has(o))) {
        kept.push(n);
        for (const inp of n.inputs) needed.add(inp);
      }
    }
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
    const liveInits = this.initializers.filter((t) => needed.has(t.name));
    this.initializers.splice(0, this.initializers.length, ...liveInits);
  }
}
