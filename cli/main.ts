// `tscolab <command>`: the CLI face. Magic-backed commands (verify-env, train,
// export, drive) parse argv with the magic's own schema and run the same
// engine; only the rendering differs (text on a terminal, JSON with --json).
import { z } from "zod";
import { getMagic, invokeMagic, listMagics } from "../magics";
import { helpText } from "../magics/help";
import { parseArgs } from "../magics/parse_args";
import { UsageError, type MagicContext, type MagicSpec, type MimeBundle } from "../magics/types";
import { installArgs, installKernel } from "../kernel/install";
import { PACKAGE_VERSION } from "../kernel/package_root";
import { TerminalDisplay } from "./terminal_display";

const kernelArgs = z.object({
  connectionFile: z.string().describe("the connection file Jupyter passes ({connection_file})"),
});

type CliSpec = Pick<MagicSpec<any, any>, "name" | "summary" | "args" | "positionals" | "examples">;

const kernelCommand: CliSpec = { name: "kernel", summary: "Start the Jupyter kernel (Jupyter runs this from kernel.json).", args: kernelArgs };
const installCommand: CliSpec = { name: "install", summary: "Install the tscolab kernelspec for Jupyter (no Python needed).", args: installArgs };

/** CLI command name → magic name (`verify-env` → `verify_env`). */
const magicFor = (command: string) => getMagic(command.replace(/-/g, "_"));

function usage(): string {
  const magicCommands = listMagics()
    .filter((m) => m.name !== "lsmagic")
    .map((m) => `  ${m.name.replace(/_/g, "-").padEnd(12)}${m.summary}`);
  return [
    `tscolab ${PACKAGE_VERSION}: train TensorFlow.js models in notebooks, Colab-style.`,
    "",
    "Usage: tscolab <command> [options]   (tscolab <command> --help for its options)",
    "",
    `  ${"kernel".padEnd(12)}${kernelCommand.summary}`,
    `  ${"install".padEnd(12)}${installCommand.summary}`,
    ...magicCommands,
    `  ${"run".padEnd(12)}Run a notebook Colab-style (every cell in order, stop at the first error).`,
    `  ${"start".padEnd(12)}Run notebooks/quickstart.ipynb and say where its outputs went.`,
  ].join("\n");
}

function cliContext(jsonOutput: boolean, signal: AbortSignal): MagicContext {
  // With --json, stdout carries exactly one JSON document; progress goes to stderr.
  const progress = jsonOutput ? process.stderr : process.stdout;
  const terminal = new TerminalDisplay(progress);
  return {
    cwd: process.cwd(),
    signal,
    variables: {},
    rich: false,
    stdout: (t) => progress.write(t),
    stderr: (t) => process.stderr.write(t),
    display: (bundle: MimeBundle) => terminal.show(bundle),
  };
}

async function runMagicCommand(spec: MagicSpec<any, any>, argv: string[]): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  process.on("SIGINT", () => {
    // First Ctrl-C: stop cleanly after the current step; second: leave now.
    if (++interrupts > 1) process.exit(130);
    process.stderr.write("\nInterrupted: finishing the current step (Ctrl-C again to quit now)\n");
    controller.abort();
  });
  const jsonOutput = argv.includes("--json");
  const outcome = await invokeMagic(spec.name, "", cliContext(jsonOutput, controller.signal), { words: argv }).finally(settleMirrors);
  if (outcome.help) {
    process.stdout.write(outcome.help.text + "\n");
    return 0;
  }
  if (outcome.result === undefined) return 0;
  if (jsonOutput) process.stdout.write(JSON.stringify(outcome.result, null, 2) + "\n");
  else if (outcome.bundle) process.stdout.write(String(outcome.bundle["text/plain"]) + "\n");
  return spec.exitCode ? spec.exitCode(outcome.result) : 0;
}

/**
 * Before the process exits: local-first runs' mirrors get a last short wait
 * (a run already waited for its own), and whatever is still only local is
 * said on stderr; then they stop.
 */
async function settleMirrors(): Promise<void> {
  const { activeMirrors, describeMirror, flushAllMirrors } = await import("../engine/store/mirror");
  if (!activeMirrors().length) return;
  for (const state of await flushAllMirrors(2000)) if (state.onlyLocal.length) process.stderr.write(`tscolab: run ${state.runId}: ${describeMirror(state)}\n`);
}

function parseCli<S extends z.ZodObject>(spec: CliSpec & { args: S }, argv: string[]): z.infer<S> | undefined {
  const parsed = parseArgs({ ...spec, run: async () => undefined }, argv, {});
  if (parsed.help) {
    process.stdout.write(helpText({ ...spec, run: async () => undefined }, "tscolab ") + "\n");
    return undefined;
  }
  return parsed.args;
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(usage() + "\n");
    return command ? 0 : 2;
  }
  if (command === "--version" || command === "-V") {
    process.stdout.write(`tscolab ${PACKAGE_VERSION}\n`);
    return 0;
  }
  try {
    switch (command) {
      case "kernel": {
        // ipykernel's `-f FILE` spelling is accepted too.
        const words = rest.map((w) => (w === "-f" ? "--connection-file" : w));
        const args = parseCli(kernelCommand as CliSpec & { args: typeof kernelArgs }, words);
        if (!args) return 0;
        const { startKernel } = await import("../kernel/server");
        await startKernel(args.connectionFile);
        return -1; // keep running
      }
      case "install": {
        const args = parseCli(installCommand as CliSpec & { args: typeof installArgs }, rest);
        if (!args) return 0;
        const { dir } = installKernel(args);
        process.stdout.write(`Installed kernelspec ${args.name} in ${dir}\n`);
        return 0;
      }
      case "run":
      case "start": {
        const { runCommand } = await import("./run_command");
        return await runCommand(command, rest);
      }
      default: {
        const spec = magicFor(command);
        if (!spec) {
          process.stderr.write(`tscolab: unknown command ${JSON.stringify(command)}\n\n${usage()}\n`);
          return 2;
        }
        return await runMagicCommand(spec, rest);
      }
    }
  } catch (e) {
    // Loaded only on error: ./execute pulls in tslab's compiler (~0.6 s of CPU),
    // which commands such as verify-env never need otherwise.
    const { magicErrorInfo } = await import("../kernel/execute");
    const info = magicErrorInfo(e);
    if (info.traceback.length > 1 && process.env.TSCOLAB_DEBUG) process.stderr.write(info.traceback.join("\n") + "\n");
    process.stderr.write(`${info.ename}: ${info.evalue}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
