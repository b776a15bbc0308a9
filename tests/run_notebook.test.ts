// `tscolab run`: real kernel process, real ZeroMQ, real files.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runNotebook } from "../kernel/notebook_runner";
import { requirePython } from "./helpers/jupyter";
import { writeTestNotebook } from "./helpers/notebooks";

const LAUNCHER = path.resolve(__dirname, "..", "bin", "tscolab.js");
const python = requirePython(["nbformat", "nbconvert"], "validating run's output notebooks");

type Out = { output_type: string; text?: string[]; data?: Record<string, string[]>; ename?: string; evalue?: string };
const read = (f: string) => JSON.parse(fs.readFileSync(f, "utf8"));
const joined = (v?: string[]) => (v ?? []).join("");

describe("tscolab run", () => {
  let failedRunOut: string | undefined; // the .out.ipynb the first test writes, validated by the second

  it("stops at the first error like Colab's run-all, names the cell and still writes the notebook", () => {
    const nb = writeTestNotebook([
      "let a = 1;\nconsole.log('one')",
      { source: "# Markdown between", markdown: true },
      "a + 1",
      "throw new Error('third cell broke')",
      "console.log('never')",
    ]);
    const res = spawnSync(process.execPath, [LAUNCHER, "run", nb], { encoding: "utf8", timeout: 120_000 });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("Cell 4 failed: Error: third cell broke");
    const out = read(nb.replace(/\.ipynb$/, ".out.ipynb"));
    expect(out.nbformat).toBe(4);
    expect(out.nbformat_minor).toBeGreaterThanOrEqual(5);
    const code = out.cells.filter((c: { cell_type: string }) => c.cell_type === "code");
    expect(code.map((c: { execution_count: number | null }) => c.execution_count)).toEqual([1, 2, 3, null]);
    expect(joined(code[0].outputs[0].text)).toBe("one\n");
    expect(joined(code[1].outputs[0].data["text/plain"])).toBe("2");
    expect(code[2].outputs.find((o: Out) => o.output_type === "error")).toMatchObject({ ename: "Error", evalue: "third cell broke" });
    expect(code[3].outputs).toEqual([]);
    expect(out.cells.every((c: { id?: string }) => typeof c.id === "string")).toBe(true);
    failedRunOut = nb.replace(/\.ipynb$/, ".out.ipynb");
  });

  it.skipIf(!python)("that output notebook passes nbformat's validation and nbconvert renders it with the error", () => {
    expect(failedRunOut, "written by the test before").toBeDefined();
    const v = spawnSync(python!, ["-c", `import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print("valid")`, failedRunOut!], { encoding: "utf8" });
    expect(v.stdout.trim(), v.stderr).toBe("valid");
    const html = spawnSync(python!, ["-m", "nbconvert", "--to", "html", "--stdout", failedRunOut!], { encoding: "utf8" });
    expect(html.status, html.stderr).toBe(0);
    expect(html.stdout).toContain("third cell broke");
  });

  it("injects --param values after the parameters cell, and they reach a magic through $name", async () => {
    const nb = writeTestNotebook([
      { source: "let epochs = 1;\nlet name = 'default';", tags: ["parameters"] },
      "%lsmagic --as listing\n`${name}:${epochs * 10}:${listing.length > 0}`",
      "%train --epochs $epochs --tier $name",
    ]);
    const result = await runNotebook(nb, { params: { epochs: "7", name: "tuned" } });
    expect(result.status).toBe("error");
    const out = read(result.out);
    expect(out.cells[1].metadata.tags).toEqual(["injected-parameters"]);
    expect(out.cells[1].source.join("")).toContain("epochs = 7;");
    const value = out.cells[2].outputs.find((o: Out) => o.output_type === "execute_result");
    expect(joined(value.data["text/plain"])).toBe("'tuned:70:true'");
    // $name expanded to the injected "tuned", which --tier then rejects by name: the parameter reached the magic line.
    expect(result.failedCell).toMatchObject({ index: 4, ename: "UsageError" });
    expect(result.failedCell!.evalue).toMatch(/^--tier: got "tuned"; allowed: /);
  });

  it("reports a kernel that dies mid-run with its signal, and writes the partial notebook", async () => {
    const nb = writeTestNotebook(["console.log('alive')", "process.kill(process.pid, 'SIGKILL')", "'unreached'"]);
    const result = await runNotebook(nb);
    expect(result.status).toBe("error");
    expect(result.kernelDied).toEqual({ code: null, signal: "SIGKILL" });
    expect(result.failedCell?.index).toBe(2);
    const out = read(result.out);
    expect(joined(out.cells[0].outputs[0].text)).toBe("alive\n");
    expect(out.cells[1].outputs[0]).toMatchObject({ output_type: "error", ename: "DeadKernelError" });
  });

  it("interrupts a cell that exceeds --timeout", async () => {
    const nb = writeTestNotebook(["await new Promise((r) => setTimeout(r, 60000))", "'after'"]);
    const t0 = Date.now();
    const result = await runNotebook(nb, { timeout: 2 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(result.failedCell).toMatchObject({ index: 1, ename: "CellTimeoutError" });
  });

  it("gives one clear line for a missing notebook or a bad --param", () => {
    const missing = spawnSync(process.execPath, [LAUNCHER, "run", "/nonexistent/x.ipynb"], { encoding: "utf8" });
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe("TscolabError: notebook not found: /nonexistent/x.ipynb (fix: check the path)");
    const nb = writeTestNotebook(["1"]);
    const bad = spawnSync(process.execPath, [LAUNCHER, "run", nb, "--param", "epochs"], { encoding: "utf8" });
    expect(bad.stderr.trim()).toMatch(/--param "epochs" is not NAME=VALUE/);
  });
});
