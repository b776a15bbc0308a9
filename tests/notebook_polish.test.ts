// The notebook as a person sees it, through the real kernel over ZeroMQ:
// typed `--as` results (completion, inspection, type errors), one training
// plot per cell, %verify_env's kernel patches in a fresh kernel, Shift-Tab
// on a magic, "did you mean" for every magic, Tab on flag values (enums from
// the schemas, data files, run ids), quoted positionals as literals.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient, type IopubMessage, type RequestResult } from "../kernel/client";
import "../magics";
import "../kernel/builtin_magics";
import { listMagics } from "../magics/registry";
import { fieldsOf } from "../magics/schema_info";
import { parseArgs } from "../magics/parse_args";
import { BUILTIN_DATASETS, taskName } from "../engine/data/schema";
import { MONITORS, OPTIMIZERS, SCHEDULES, TIERS } from "../engine/train/options";
import { formatName } from "../engine/export/formats";
import { kernelspecEnv, requirePython } from "./helpers/jupyter";
import { writeTestNotebook } from "./helpers/notebooks";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-polish-"));
const drive = path.join(dir, "drive"); // TSCOLAB_DRIVE=drive (tests/helpers/isolated_drive.ts), relative to the kernel's folder
let kernel: KernelClient;

const find = (r: RequestResult, type: string) => r.outputs.find((o) => o.msg_type === type);
const resultText = (r: RequestResult): string | undefined => find(r, "execute_result")?.content.data["text/plain"];
const complete = async (code: string) => (await kernel.request("shell", "complete_request", { code, cursor_pos: code.length })).reply.content;
const inspect = async (code: string) => (await kernel.request("shell", "inspect_request", { code, cursor_pos: code.length, detail_level: 0 })).reply.content;

/** What a notebook shows once a cell is done: every display at its last update, then the cell's result. */
function finalOutputs(outputs: IopubMessage[]): { kind: string; data: Record<string, string> }[] {
  const shown: { kind: string; id?: string; data: Record<string, string> }[] = [];
  for (const o of outputs) {
    const id = o.content.transient?.display_id as string | undefined;
    if (o.msg_type === "update_display_data") {
      for (const s of shown) if (id && s.id === id) s.data = o.content.data;
    } else if (o.msg_type === "display_data" || o.msg_type === "execute_result") {
      shown.push({ kind: o.msg_type, id, data: o.content.data });
    }
  }
  return shown;
}
const svgCount = (outs: { data: Record<string, string> }[]) => outs.reduce((n, o) => n + (String(o.data["text/html"] ?? "").match(/<svg/g) ?? []).length, 0);

beforeAll(async () => {
  fs.writeFileSync(path.join(dir, "train.csv"), "a,b,y\n1,2,0\n3,4,1\n");
  fs.writeFileSync(path.join(dir, "extra.jsonl"), '{"a":1,"y":0}\n');
  fs.writeFileSync(path.join(dir, "notes.txt"), "not data\n");
  fs.mkdirSync(path.join(dir, "data"));
  fs.writeFileSync(path.join(dir, "data", "valid.csv"), "a,b,y\n1,2,0\n");
  kernel = await KernelClient.start({ cwd: dir, env: { ...process.env, TSCOLAB_BACKEND: "wasm" } });
});
afterAll(async () => {
  await kernel?.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("a fresh kernel", () => {
  // First in this file: nothing has trained or imported tfjs in this kernel yet.
  it("%verify_env lists the kernel patches training will run with, before any %train", async () => {
    const r = await kernel.execute("%verify_env --as env");
    expect(r.reply.content.status).toBe("ok");
    const text = resultText(r)!;
    expect(text).toMatch(/backend\.patches\s+\d+ tscolab kernels patched in for wasm: BatchMatMul\(/);
    const patches = await kernel.execute("env.backend.patches.length");
    expect(Number(resultText(patches))).toBeGreaterThan(5);
    // The bound report has its real type: a field of it type-checks, a misspelt one does not.
    expect(resultText(await kernel.execute("env.profile.name.toUpperCase()"))).toBe("'CPU'");
    const typo = await kernel.execute("env.profile.nam");
    expect(typo.reply.content.ename).toBe("TypeScriptError");
    expect(typo.reply.content.evalue).toMatch(/Property 'nam' does not exist on type/);
  });
});

describe("--as binds the result with its type", () => {
  it("a train result: fields type-check, a misspelt field is a type error, Tab and Shift-Tab know it", async () => {
    const trained = await kernel.execute("%train --data iris --epochs 2 --tier 3 --seed 3 --as run");
    expect(trained.reply.content.status).toBe("ok");
    expect(resultText(await kernel.execute("run.metrics.val_loss.toFixed(2).length"))).toBe("4");
    expect(resultText(await kernel.execute("const st: 'completed' | 'stopped' | 'failed' = run.status;\nst"))).toBe("'completed'");
    const typo = await kernel.execute("run.metricz");
    expect(typo.reply.content).toMatchObject({ status: "error", ename: "TypeScriptError" });
    expect(typo.reply.content.evalue).toMatch(/^1:5 - Property 'metricz' does not exist on type 'TrainResult'/);
    const wrongType = await kernel.execute("const n: number = run.runId;");
    expect(wrongType.reply.content.evalue).toMatch(/Type 'string' is not assignable to type 'number'/);

    const c = await complete("run.");
    expect(c.matches).toEqual(expect.arrayContaining(["metrics", "runId", "runDir", "tiers", "history", "model"]));
    expect(c.cursor_start).toBe(4);
    expect((await inspect("run")).data["text/plain"]).toBe("let run: TrainResult");
  });

  it("the trained model is the notebook's own tf.LayersModel type (one tfjs declaration)", async () => {
    const r = await kernel.execute('import * as tf from "@tensorflow/tfjs";\nconst m: tf.LayersModel = run.model;\nm.outputs[0].shape[1]');
    expect(r.reply.content.status, r.reply.content.evalue).toBe("ok");
    expect(resultText(r)).toBe("3");
  });

  it("a notebook in any folder imports the tscolab package itself, types and all", async () => {
    const r = await kernel.execute('import { listMagics } from "tscolab";\nconst names: string[] = listMagics().map((m) => m.name);\nnames.includes("train")');
    expect(r.reply.content.status, r.reply.content.evalue).toBe("ok");
    expect(resultText(r)).toBe("true");
  });

  it("a %drive status result is typed too", async () => {
    expect(resultText(await kernel.execute("%drive status --as d\nd.runs.length >= 1"))).toBe("true");
    expect((await kernel.execute("d.rootz")).reply.content.evalue).toMatch(/Property 'rootz' does not exist on type 'DriveStatus'/);
  });

  it("an export result is typed too", async () => {
    const r = await kernel.execute("%export run --formats tfjs --as ex");
    expect(r.reply.content.status, r.reply.content.evalue).toBe("ok");
    expect(resultText(await kernel.execute("typeof ex.healthScore.toFixed(1)"))).toBe("'string'");
    expect((await kernel.execute("ex.healthscore")).reply.content.evalue).toMatch(/Property 'healthscore' does not exist on type/);
    // The report's checks fold away behind a marker that looks clickable.
    const html = String(find(r, "execute_result")!.content.data["text/html"]);
    expect(html).toMatch(/<details class="tscolab-checks"( open)?><summary><span class="tscolab-marker"[^>]*>▸<\/span> \d+ checks \([^)]*\d+ passed\)<\/summary>/);
  });
});

describe("one training plot per cell", () => {
  it("when training ends the live block keeps its lines but not its chart; the summary has the one plot", async () => {
    const r = await kernel.execute("%train --data iris --epochs 3 --tier 3");
    expect(r.reply.content.status).toBe("ok");
    // While it ran, the live block had the chart.
    expect(r.outputs.some((o) => o.msg_type === "update_display_data" && /<svg/.test(o.content.data["text/html"]))).toBe(true);
    const final = finalOutputs(r.outputs);
    expect(final.map((o) => o.kind)).toEqual(["display_data", "execute_result"]);
    expect(svgCount(final)).toBe(1);
    expect(final[1].data["text/html"]).toMatch(/<svg/);
    expect(final[0].data["text/plain"]).toMatch(/tier 3 passed/);
    expect(final[0].data["text/plain"]).not.toMatch(/ETA/);
    // A live block says when it was last updated (so a frozen one shows its age); the ended block does not.
    const live = r.outputs.filter((o) => o.msg_type === "update_display_data").map((o) => String(o.content.data["text/html"]));
    expect(live.some((h) => /ETA/.test(h) && /updated \d\d:\d\d:\d\d/.test(h))).toBe(true);
    expect(final[0].data["text/html"]).not.toMatch(/updated \d/);
  });
});

describe("Shift-Tab and mistyped flags on magics", () => {
  it("Shift-Tab on every magic shows what %name? shows", async () => {
    for (const m of listMagics()) {
      const paged = await kernel.execute(`%${m.name}?`);
      const help = paged.reply.content.payload[0].data["text/plain"];
      expect(help.split("\n")[0]).toMatch(new RegExp(`^%${m.name}\\b`));
      for (const code of [`%${m.name}`, `%${m.name} --js`]) {
        const info = await inspect(code);
        expect(info.found).toBe(true);
        expect(info.data["text/plain"]).toBe(help);
      }
    }
  });

  it("a mistyped flag of any magic names only its closest flag; one that resembles none points to --help", () => {
    for (const m of listMagics()) {
      for (const f of fieldsOf(m)) {
        for (const typo of [f.flag + f.flag.slice(-1), f.flag.slice(0, -1)]) {
          expect(() => parseArgs(m, [typo, "1"], {}), `%${m.name} ${typo}`).toThrow(`unknown flag ${typo} (did you mean ${f.flag}?)`);
        }
      }
      expect(() => parseArgs(m, ["--zzzzzzzz"], {})).toThrow(/^unknown flag --zzzzzzzz; --help lists the \d+ flags$/);
    }
  });

  it("over the kernel: one line, the closest flag only", async () => {
    const r = await kernel.execute("%export --format tfjs");
    expect(r.reply.content.evalue).toBe("unknown flag --format (did you mean --formats?)");
    const none = await kernel.execute("%verify_env --zzzzzz");
    expect(none.reply.content.evalue).toBe("unknown flag --zzzzzz; --help lists the 4 flags");
  });
});

describe("Tab on flag values", () => {
  it("enum flags offer their values, taken from the schemas", async () => {
    expect((await complete("%train --optimizer ")).matches).toEqual([...OPTIMIZERS]);
    expect((await complete("%train --schedule ")).matches).toEqual([...SCHEDULES]);
    expect((await complete("%train --monitor ")).matches).toEqual([...MONITORS]);
    expect((await complete("%train --tier ")).matches).toEqual([...TIERS]);
    expect((await complete("%train --task ")).matches).toEqual([...taskName.options]);
    const val = await complete("%train --monitor val_m");
    expect(val.matches).toEqual(["val_mse", "val_mae"]);
    expect(val.cursor_start).toBe("%train --monitor ".length);
    // A comma list completes its last item.
    const formats = await complete("%export --formats tfjs,tf");
    expect(formats.matches).toEqual(formatName.options.filter((f) => f.startsWith("tf")));
    expect(formats.cursor_start).toBe("%export --formats tfjs,".length);
    expect((await complete("%export --checkpoint ")).matches).toEqual(["best", "last"]);
    expect((await complete("%drive ")).matches).toEqual(["mount", "status", "sync"]);
  });

  it("--data offers the built-in data sets and .csv/.jsonl files (and folders) from the notebook's folder", async () => {
    const c = await complete("%train --data ");
    expect(c.matches).toEqual(expect.arrayContaining([...BUILTIN_DATASETS, "train.csv", "extra.jsonl", "data/"]));
    expect(c.matches).not.toContain("notes.txt");
    expect((await complete("%train --data data/")).matches).toEqual(["data/valid.csv"]);
    const inline = await complete("%train --epochs 3 --data=ir");
    expect(inline.matches).toEqual(["iris"]);
    expect(inline.cursor_start).toBe("%train --epochs 3 --data=".length);
    // After a boolean flag the next word is not its value.
    expect((await complete("%train --batch-norm --optim")).matches).toEqual(["--optimizer"]);
  });

  it("--resume and --run offer last and the run ids of the Drive, newest first", async () => {
    const ids = fs
      .readdirSync(path.join(drive, "tscolab", "runs"))
      .sort()
      .reverse();
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect((await complete("%train --resume ")).matches).toEqual(["last", ...ids]);
    expect((await complete(`%export --run ${ids[0].slice(0, -2)}`)).matches).toContain(ids[0]);
    // --drive on the line points at another root.
    const other = path.join(dir, "other-drive");
    fs.mkdirSync(path.join(other, "tscolab", "runs", "20200101-000000-x"), { recursive: true });
    fs.writeFileSync(path.join(other, "tscolab", "runs", "20200101-000000-x", "run.json"), "{}");
    expect((await complete(`%export --drive ${other} --run `)).matches).toEqual(["last", "20200101-000000-x"]);
  });
});

describe("quoted positionals", () => {
  it('%train "m5" is the text m5, %train m5 the variable m5 (as in IPython)', async () => {
    await kernel.execute("const m5 = 42;");
    const quoted = await kernel.execute('%train "m5" --data iris --tier 1');
    expect(quoted.reply.content.evalue).toMatch(/^<model>: "m5" is not a notebook variable, a zoo name/);
    const bare = await kernel.execute("%train m5 --data iris --tier 1");
    expect(bare.reply.content.evalue).toBe("<model>: expected a tf.LayersModel, got number");
    // A quoted zoo name is still a zoo name.
    const zoo = await kernel.execute("%train 'mlp' --data iris --tier 1");
    expect(zoo.reply.content.status).toBe("ok");
  });
});

const python = requirePython(["nbconvert", "nbformat", "jupyter_client"], "the rendered-notebook test");

describe.skipIf(!python)("rendered by Jupyter (nbconvert --execute)", () => {
  const { env, prefix } = python ? kernelspecEnv() : { env: {}, prefix: "" };
  afterAll(() => prefix && fs.rmSync(prefix, { recursive: true, force: true }));

  it("a %train cell shows one plot; the export report's checks have a disclosure marker", () => {
    const nb = writeTestNotebook(["%train --data iris --epochs 3 --tier 3 --as run", "%export run --formats tfjs"]);
    const res = spawnSync(
      python!,
      ["-m", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=tscolab", "--ExecutePreprocessor.timeout=180", "--output", "executed.ipynb", nb],
      { cwd: path.dirname(nb), env, encoding: "utf8", timeout: 300_000 },
    );
    expect(res.status, res.stderr).toBe(0);
    type Output = { output_type: string; data?: Record<string, string | string[]> };
    const cells: { outputs: Output[] }[] = JSON.parse(fs.readFileSync(path.join(path.dirname(nb), "executed.ipynb"), "utf8")).cells;
    const html = (o: Output) => [o.data?.["text/html"] ?? ""].flat().join("");
    const train = cells[0].outputs;
    expect(train.map((o) => o.output_type)).toEqual(["display_data", "execute_result"]);
    expect(train.map((o) => (html(o).match(/<svg/g) ?? []).length)).toEqual([0, 1]);
    const report = html(cells[1].outputs.find((o) => o.output_type === "execute_result")!);
    expect(report).toMatch(/<details class="tscolab-checks"( open)?><summary><span class="tscolab-marker"[^>]*>▸<\/span> \d+ checks/);
    fs.rmSync(path.dirname(nb), { recursive: true, force: true });
  });
});
