// `tscolab run NOTEBOOK` and `tscolab start` (npm start): the notebook
// runner with per-cell progress on the terminal.
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { helpText } from "../magics/help";
import { parseArgs } from "../magics/parse_args";
import { resolveDriveRoot, runsDir } from "../engine/store/drive_root";
import type { MagicSpec } from "../magics/types";
import { parseParams } from "../kernel/notebook";
import { runNotebook, type RunNotebookResult, type RunProgress } from "../kernel/notebook_runner";
import { PACKAGE_ROOT } from "../kernel/package_root";

const runArgs = z.object({
  notebook: z.string().describe("the .ipynb notebook to run"),
  out: z.string().optional().describe("executed notebook path (default: NAME.out.ipynb beside the input)"),
  param: z.array(z.string()).default([]).describe("NAME=VALUE for the cell tagged `parameters` (repeatable)"),
  timeout: z.number().positive().optional().describe("seconds each cell may run before it is interrupted"),
});

const runSpec: MagicSpec<typeof runArgs> = {
  name: "run",
  summary: "Run a notebook Colab-style: every code cell in order, stop at the first error, write the outputs.",
  args: runArgs,
  positionals: [{ name: "notebook" }],
  examples: ["tscolab run notebooks/quickstart.ipynb --param epochs=5 --timeout 600"],
  run: async () => undefined,
};

function printProgress(e: RunProgress): void {
  if (e.type === "start") process.stdout.write(`Running ${e.notebook} (${e.codeCells} code cells)\n`);
  if (e.type === "cell-start" && process.stdout.isTTY) process.stdout.write(`  [${e.ordinal}/${e.total}] cell ${e.index}: ${e.firstLine.slice(0, 60)} ...`);
  if (e.type === "cell-end") {
    const mark = e.status === "ok" ? "ok" : "FAILED";
    const line = `  [${e.ordinal}/${e.total}] cell ${e.index}: ${mark} (${(e.ms / 1000).toFixed(1)} s)${e.error ? ` ${e.error}` : ""}`;
    process.stdout.write(process.stdout.isTTY ? `\r\x1b[K${line}\n` : `${line}\n`);
  }
}

function summarize(r: RunNotebookResult): number {
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(`Executed notebook: ${r.out}\n`);
  if (r.status === "ok") {
    process.stdout.write(`All ${r.executedCells} code cells ran in ${(r.durationMs / 1000).toFixed(1)} s\n`);
    return 0;
  }
  const f = r.failedCell!;
  const died = r.kernelDied ? ` (kernel exit code ${r.kernelDied.code}, signal ${r.kernelDied.signal})` : "";
  process.stderr.write(`Cell ${f.index} failed: ${f.ename}: ${f.evalue}${died}; later cells were not run\n`);
  return 1;
}

/** The most recently modified entry of a folder (runs and exports are named by time, but may be renamed). */
function newestChild(dir: string, mustContain?: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const entries = fs
    .readdirSync(dir)
    .map((d) => path.join(dir, d))
    .filter((p) => fs.statSync(p).isDirectory() && (!mustContain || fs.existsSync(path.join(p, mustContain))));
  entries.sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
  return entries[entries.length - 1];
}

export async function runCommand(command: "run" | "start" | string, argv: string[]): Promise<number> {
  if (command === "start") {
    const notebook = path.join(PACKAGE_ROOT, "notebooks", "quickstart.ipynb");
    const result = await runNotebook(notebook, { onProgress: printProgress });
    const code = summarize(result);
    const driveRoot = resolveDriveRoot(undefined, path.dirname(notebook));
    const run = newestChild(runsDir(driveRoot), "run.json");
    process.stdout.write(`Drive root: ${driveRoot}\n`);
    process.stdout.write(`Run folder: ${run ?? `(none under ${runsDir(driveRoot)})`}\n`);
    if (run) process.stdout.write(`Exports: ${newestChild(path.join(run, "exports")) ?? "(none)"}\n`);
    return code;
  }
  const parsed = parseArgs(runSpec, argv, {});
  if (parsed.help) {
    process.stdout.write(helpText(runSpec, "tscolab ") + "\n");
    return 0;
  }
  const { notebook, out, param, timeout } = parsed.args;
  const result = await runNotebook(notebook, { out, params: parseParams(param), timeout, onProgress: printProgress });
  return summarize(result);
}
