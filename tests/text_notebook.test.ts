// notebooks/text_lm.ipynb run Colab-style, as a user would: train a small
// char-level LM on the built-in corpus, sample at two temperatures, export to
// ONNX and generate the same text from the export.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");

function tscolab(args: string[], drive: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "tscolab.js"), ...args], { cwd: ROOT, env: { ...process.env, TSCOLAB_DRIVE: drive } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

type Output = { output_type: string; data?: Record<string, unknown> };
const plain = (o: Output) => {
  const t = o.data?.["text/plain"];
  return Array.isArray(t) ? t.join("") : String(t ?? "");
};

describe("notebooks/text_lm.ipynb", () => {
  it("trains, samples, exports to ONNX and generates the same text from it", async () => {
    const drive = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-textnb-"));
    const out = path.join(drive, "text_lm.out.ipynb");
    const t0 = Date.now();
    const res = await tscolab(["run", path.join("notebooks", "text_lm.ipynb"), "--out", out], drive);
    console.log(`text_lm.ipynb: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const cells: { source: string[]; outputs?: Output[] }[] = JSON.parse(fs.readFileSync(out, "utf8")).cells;
    const outputs = cells.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    const results = outputs.filter((o) => o.output_type === "execute_result").map(plain);
    const samples = results.filter((t) => t.startsWith("And God said"));
    expect(samples).toHaveLength(3);
    expect(samples[0]).toMatch(/temperature 0\.5, seed 1 · run /);
    expect(samples[1]).toMatch(/temperature 1\.1, seed 1 · run /);
    expect(samples[2]).toMatch(/temperature 0\.5, seed 1 · onnx export /);
    expect(results.at(-1)).toMatch(/sameText: true/);
  });
});
