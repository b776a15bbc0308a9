// `tscolab verify-env` as a user runs it: a fresh node process, JSON on
// stdout, exit code 0 for ok or warn, 1 for fail, 2 for a usage error.
// Needs the compiled CLI (`npx tsc -p .`, which `npm test` runs first).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyEnvReport } from "../engine/env/report";
import { cleanScratch, envWithFakeSmi, fakePackage, scratchDir } from "./fixtures/verify_env/scratch";

const root = path.resolve(__dirname, "..");
const bin = path.join(root, "bin", "tscolab.js");

beforeAll(() => {
  if (!fs.existsSync(path.join(root, "dist", "cli", "main.js"))) throw new Error("dist/ is not built: run `npx tsc -p .` (npm test does it in pretest)");
});
afterAll(cleanScratch);

const cli = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
  const { TSCOLAB_BACKEND: _drop, ...env } = process.env;
  return spawnSync(process.execPath, [bin, ...args], { cwd: opts.cwd ?? root, env: opts.env ?? env, encoding: "utf8", timeout: 60_000 });
};

describe("tscolab verify-env", () => {
  it("--json prints exactly one report object on stdout and exits 0 here", () => {
    const r = cli(["verify-env", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const report = verifyEnvReport.parse(JSON.parse(r.stdout));
    expect(report.status).not.toBe("fail");
    expect(report.backend.selected).toBe("wasm");
    expect(report.profile.name).toBe("cpu");
    expect(r.stdout.trim().startsWith("{") && r.stdout.trim().endsWith("}")).toBe(true);
  });

  it("a second tfjs-core in the folder it runs from makes it exit 1 with status fail", () => {
    const notebook = scratchDir("cli-copies");
    fakePackage(notebook, "@tensorflow/tfjs-core", "4.10.0");
    const r = cli(["verify-env", "--json"], { cwd: notebook });
    expect(r.status).toBe(1);
    const report = verifyEnvReport.parse(JSON.parse(r.stdout));
    expect(report.status).toBe("fail");
    expect(report.checks.find((c) => c.id === "tfjs.core-copies")?.status).toBe("fail");
  });

  it("a hanging nvidia-smi is reported and the command still finishes with exit 0 (warn)", () => {
    const r = cli(["verify-env", "--json"], { env: envWithFakeSmi("hang") });
    expect(r.status, r.stderr).toBe(0);
    const report = verifyEnvReport.parse(JSON.parse(r.stdout));
    expect(report.status).toBe("warn");
    expect(report.gpu.nvidiaSmi.status).toBe("timeout");
  });

  it("without --json prints the summary line and one row per check, with fixes", () => {
    const r = cli(["verify-env", "--drive", scratchDir("cli-drive")], { env: envWithFakeSmi("t4") });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^verify_env: WARN · backend wasm/);
    expect(r.stdout).toMatch(/⚠ warn gpu\.usable/);
    expect(r.stdout).toMatch(/fix: to train on the GPU/);
    expect(r.stdout).toContain("cli-drive");
  });

  it("an unknown flag is a one-line UsageError with exit 2; --help lists --json and --drive", () => {
    const bad = cli(["verify-env", "--jsn"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/^UsageError: .*--jsn/);
    const help = cli(["verify-env", "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--json/);
    expect(help.stdout).toMatch(/--drive/);
  });

  it("verifyEnv() in a fresh process leaves tfjs on its own default (wasm), not on the last backend probed", () => {
    const script = `const tf = require("@tensorflow/tfjs");
      require("./dist/engine/env/verify_env.js").verifyEnv({ budgetMs: 5 }).then(() => console.log("ACTIVE=" + tf.engine().backendName));`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(r.stdout.trim()).toBe("ACTIVE=wasm");
  });
});
