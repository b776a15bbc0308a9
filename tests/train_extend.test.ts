// Extending a finished run: `--resume RUN --epochs N` with a larger N
// continues to N epochs. With a constant schedule the extended run is
// bit-identical to one trained to N epochs from the start (weights and every
// per-step weights digest); a cosine schedule restarts a cycle over the
// added epochs (recorded in run.json's scheduleCycles); shortening is refused.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { learningRateWithCycles } from "../engine/train/extend";
import { learningRateAt } from "../engine/train/schedule";
import { listValidCheckpoints, readCheckpoint, readDigests, readMetrics } from "../engine/store";
import { train } from "../engine/train/train";

const ROOT = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-extend-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const drive = path.join(tmp, "drive");

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "bin", "tscolab.js"), ...args], { cwd: tmp, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function finalWeights(runDir: string): Promise<{ step: number; bytes: Buffer }> {
  const { valid } = await listValidCheckpoints(runDir);
  const newest = await readCheckpoint(valid[0].dir);
  return { step: newest.step, bytes: Buffer.from(newest.files["weights.bin"]) };
}

const base = { data: { train: { builtin: "iris" as const } }, seed: 21, batchSize: 16, model: { zoo: "mlp" as const, hidden: [16], dropout: 0.1 } };

describe("extending a finished run", () => {
  test("constant schedule: 4 epochs then --epochs 7 (through the CLI) equals 7 epochs from the start, bit for bit", async () => {
    const short = await train({ ...base, epochs: 4 }, { drive });
    expect(short.status).toBe("completed");
    const r = await cli(["train", "--resume", short.runId, "--drive", drive, "--epochs", "7", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const extended = JSON.parse(r.stdout);
    expect(extended).toMatchObject({ status: "completed", epochs: 7, config: { epochs: 7 }, resumedFrom: expect.stringMatching(/^step-/) });
    expect(extended.notes.join("\n")).toMatch(/extending run .* from 4 to 7 epochs; the constant learning rate continues unchanged/);
    expect(extended.notes.join("\n")).not.toMatch(/ignored: epochs/);

    const long = await train({ ...base, epochs: 7 }, { drive });
    const [a, b] = [await finalWeights(short.runDir), await finalWeights(long.runDir)];
    expect(a.step).toBe(b.step);
    expect(a.bytes.equals(b.bytes)).toBe(true);
    // Every step of the way, not only the end.
    const [da, db] = [readDigests(short.runDir), readDigests(long.runDir)];
    expect(da.length).toBe(b.step);
    expect(da).toEqual(db);
    expect((await readMetrics(short.runDir)).rows.map((row) => row.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(JSON.parse(fs.readFileSync(path.join(short.runDir, "run.json"), "utf8"))).toMatchObject({ scheduleCycles: [4, 7], config: { epochs: 7 } });
  });

  test("cosine schedule: the added epochs restart a cycle (back to the base rate, down to the minimum at the new end)", async () => {
    const config = { ...base, epochs: 4, learningRate: 0.01, schedule: { type: "cosine" as const, warmupEpochs: 1 } };
    const run = await train(config, { drive });
    const extended = await train({ epochs: 6 } as never, { drive, resume: run.runId });
    expect(extended.notes.join("\n")).toMatch(/the cosine schedule restarts over epochs 5-6/);
    const rows = (await readMetrics(run.runDir)).rows;
    const lr = (epoch: number) => rows.find((row) => row.epoch === epoch)!.lr as number;
    expect(lr(4)).toBeLessThan(0.0005); // annealed at the first end
    expect(lr(5)).toBeGreaterThan(0.004); // restarted: half-way down a 2-epoch cycle
    expect(lr(6)).toBeLessThan(0.0005); // annealed again
    const spe = Math.ceil(run.dataset.trainExamples / 16);
    expect(learningRateWithCycles(4 * spe, 0.01, { type: "cosine", warmupEpochs: 1, minLearningRate: 0 }, spe, [4, 6])).toBe(0.01);
    // One cycle is exactly the plain schedule.
    for (let step = 0; step < 4 * spe; step++) {
      const s = { type: "cosine" as const, warmupEpochs: 1, minLearningRate: 0 };
      expect(learningRateWithCycles(step, 0.01, s, spe, [4])).toBe(learningRateAt(step, 0.01, s, spe, 4 * spe));
    }
  });

  test("fewer epochs than the run has is refused in one line", async () => {
    const run = await train({ ...base, epochs: 2, tier: "3" }, { drive });
    await expect(train({ epochs: 1 } as never, { drive, resume: run.runId })).rejects.toThrow(
      /--epochs 1 is below run .*'s 2 epochs \(2 done\); a resumed run can only be extended/,
    );
  });
});
