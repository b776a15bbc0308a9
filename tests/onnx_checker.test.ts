// The reference implementation's verdict: every exported model passes
// onnx.checker.check_model(path, full_check=True) (Debian: python3-onnx) and
// reads back with opset ≥ 17, raw_data initializers, a symbolic batch
// dimension, the producer and the metadata we wrote. Skips loudly when no
// Python can `import onnx`, unless TSCOLAB_REQUIRE_JUPYTER=1 or CI is set.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkOnnxFiles, findOnnxPython, layersModelToOnnx, MAX_OPSET, MIN_OPSET, onnxCheckerMaxOpset, type OnnxCheckResult } from "../engine/export/onnx";
import { allCases, mlp } from "./onnx_models";

const required = process.env.TSCOLAB_REQUIRE_JUPYTER === "1" || !!process.env.CI;
const python = await findOnnxPython();
if (!python) {
  const msg = "python3 with the onnx package not found (apt-get install -y python3-onnx)";
  if (!required) console.warn(`\n*** SKIPPING onnx.checker tests: ${msg} ***\n`);
}

describe.skipIf(!python && !required)("onnx.checker full check", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-onnx-check-"));
  const written: { name: string; file: string; opset: number }[] = [];
  let results: OnnxCheckResult[] = [];
  let newerOpsets: number[] = [];

  beforeAll(async () => {
    if (!python) throw new Error("onnx.checker is required here (CI or TSCOLAB_REQUIRE_JUPYTER=1) but no python3 can import onnx: apt-get install -y python3-onnx");
    await tf.setBackend("cpu");
    for (const c of allCases()) {
      const file = path.join(dir, `${c.name}.onnx`);
      fs.writeFileSync(file, layersModelToOnnx(c.model, { producer: "tscolab-test", metadata: { labels: JSON.stringify(["a", "b"]), case: c.name } }));
      written.push({ name: c.name, file, opset: MIN_OPSET });
    }
    // Newer opsets too, as far as the installed onnx knows them (Debian 12's 1.12 stops at 17).
    newerOpsets = [];
    for (let opset = MIN_OPSET + 1; opset <= Math.min(MAX_OPSET, await onnxCheckerMaxOpset(python)); opset++) newerOpsets.push(opset);
    for (const opset of newerOpsets) {
      for (const c of allCases()) {
        const file = path.join(dir, `${c.name}.opset${opset}.onnx`);
        fs.writeFileSync(file, layersModelToOnnx(c.model, { opset }));
        written.push({ name: c.name, file, opset });
      }
    }
    results = await checkOnnxFiles(
      python,
      written.map((w) => w.file),
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(allCases().map((c) => c.name))("%s passes the full check and reads back what we wrote", (name) => {
    const r = results.find((x) => x.path.endsWith(`/${name}.onnx`));
    expect(r, `no checker result for ${name}`).toBeDefined();
    expect(r!.error).toBeUndefined();
    expect(r!.ok).toBe(true);
    const s = r!.summary!;
    expect(s.opset).toBeGreaterThanOrEqual(17);
    expect(s.irVersion).toBe(8);
    expect(s.producerName).toBe("tscolab-test");
    expect(s.producerVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(s.metadata.case).toBe(name);
    expect(JSON.parse(s.metadata.labels!)).toEqual(["a", "b"]);
    expect(s.metadata.tfjs_version).toBe(tf.version.tfjs);
    expect(s.initializers).toBeGreaterThan(0);
    expect(s.initializersWithRawData).toBe(s.initializers);
    for (const io of [...s.inputs, ...s.outputs]) expect(io.dims[0]).toBe("batch");
    expect(s.ops).not.toContain("Dropout");
  });

  it("passes at every newer opset the installed onnx knows", (ctx) => {
    if (newerOpsets.length === 0) {
      const note = `the installed onnx checks opset ${MIN_OPSET} only; opsets ${MIN_OPSET + 1}..${MAX_OPSET} were checked by onnxruntime alone`;
      console.warn(`[onnx] ${note}`);
      ctx.skip(note);
    }
    const newer = written.filter((x) => x.opset > MIN_OPSET);
    expect(newer).toHaveLength(newerOpsets.length * written.filter((x) => x.opset === MIN_OPSET).length);
    for (const w of newer) {
      const r = results.find((x) => x.path === w.file);
      expect(r?.error, `${w.name} at opset ${w.opset}`).toBeUndefined();
      expect(r?.summary?.opset).toBe(w.opset);
    }
  });

  it("leaves the checked file as it was (onnx's full check rewrites the path it is given)", async () => {
    const file = path.join(dir, "untouched.onnx");
    fs.writeFileSync(file, layersModelToOnnx(mlp().model)); // fresh: no inferred shapes in it yet
    const before = fs.readFileSync(file);
    const [r] = await checkOnnxFiles(python!, [file]);
    expect(r!.ok).toBe(true);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it("rejects a broken file (the check can fail)", async () => {
    const bad = path.join(dir, "broken.onnx");
    const good = fs.readFileSync(written[0]!.file);
    fs.writeFileSync(bad, good.subarray(0, Math.floor(good.length / 2)));
    const [r] = await checkOnnxFiles(python!, [bad]);
    expect(r!.ok).toBe(false);
    expect(r!.error).toBeTruthy();
  });
});
