// A notebook mixing TypeScript and magics, executed by Jupyter's own
// `jupyter nbconvert --execute` through the installed kernelspec.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kernelspecEnv, requirePython } from "./helpers/jupyter";

const python = requirePython(["nbconvert", "nbformat", "jupyter_client"], "the nbconvert test");

type Output = { output_type: string; text?: string | string[]; data?: Record<string, unknown>; ename?: string; evalue?: string };
const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : (v ?? ""));

describe.skipIf(!python)("jupyter nbconvert --execute", () => {
  const { env, prefix } = python ? kernelspecEnv() : { env: {}, prefix: "" };
  afterAll(() => prefix && fs.rmSync(prefix, { recursive: true, force: true }));

  it("runs TypeScript and magics top to bottom with shared state", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-nb-"));
    const input = path.join(dir, "mixed.ipynb");
    fs.copyFileSync(path.join(__dirname, "fixtures", "mixed.ipynb"), input);
    const res = spawnSync(
      python!,
      ["-m", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=tscolab", "--ExecutePreprocessor.timeout=120", "--output", "executed.ipynb", input],
      { cwd: dir, env, encoding: "utf8", timeout: 240_000 },
    );
    expect(res.status, res.stderr).toBe(0);
    const nb = JSON.parse(fs.readFileSync(path.join(dir, "executed.ipynb"), "utf8"));
    const outputs: Output[][] = nb.cells.map((c: { outputs: Output[] }) => c.outputs);
    const result = (o: Output[]) => text(o.find((x) => x.output_type === "execute_result")?.data?.["text/plain"] as string);

    expect(result(outputs[0])).toBe("'hello notebook'");
    expect(text(outputs[1].find((x) => x.output_type === "execute_result")?.data?.["text/html"] as string[])).toMatch(/%train/);
    expect(text(outputs[2].find((x) => x.output_type === "stream")?.text)).toContain("epochs is 3");
    expect(result(outputs[2])).toBe("6");
    const usage = outputs[3].find((x) => x.output_type === "error")!;
    expect(usage.ename).toBe("UsageError");
    expect(usage.evalue).toMatch(/^--epochs: /);
    expect(result(outputs[4])).toBe("4");
    expect(outputs[5].some((x) => x.output_type === "display_data" && text(x.data?.["text/html"] as string) === "<b>rich</b>")).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
