// Colab-style run-all (`tscolab run`): start the tscolab kernel as its own process
// in the notebook's folder, run every code cell in order over ZeroMQ, stop at
// the first error, and write the outputs into a valid nbformat 4.5 notebook —
// also when a cell fails, times out, or the kernel dies.
import path from "node:path";
import { z } from "zod";
import { KernelClient, type IopubMessage } from "./client";
import { injectParameters, readNotebook, toLines, writeNotebook, type Cell } from "./notebook";

export const runNotebookOptions = z.object({
  out: z.string().optional().describe("where to write the executed notebook (default: NAME.out.ipynb beside the input)"),
  params: z.record(z.string(), z.string()).default({}).describe("papermill-style parameters, NAME → raw value"),
  timeout: z.number().positive().optional().describe("seconds each cell may run before it is interrupted"),
});
export type RunNotebookOptions = z.input<typeof runNotebookOptions> & {
  /** Progress lines for a terminal. */
  onProgress?: (event: RunProgress) => void;
  env?: NodeJS.ProcessEnv;
};

export type RunProgress =
  | { type: "start"; notebook: string; codeCells: number }
  | { type: "cell-start"; index: number; ordinal: number; total: number; firstLine: string }
  | { type: "cell-end"; index: number; ordinal: number; total: number; status: "ok" | "error"; ms: number; error?: string };

export interface RunNotebookResult {
  status: "ok" | "error";
  notebook: string;
  out: string;
  executedCells: number;
  codeCells: number;
  durationMs: number;
  /** 1-based position in the notebook of the cell that failed. */
  failedCell?: { index: number; ename: string; evalue: string };
  kernelDied?: { code: number | null; signal: string | null };
  warnings: string[];
}

type Output = Record<string, unknown>;

/** Builds a cell's nbformat outputs from its iopub messages. */
class CellOutputs {
  readonly outputs: Output[] = [];
  private readonly byDisplayId = new Map<string, Output[]>();
  private clearOnNext = false;

  add(msg: IopubMessage): void {
    const c = msg.content;
    if (msg.msg_type === "clear_output") {
      if (c.wait) this.clearOnNext = true;
      else this.outputs.length = 0;
      return;
    }
    if (msg.msg_type === "update_display_data") {
      for (const o of this.byDisplayId.get(c.transient?.display_id) ?? []) Object.assign(o, { data: c.data, metadata: c.metadata ?? {} });
      return;
    }
    const output = this.toOutput(msg);
    if (!output) return;
    if (this.clearOnNext) {
      this.outputs.length = 0;
      this.clearOnNext = false;
    }
    const prev = this.outputs[this.outputs.length - 1];
    if (output.output_type === "stream" && prev?.output_type === "stream" && prev.name === output.name) {
      prev.text = String(prev.text) + String(output.text);
      return;
    }
    this.outputs.push(output);
    const displayId = c.transient?.display_id;
    if (displayId) this.byDisplayId.set(displayId, [...(this.byDisplayId.get(displayId) ?? []), output]);
  }

  private toOutput(msg: IopubMessage): Output | undefined {
    const c = msg.content;
    switch (msg.msg_type) {
      case "stream":
        return { output_type: "stream", name: c.name, text: c.text };
      case "display_data":
        return { output_type: "display_data", data: c.data, metadata: c.metadata ?? {} };
      case "execute_result":
        return { output_type: "execute_result", execution_count: c.execution_count, data: c.data, metadata: c.metadata ?? {} };
      case "error":
        return { output_type: "error", ename: c.ename, evalue: c.evalue, traceback: c.traceback };
      default:
        return undefined; // execute_input, status, comm messages
    }
  }

  /** Text is stored as lists of lines, as Jupyter writes notebooks. */
  finish(): Output[] {
    return this.outputs.map((o) => {
      if (o.output_type === "stream") return { ...o, text: toLines(String(o.text)) };
      if (o.data && typeof o.data === "object") {
        const data = Object.fromEntries(
          Object.entries(o.data as Record<string, unknown>).map(([mime, v]) => [mime, typeof v === "string" && !mime.includes("json") ? toLines(v) : v]),
        );
        return { ...o, data };
      }
      return o;
    });
  }
}

export function defaultOutPath(notebook: string): string {
  return notebook.replace(/(\.ipynb)?$/, (ext) => ".out" + (ext || ".ipynb"));
}

export async function runNotebook(notebookPath: string, options: RunNotebookOptions = {}): Promise<RunNotebookResult> {
  const opts = runNotebookOptions.parse(options);
  const notebook = path.resolve(notebookPath);
  const out = path.resolve(opts.out ?? defaultOutPath(notebook));
  const nb = readNotebook(notebook);
  const warnings: string[] = [];
  const warning = injectParameters(nb, opts.params);
  if (warning) warnings.push(warning);
  const codeCells = nb.cells.filter((c) => c.cell_type === "code");
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  progress({ type: "start", notebook, codeCells: codeCells.length });
  for (const cell of codeCells) {
    cell.outputs = [];
    cell.execution_count = null;
  }

  const kernel = await KernelClient.start({ cwd: path.dirname(notebook), env: options.env });
  const result: RunNotebookResult = { status: "ok", notebook, out, executedCells: 0, codeCells: codeCells.length, durationMs: 0, warnings };
  try {
    const info = await kernel.request("shell", "kernel_info_request", {});
    nb.metadata.kernelspec = { name: "tscolab", display_name: "TypeScript (tscolab)", language: "typescript" };
    nb.metadata.language_info = info.reply.content.language_info;
    let ordinal = 0;
    for (let i = 0; i < nb.cells.length; i++) {
      const cell = nb.cells[i];
      if (cell.cell_type !== "code") continue;
      ordinal++;
      const failure = await runCell(kernel, cell, i, ordinal, codeCells.length, opts.timeout, progress);
      result.executedCells++;
      if (failure) {
        result.status = "error";
        result.failedCell = { index: i + 1, ename: failure.ename, evalue: failure.evalue };
        if (failure.kernelDied) result.kernelDied = failure.kernelDied;
        break;
      }
    }
  } finally {
    result.durationMs = Date.now() - started;
    nb.metadata.tscolab = { executed_at: new Date(started).toISOString(), duration_ms: result.durationMs, status: result.status };
    writeNotebook(out, nb);
    await kernel.shutdown();
  }
  return result;
}

interface CellFailure {
  ename: string;
  evalue: string;
  kernelDied?: { code: number | null; signal: string | null };
}

async function runCell(
  kernel: KernelClient,
  cell: Cell,
  index: number,
  ordinal: number,
  total: number,
  timeoutSec: number | undefined,
  progress: (e: RunProgress) => void,
): Promise<CellFailure | undefined> {
  const t0 = Date.now();
  const firstLine = cell.source.split("\n").find((l) => l.trim() !== "") ?? "";
  progress({ type: "cell-start", index: index + 1, ordinal, total, firstLine });
  const collected = new CellOutputs();
  // Collect live (not only at the end) so a kernel that dies mid-cell still leaves its outputs.
  let parentId: string | undefined;
  const stop = kernel.addIopubListener((m) => {
    if (parentId && m.parent.msg_id === parentId) collected.add({ msg_type: m.header.msg_type, content: m.content });
  });
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    const request = kernel.execute(cell.source, {}, (id) => (parentId = id));
    if (timeoutSec) {
      timer = setTimeout(() => {
        timedOut = true;
        void kernel.interrupt("signal");
      }, timeoutSec * 1000);
    }
    const outcome = await Promise.race([request.then((r) => ({ kind: "reply" as const, r })), kernel.exit!.then((e) => ({ kind: "died" as const, e }))]);
    if (outcome.kind === "died") {
      const { code, signal } = outcome.e;
      const evalue = `the kernel died while running this cell (exit code ${code}, signal ${signal})`;
      collected.add({ msg_type: "error", content: { ename: "DeadKernelError", evalue, traceback: [`DeadKernelError: ${evalue}`] } });
      cell.outputs = collected.finish();
      progress({ type: "cell-end", index: index + 1, ordinal, total, status: "error", ms: Date.now() - t0, error: `DeadKernelError: ${evalue}` });
      return { ename: "DeadKernelError", evalue, kernelDied: { code, signal } };
    }
    const reply = outcome.r.reply.content;
    cell.execution_count = reply.execution_count ?? null;
    if (reply.status !== "ok") {
      const ename = timedOut ? "CellTimeoutError" : String(reply.ename ?? "Error");
      const evalue = timedOut ? `the cell ran longer than --timeout ${timeoutSec} s and was interrupted` : String(reply.evalue ?? reply.status);
      if (timedOut) collected.add({ msg_type: "error", content: { ename, evalue, traceback: [`${ename}: ${evalue}`] } });
      cell.outputs = collected.finish();
      progress({ type: "cell-end", index: index + 1, ordinal, total, status: "error", ms: Date.now() - t0, error: `${ename}: ${evalue}` });
      return { ename, evalue };
    }
    cell.outputs = collected.finish();
    progress({ type: "cell-end", index: index + 1, ordinal, total, status: "ok", ms: Date.now() - t0 });
    return undefined;
  } finally {
    if (timer) clearTimeout(timer);
    stop();
  }
}
