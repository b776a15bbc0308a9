// Jupyter's conformance suite (jupyter_kernel_test) against the real kernel,
// launched by jupyter_client from the kernelspec `tscolab install` writes.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kernelspecEnv, requirePython } from "./helpers/jupyter";

const python = requirePython(["jupyter_client", "jupyter_kernel_test"], "the conformance suite");

describe.skipIf(!python)("jupyter_kernel_test conformance", () => {
  const { env, prefix } = python ? kernelspecEnv() : { env: {}, prefix: "" };
  afterAll(() => prefix && fs.rmSync(prefix, { recursive: true, force: true }));

  it("passes every test with every sample field filled in", () => {
    const res = spawnSync(python!, ["-m", "unittest", "-v", "test_tscolab_conformance"], { cwd: path.join(__dirname, "jupyter"), env, encoding: "utf8", timeout: 180_000 });
    const out = `${res.stdout}\n${res.stderr}`;
    const ran = /Ran (\d+) tests?/.exec(out);
    console.log(`jupyter_kernel_test: ${ran?.[1] ?? "?"} tests, ${(out.match(/ \.\.\. ok/g) ?? []).length} ok, ${(out.match(/skipped/g) ?? []).length} skipped`);
    expect(res.status, out).toBe(0);
    expect(out).not.toMatch(/skipped/);
    expect(Number(ran?.[1])).toBeGreaterThanOrEqual(12);
  });
});
