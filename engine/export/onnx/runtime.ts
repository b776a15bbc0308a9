// Runs an ONNX model with onnxruntime-node (its CPU binary ships in the npm
// package; nothing is downloaded). Used to validate exports and by tests.
import * as ort from "onnxruntime-node";
import { TscolabError } from "../../errors";

export interface OnnxTensorData {
  data: Float32Array | Int32Array;
  shape: number[];
}

export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the first input → first output (the common single-input model). */
  run(input: Float32Array | Int32Array, shape: number[]): Promise<OnnxTensorData>;
  /** Runs with named inputs; returns every output by name. */
  runFeeds(feeds: Record<string, OnnxTensorData>): Promise<Record<string, OnnxTensorData>>;
  release(): Promise<void>;
}

export interface OpenOnnxOptions {
  /** Threads for one operator (onnxruntime's intraOpNumThreads); default: runtime's choice. */
  threads?: number;
}

/** Converts data to the element type the model declares for that input. */
function toDeclaredType(data: Float32Array | Int32Array, type: string | undefined): ort.Tensor.DataType {
  if (type === "int32" && !(data instanceof Int32Array)) return Int32Array.from(data, Math.trunc);
  if (type === "float32" && !(data instanceof Float32Array)) return Float32Array.from(data);
  if (type === "int64") return BigInt64Array.from(Array.from(data, (x) => BigInt(Math.trunc(x))));
  return data;
}

function fromOrt(t: ort.Tensor): OnnxTensorData {
  const data = t.data;
  if (data instanceof Float32Array || data instanceof Int32Array) return { data, shape: [...t.dims] };
  throw new TscolabError(`onnxruntime returned a ${t.type} tensor`, "export models whose outputs are float32 or int32");
}

/** Loads a model (bytes or a path to model.onnx) into an onnxruntime session. */
export async function openOnnxSession(model: Uint8Array | string, options: OpenOnnxOptions = {}): Promise<OnnxSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = options.threads ? { intraOpNumThreads: options.threads } : {};
  let session: ort.InferenceSession;
  try {
    session = typeof model === "string" ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
  } catch (e) {
    throw new TscolabError(`onnxruntime could not load the ONNX model: ${(e as Error).message.split("\n")[0]}`, "re-export the model; if it persists, report the model's layers");
  }
  const typeOf = new Map<string, string>();
  for (const m of session.inputMetadata ?? []) if (m.isTensor) typeOf.set(m.name, m.type);

  const runFeeds = async (feeds: Record<string, OnnxTensorData>): Promise<Record<string, OnnxTensorData>> => {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, { data, shape }] of Object.entries(feeds)) {
      const typed = toDeclaredType(data, typeOf.get(name));
      ortFeeds[name] = new ort.Tensor(typed as Float32Array, shape);
    }
    const out = await session.run(ortFeeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, fromOrt(t)]));
  };

  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    runFeeds,
    async run(input, shape) {
      const out = await runFeeds({ [session.inputNames[0]!]: { data: input, shape } });
      return out[session.outputNames[0]!]!;
    },
    release: () => session.release(),
  };
}

/** One-shot: loads `model`, runs `input` (with `shape`) through it, returns the first output. */
export async function runOnnx(model: Uint8Array | string, input: Float32Array | Int32Array, shape: number[]): Promise<OnnxTensorData> {
  const session = await openOnnxSession(model);
  try {
    return await session.run(input, shape);
  } finally {
    await session.release();
  }
}
