// Engine-side polish a notebook user meets: several malformed rows reported
// at once, local model files scanned like git ones, a checks-only run that
// says what it checked, and a run on the default Drive that says where it went.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import { loadDataset } from "../engine/data";
import { TscolabError } from "../engine/errors";
import { createModel } from "../engine/models";
import { train } from "../engine/train/train";
import { summaryText } from "../magics/train/render";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-polish-engine-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};
const errorOf = async (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => new Error("resolved"),
    (e: Error) => e,
  );

describe("malformed rows", () => {
  it("several bad rows: the first five with their lines, and the count of all, in one line", async () => {
    const rows = ["a,b,y", "1,2,u", "3,oops,v", "1,2", "5,6,u", ",7,v", "8,x,u", "9,9,u", "1,1,z,z", "2,nan?,v", "4,4,u"];
    const file = write("many.csv", rows.join("\n") + "\n");
    const e = await errorOf(loadDataset({ train: file }, { cwd: dir, seed: 1 }));
    expect(e).toBeInstanceOf(TscolabError);
    expect(e.message).toBe(
      `6 malformed rows in ${file}; the first 5: line 3: column "b" is "oops", not a finite number; line 4: 2 fields where the header has 3; ` +
        `line 6: column "a" is missing or empty; line 7: column "b" is "x", not a finite number; line 9: 4 fields where the header has 3 (fix: fix or remove each of these rows)`,
    );
    expect(e.message).not.toContain("\n");
  });

  it("a few of one kind: all listed, with their fix; JSON Lines too", async () => {
    const file = write("two.jsonl", '{"a":1,"y":"u"}\n{"a":2,"y":\nnot json\n{"a":3,"y":"v"}\n');
    const e = await errorOf(loadDataset({ train: file }, { cwd: dir, seed: 1 }));
    expect(e.message).toMatch(/^2 malformed rows in .*two\.jsonl: line 2: not valid JSON .*; line 3: not valid JSON .* \(fix: each line must be one JSON object\)$/);
  });

  it("one bad row reads as before", async () => {
    const file = write("one.csv", "a,b,y\n1,2,u\n3,oops,v\n");
    const e = await errorOf(loadDataset({ train: file }, { cwd: dir, seed: 1 }));
    expect(e.message).toBe(`malformed row at ${file}:3: column "b" is "oops", not a finite number (fix: fix or remove the row; every feature must be numeric)`);
  });

  it("regression labels that are not numbers: every bad row counted", async () => {
    const file = write("reg.csv", "x,y\n1,0.5\n2,abc\n3,1.5\n4,def\n");
    const e = await errorOf(loadDataset({ train: file, label: "y" }, { cwd: dir, seed: 1, task: "regression" }));
    expect(e.message).toMatch(/^2 malformed rows in .*reg\.csv: line 3: label "y" is "abc", but a regression label must be a number; line 5: label "y" is "def"/);
  });
});

describe("local model files are scanned like models from git", () => {
  const source = (extra: string) =>
    `${extra}\nexport function createModel({ tf, inputShape, outputs }: any) {\n  const m = tf.sequential();\n  m.add(tf.layers.dense({ inputShape, units: outputs }));\n  return m;\n}\n`;
  const args = { inputShape: [3], outputs: 2, task: "classification" as const };

  it("a file that starts a child process is refused, naming file, line and pattern; --trust runs it with a note", async () => {
    write("helper.ts", 'import { execSync } from "node:child_process";\nexport const run = () => execSync("true");\n');
    const file = write("uses_helper.ts", source('import { run } from "./helper";'));
    const refused = await errorOf(createModel(tf, { file }, args, { seed: 1, cwd: dir }));
    expect(refused.message).toMatch(/^refusing to run model file .*uses_helper\.ts: helper\.ts:1: child process: .*pass --trust/);
    const notes: string[] = [];
    const model = await createModel(tf, { file, trust: true }, args, { seed: 1, cwd: dir, notes });
    expect(model.outputs[0].shape).toEqual([null, 2]);
    expect(notes).toEqual([expect.stringMatching(/^trusted model file .*uses_helper\.ts despite 1 scan finding\(s\): helper\.ts:1 child process/)]);
  });

  it("a clean file loads as before", async () => {
    const file = write("clean.ts", source(""));
    const notes: string[] = [];
    expect((await createModel(tf, { file }, args, { seed: 1, cwd: dir, notes })).countParams()).toBe(8);
    expect(notes).toEqual([]);
  });
});

describe("what a run says about itself", () => {
  it("--tier 1 says which checks passed and that no epochs were trained", async () => {
    const r = await train({ data: { train: { builtin: "iris" } }, tier: "1", drive: path.join(dir, "drive") }, { cwd: dir });
    const text = summaryText(r);
    expect(text.split("\n")[0]).toMatch(/^run \S+: checks passed \(tier 1\) in \S+; no epochs trained: tier 3, the full run, was not selected \(--tier 1\)$/);
    expect(text).not.toMatch(/after 0 epoch/);
    expect(text).toMatch(
      /tier 1: passed in \S+ — shapes ok at batch sizes [\d, ]+; finite, non-zero gradients for all \d+ weights; one batch overfits \(loss \S+ → \S+ in \d+ steps\)/,
    );
  });

  it("a run on the default Drive root says so, and where that is", async () => {
    const home = path.join(dir, "home");
    const saved = { HOME: process.env.HOME, TSCOLAB_DRIVE: process.env.TSCOLAB_DRIVE };
    process.env.HOME = home;
    delete process.env.TSCOLAB_DRIVE;
    try {
      const r = await train({ data: { train: { builtin: "iris" } }, tier: "1" }, { cwd: path.join(dir, "some-notebook-folder") });
      expect(r.runDir.startsWith(path.join(home, "tscolab-drive", "tscolab", "runs") + path.sep)).toBe(true);
      expect(summaryText(r)).toContain(`on the default Drive root ${path.join(home, "tscolab-drive")}, shared by all your notebooks and terminals`);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
