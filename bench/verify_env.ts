// Benchmark: cold `tscolab verify-env --json` wall time (target under 2 s).
//
// Each round starts fresh node processes, interleaved so machine noise hits
// every command alike: the full command, and the baselines it is built on
// (bare node, loading tfjs, starting the CLI). The medians and their ratios
// are printed side by side, plus the engine's own elapsedMs from the JSON,
// so it is clear which part of the wall time verify_env itself costs.
//
//   npx tsc -p . && node dist/bench/verify_env.js [--rounds N]
import { median } from "simple-statistics";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

const TARGET_MS = 2_000;
const root = path.resolve(__dirname, "..", "..");
const bin = path.join(root, "bin", "tscolab.js");

const report = z.object({ status: z.string(), elapsedMs: z.number(), backend: z.object({ selected: z.string().nullable() }) });

interface Command {
  label: string;
  args: string[];
}

const commands: Command[] = [
  { label: "node -e 0 (process start)", args: ["-e", "0"] },
  { label: "require @tensorflow/tfjs", args: ["-e", "require('@tensorflow/tfjs')"] },
  { label: "tscolab --version (CLI load)", args: [bin, "--version"] },
  { label: "tscolab verify-env --json", args: [bin, "verify-env", "--json"] },
];

const TIME = "/usr/bin/time";
const haveTime = existsSync(TIME);

/**
 * Wall time of one fresh process, plus its CPU time (user + sys, via
 * /usr/bin/time when present): on a shared machine the wall time swells with
 * other people's load, the CPU time much less, so both are shown.
 */
function timeOnce(c: Command): { ms: number; cpuMs: number | null; stdout: string; status: number | null } {
  const argv = haveTime ? [TIME, "-f", "@@cpu %U %S", process.execPath, ...c.args] : [process.execPath, ...c.args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd: root, encoding: "utf8", env: { ...process.env, TSCOLAB_BACKEND: "" } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /@@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr ?? "");
  return { ms, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : null, stdout: r.stdout, status: r.status };
}

function main(): number {
  const i = process.argv.indexOf("--rounds");
  const rounds = i > 0 ? Math.max(1, Number(process.argv[i + 1]) || 5) : 5;
  const times = new Map<string, number[]>(commands.map((c) => [c.label, []]));
  const cpu = new Map<string, number[]>(commands.map((c) => [c.label, []]));
  const engineMs: number[] = [];
  let selected = "";
  for (let r = 0; r < rounds; r++) {
    for (const c of commands) {
      const t = timeOnce(c);
      if (c.label.startsWith("tscolab verify-env")) {
        if (t.status !== 0 && t.status !== 1) throw new Error(`verify-env exited with ${t.status}`);
        const parsed = report.parse(JSON.parse(t.stdout));
        engineMs.push(parsed.elapsedMs);
        selected = parsed.backend.selected ?? "none";
      }
      times.get(c.label)!.push(t.ms);
      if (t.cpuMs !== null) cpu.get(c.label)!.push(t.cpuMs);
    }
  }
  const full = median(times.get("tscolab verify-env --json")!);
  const cliLoad = median(times.get("tscolab --version (CLI load)")!);
  console.log(
    `verify-env cold wall time, median of ${rounds} interleaved rounds (${process.version}, ${require("node:os").cpus().length} cores, load ${require("node:os").loadavg()[0].toFixed(1)})`,
  );
  for (const [label, xs] of times) {
    const m = median(xs);
    const c = cpu.get(label)!;
    const cpuText = c.length ? `   cpu ${median(c).toFixed(0).padStart(5)} ms` : "";
    console.log(`  ${label.padEnd(32)} ${m.toFixed(0).padStart(6)} ms   ${(m / full).toFixed(2)}× of verify-env${cpuText}   [${xs.map((x) => x.toFixed(0)).join(", ")}]`);
  }
  const engine = median(engineMs);
  console.log(
    `  ${"verifyEnv() itself (elapsedMs)".padEnd(32)} ${engine.toFixed(0).padStart(6)} ms   ${(engine / full).toFixed(2)}× of verify-env   (selected backend: ${selected})`,
  );
  console.log(`  verify-env minus CLI load: ${(full - cliLoad).toFixed(0)} ms; CLI load is ${((cliLoad / full) * 100).toFixed(0)}% of the wall time`);
  console.log(`${full < TARGET_MS ? "PASS" : "OVER"}: ${full.toFixed(0)} ms against the ${TARGET_MS} ms target (${(full / TARGET_MS).toFixed(2)}× of target)`);
  return 0;
}

process.exitCode = main();
