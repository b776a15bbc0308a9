// Optional second opinion from the reference implementation: onnx.checker
// (full check: structure, types, and strict shape inference) from Python's
// `onnx` package (Debian: python3-onnx). tscolab never needs Python to
// export; tests and health reports use this when it is present.
import { execFile } from "node:child_process";

export interface OnnxCheckResult {
  path: string;
  ok: boolean;
  /** The checker's message when it rejects the file. */
  error?: string;
  /** What the reference parser read back from the file. */
  summary?: {
    irVersion: number;
    opset: number;
    producerName: string;
    producerVersion: string;
    metadata: Record<string, string>;
    inputs: { name: string; dims: (number | string)[] }[];
    outputs: { name: string; dims: (number | string)[] }[];
    initializers: number;
    initializersWithRawData: number;
    ops: string[];
  };
}

const CHECK_SCRIPT = `
import json, os, shutil, sys, tempfile
import onnx
def dims(v):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in v.type.tensor_type.shape.dim]
out = []
for path in sys.argv[1:]:
    r = {"path": path}
    try:
        # check_model(path, full_check=True) writes the shape-inferred model back
        # to that path (onnx 1.12's infer_shapes_path), so it checks a copy.
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "model.onnx")
            shutil.copyfile(path, copy)
            onnx.checker.check_model(copy, full_check=True)
        m = onnx.load(path)
        r["ok"] = True
        r["summary"] = {
            "irVersion": m.ir_version,
            "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
            "producerName": m.producer_name,
            "producerVersion": m.producer_version,
            "metadata": {p.key: p.value for p in m.metadata_props},
            "inputs": [{"name": i.name, "dims": dims(i)} for i in m.graph.input],
            "outputs": [{"name": o.name, "dims": dims(o)} for o in m.graph.output],
            "initializers": len(m.graph.initializer),
            "initializersWithRawData": sum(1 for t in m.graph.initializer if t.HasField("raw_data")),
            "ops": sorted({n.op_type for n in m.graph.node}),
        }
    except Exception as e:
        r["ok"] = False
        r["error"] = (type(e).__name__ + ": " + str(e)).strip()
    out.append(r)
print(json.dumps(out))
`;

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === "number" ? ((err as any).code as number) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The first Python that can `import onnx`: $TSCOLAB_PYTHON, then python3 on
 * PATH, then Debian's /usr/bin/python3 (a pyenv or venv python3 on PATH
 * does not see Debian's python3-onnx). Null when none can.
 */
export async function findOnnxPython(): Promise<string | null> {
  const candidates = [process.env.TSCOLAB_PYTHON, "python3", "/usr/bin/python3"].filter((c): c is string => !!c);
  const key = candidates.join("\0");
  // Asked once per process (and per $TSCOLAB_PYTHON): starting Python costs ~0.1 s per candidate.
  let found = pythonByCandidates.get(key);
  if (!found) {
    found = (async () => {
      for (const py of [...new Set(candidates)]) {
        const r = await run(py, ["-c", "import onnx"], 60_000);
        if (r.code === 0) return py;
      }
      return null;
    })();
    pythonByCandidates.set(key, found);
  }
  return found;
}

const pythonByCandidates = new Map<string, Promise<string | null>>();

/** The newest default-domain opset the installed onnx package knows (17 for Debian 12's 1.12). */
export async function onnxCheckerMaxOpset(python: string): Promise<number> {
  const r = await run(python, ["-c", "import onnx.defs; print(onnx.defs.onnx_opset_version())"]);
  const n = Number.parseInt(r.stdout.trim(), 10);
  if (r.code !== 0 || !Number.isInteger(n)) throw new Error(`could not ask ${python} for onnx's opset: ${r.stderr.trim().split("\n").pop()}`);
  return n;
}

/**
 * Runs onnx.checker.check_model(path, full_check=True) on each file with
 * `python`, on a temporary copy: the check rewrites the file it is given.
 */
export async function checkOnnxFiles(python: string, paths: string[]): Promise<OnnxCheckResult[]> {
  const r = await run(python, ["-c", CHECK_SCRIPT, ...paths]);
  if (r.code !== 0) throw new Error(`onnx checker script failed (exit ${r.code}): ${r.stderr.trim().split("\n").pop()}`);
  return JSON.parse(r.stdout) as OnnxCheckResult[];
}
