// Finds a Python that can `import torch` and drives bench/torch_train_speed.py
// as a long-lived child, one epoch per request, so rounds interleave with the
// tfjs ones and share the machine's noise fairly.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { z } from "zod";

const helloLine = z.object({ torch: z.string(), threads: z.number() });
const epochLine = z.object({ model: z.string(), samplesPerSec: z.number() });

export interface TorchProbe {
  python: string | null;
  /** Why no Python with torch was found (every candidate tried). */
  why?: string;
}

/** `$TSCOLAB_PYTHON` alone when set; else `python3`, then Debian's `/usr/bin/python3` (pyenv shims hide dist-packages). */
export function findTorchPython(): TorchProbe {
  const chosen = process.env.TSCOLAB_PYTHON;
  const candidates = chosen ? [chosen] : ["python3", "/usr/bin/python3"];
  const failures: string[] = [];
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ["-c", "import torch"], { encoding: "utf8", timeout: 60_000 });
    if (r.status === 0) return { python };
    const last = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n").pop();
    failures.push(`${python}: ${last}`);
  }
  return { python: null, why: failures.join("; ") };
}

export class TorchBench {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    readonly version: string,
    readonly threads: number,
  ) {}

  static async start(python: string): Promise<TorchBench> {
    // Beside this file when run from source, ../../bench when run from dist/bench.
    const script = [__dirname, path.join(__dirname, "..", "..", "bench")].map((d) => path.join(d, "torch_train_speed.py")).find((f) => existsSync(f));
    if (!script) throw new Error("bench/torch_train_speed.py is missing");
    // OpenBLAS gets every core explicitly: left unset, torch.set_num_threads(1)
    // also leaves its BLAS on one thread, and PyTorch would run below its best.
    const blasThreads = process.env.OPENBLAS_NUM_THREADS ?? String(os.availableParallelism());
    const child = spawn(python, [script], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, OPENBLAS_NUM_THREADS: blasThreads } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) throw new Error(`PyTorch bench exited before starting: ${stderr.trim().split("\n").pop()}`);
    const hello = helloLine.parse(JSON.parse(first.value));
    return new TorchBench(child, lines, hello.torch, hello.threads);
  }

  /** Samples/s of one epoch; `shape` is the transformer's VOCAB SEQ_LEN D_MODEL LAYERS HEADS (see torch_train_speed.py). */
  async epoch(model: string, samples: number, batchSize: number, threads = this.threads, shape: readonly number[] = []): Promise<number> {
    this.child.stdin.write(`${[model, samples, batchSize, threads, ...shape].join(" ")}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error("PyTorch bench exited mid-run");
    return epochLine.parse(JSON.parse(next.value)).samplesPerSec;
  }

  close(): void {
    this.child.stdin.end();
  }
}
