// The shipped notebooks, run Colab-style as a user would: `npm start`
// (tscolab start → quickstart) and `tscolab run` for the others.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const LAUNCHER = path.join(ROOT, "bin", "tscolab.js");

function tscolab(args: string[], drive: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd: ROOT, env: { ...process.env, TSCOLAB_DRIVE: drive } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const errorsIn = (file: string) =>
  JSON.parse(fs.readFileSync(file, "utf8")).cells.flatMap((c: { outputs?: { output_type: string }[] }) => (c.outputs ?? []).filter((o) => o.output_type === "error"));

describe("shipped notebooks, run-all", () => {
  it("npm start: quickstart runs and says where the notebook, run folder and exports went", async () => {
    const drive = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-drive-"));
    const t0 = Date.now();
    const res = await tscolab(["start"], drive);
    console.log(`tscolab start (quickstart): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const executed = /Executed notebook: (.+)/.exec(res.stdout)![1];
    expect(errorsIn(executed)).toEqual([]);
    const run = /Run folder: (.+)/.exec(res.stdout)![1];
    expect(run.startsWith(drive)).toBe(true);
    expect(fs.existsSync(path.join(run, "run.json"))).toBe(true);
    const exportsDir = /Exports: (.+)/.exec(res.stdout)![1];
    expect(fs.existsSync(path.join(exportsDir, "health_report.json"))).toBe(true);
  });

  for (const name of ["quality_predictor", "resume", "experiments", "pipeline"]) {
    it(`${name}.ipynb runs Colab-style without errors`, async () => {
      const drive = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-drive-"));
      const out = path.join(drive, `${name}.out.ipynb`);
      const res = await tscolab(["run", path.join("notebooks", `${name}.ipynb`), "--out", out], drive);
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(errorsIn(out)).toEqual([]);
    });
  }
});
