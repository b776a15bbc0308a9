// Routes what cells print (console.log, process.stdout.write) to iopub
// `stream` messages of the request that is running. Small writes are merged
// and flushed every 50 ms, and always before any other iopub message so the
// order a user sees is the order things happened.
import type { Message } from "./wire";

type Emit = (parent: Message, name: "stdout" | "stderr", text: string) => void;

export class StreamCapture {
  private target?: Message;
  /** Pending output as runs of one stream, in the order written. */
  private runs: { name: "stdout" | "stderr"; text: string }[] = [];
  private timer?: NodeJS.Timeout;
  private readonly originalStderr = process.stderr.write.bind(process.stderr);

  constructor(private readonly emit: Emit) {}

  install(): void {
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((e?: Error) => void), cb?: (e?: Error) => void) => {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(typeof encoding === "string" ? encoding : "utf8");
        this.push(name, text);
        const done = typeof encoding === "function" ? encoding : cb;
        done?.();
        return true;
      }) as typeof stream.write;
    }
  }

  /** Output printed from now on belongs to this request (undefined: dropped, for silent runs). */
  setTarget(parent: Message | undefined): void {
    this.flush();
    this.target = parent;
  }

  writeOriginalStderr(text: string): void {
    this.originalStderr(text);
  }

  private push(name: "stdout" | "stderr", text: string): void {
    if (!this.target) return;
    const last = this.runs[this.runs.length - 1];
    if (last?.name === name) last.text += text;
    else this.runs.push({ name, text });
    this.timer ??= setTimeout(() => this.flush(), 50);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.target) return;
    // One message per run keeps stdout/stderr interleaved as they were written.
    for (const run of this.runs) this.emit(this.target, run.name, run.text);
    this.runs = [];
  }
}
