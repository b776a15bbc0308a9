// Units of the magic machinery: word splitting, $name/{expr} expansion,
// flag parsing against a zod schema, help generation, cell splitting, history.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { History } from "../kernel/history";
import { splitCell } from "../kernel/cell";
import { expandLine, isRef } from "../magics/expand";
import { helpText, usageLine } from "../magics/help";
import { parseArgs } from "../magics/parse_args";
import { invokeMagic, registerMagic } from "../magics/registry";
import { splitWords } from "../magics/tokenize";
import { UsageError, type MagicContext, type MagicSpec } from "../magics/types";

const spec: MagicSpec = {
  name: "fit",
  summary: "A test magic.",
  args: z.object({
    model: z.any().optional().describe("the model"),
    epochs: z.number().int().positive().default(5).describe("epochs to train"),
    batchSize: z.number().int().positive().optional(),
    lr: z.number().positive().optional(),
    json: z.boolean().default(false),
    formats: z.array(z.enum(["tfjs", "onnx"])).default(["tfjs"]),
    hidden: z.array(z.number().int()).optional(),
    data: z.object({ train: z.string() }).optional(),
    name: z.string().optional(),
  }),
  positionals: [{ name: "model" }],
  async run(args) {
    return args;
  },
};

const ctx = (variables: Record<string, unknown> = {}): MagicContext => ({
  cwd: process.cwd(),
  signal: new AbortController().signal,
  variables,
  rich: false,
  display: () => ({ update: () => {} }),
  stdout: () => {},
  stderr: () => {},
});

describe("splitWords", () => {
  it("splits on blanks and honours quotes and escapes", () => {
    expect(splitWords(`--name "a b" --x='{"k": 1}' c\\ d ''`)).toEqual(["--name", "a b", '--x={"k": 1}', "c d", ""]);
  });
  it("keeps # inside words (git+URL#REV:FILE)", () => {
    expect(splitWords("--model git+file:///r#v1:model.ts")).toEqual(["--model", "git+file:///r#v1:model.ts"]);
  });
  it("rejects an unterminated quote", () => {
    expect(() => splitWords(`--name "open`)).toThrow(UsageError);
  });
});

describe("expandLine", () => {
  const evaluate = async (expr: string) => (expr === "2 * 3" ? 6 : expr === "obj" ? { a: 1 } : undefined);
  it("substitutes $name and {expr}, leaving single quotes and $$ alone", async () => {
    const refs = new Map();
    expect(await expandLine("--epochs $n --lr {2 * 3} '$n {x}' $$HOME {{lit}}", { n: 7 }, evaluate, refs)).toBe("--epochs 7 --lr 6 '$n {x}' $HOME {lit}");
  });
  it("passes objects through as references", async () => {
    const refs = new Map();
    const out = await expandLine("--data {obj}", {}, evaluate, refs);
    const token = out.split(" ")[1];
    expect(isRef(token)).toBe(true);
    expect(refs.get(token)).toEqual({ a: 1 });
  });
  it("names an undefined variable", async () => {
    await expect(expandLine("--epochs $epohcs", { epochs: 1 }, evaluate, new Map())).rejects.toThrow(/\$epohcs is not a notebook variable/);
  });
});

describe("parseArgs", () => {
  const parse = (line: string, vars: Record<string, unknown> = {}) => parseArgs(spec, splitWords(line), vars).args;
  it("reads --flag value, --flag=value, booleans, lists and JSON, with defaults", () => {
    expect(parse('--epochs 3 --batch-size=16 --json --formats tfjs,onnx --hidden 64,32 --data \'{"train":"a.csv"}\'')).toMatchObject({
      epochs: 3,
      batchSize: 16,
      json: true,
      formats: ["tfjs", "onnx"],
      hidden: [64, 32],
      data: { train: "a.csv" },
    });
    expect(parse("")).toEqual({ epochs: 5, json: false, formats: ["tfjs"] });
    expect(parse("--json --no-json").json).toBe(false);
    expect(parse("--formats tfjs --formats onnx").formats).toEqual(["tfjs", "onnx"]);
  });
  it("resolves a bare positional naming a notebook variable to its value", () => {
    const model = { layers: [] };
    expect(parse("model", { model }).model).toBe(model);
    expect(parse("path.json").model).toBe("path.json");
  });
  it("binds --as and recognises --help", () => {
    const p = parseArgs(spec, splitWords("--as result --help"), {});
    expect(p.bindAs).toBe("result");
    expect(p.help).toBe(true);
  });
  it("explains bad input in one line naming the flag", () => {
    expect(() => parse("--epochs abc")).toThrow('--epochs: expected number, got "abc"');
    expect(() => parse("--epochs -2")).toThrow(/^--epochs: expected a number > 0, got -2$/);
    expect(() => parse("--epochs 2.5")).toThrow(/^--epochs: expected a whole number, got 2.5$/);
    expect(() => parse("--formats tfjs,pdf")).toThrow('--formats (at 1): got "pdf"; allowed: tfjs, onnx');
    expect(() => parse("--epoch 3")).toThrow(/unknown flag --epoch \(did you mean --epochs\?\)/);
    expect(() => parse("a b")).toThrow(/unexpected argument "b"; %fit takes <model>/);
    expect(() => parse("--lr")).toThrow("--lr: expects a value");
    expect(() => parse("--data '{bad'")).toThrow(/--data: expected a JSON object/);
    expect(() => parse("--as 9x")).toThrow(/--as: expected a variable name/);
    // A reserved word cannot be declared: refuse it before the magic runs (a %train would otherwise run, then fail to bind).
    for (const word of ["class", "await", "let", "default", "arguments"])
      expect(() => parse(`--as ${word}`)).toThrow(`--as: "${word}" is a reserved word; pick another variable name`);
    expect(parseArgs(spec, splitWords("--as classes"), {}).bindAs).toBe("classes");
  });
});

describe("help", () => {
  it("is generated from the schema", () => {
    expect(usageLine(spec)).toBe(
      "%fit [<model>] [--epochs N] [--batch-size N] [--lr X] [--json] [--formats {tfjs,onnx}] [--hidden N[,...]] [--data JSON] [--name NAME] [--as NAME]",
    );
    const text = helpText(spec);
    expect(text).toContain("A test magic.");
    expect(text).toMatch(/--epochs N\s+epochs to train; default: 5/);
  });
});

describe("invokeMagic", () => {
  registerMagic(spec);
  it("expands, parses, runs and renders", async () => {
    const out = await invokeMagic("fit", "--epochs $e --as r", ctx({ e: 9 }));
    expect(out.result).toMatchObject({ epochs: 9 });
    expect(out.bindAs).toBe("r");
    expect(String(out.bundle?.["text/plain"])).toContain('"epochs": 9');
  });
  it("returns help for %name? and --help without running", async () => {
    expect((await invokeMagic("fit?", "", ctx())).help).toMatchObject({ pager: true });
    expect((await invokeMagic("fit", "--help", ctx())).help).toMatchObject({ pager: false });
  });
  it("names the magics when one is unknown", async () => {
    await expect(invokeMagic("fitt", "", ctx())).rejects.toThrow(/unknown magic %fitt; available: .*%fit/);
  });
});

describe("splitCell", () => {
  it("splits TypeScript and line magics, keeping line numbers", () => {
    expect(splitCell("let a = 1;\n%fit --epochs 2\na + 1")).toEqual([
      { kind: "ts", code: "let a = 1;", line: 0 },
      { kind: "magic", name: "fit", args: "--epochs 2", line: 1 },
      { kind: "ts", code: "a + 1", line: 2 },
    ]);
  });
  it("joins backslash-continued magic lines", () => {
    expect(splitCell("%fit --epochs 2 \\\n  --json")).toEqual([{ kind: "magic", name: "fit", args: "--epochs 2 --json", line: 0 }]);
  });
  it("treats a leading %%name as a cell magic with a body", () => {
    expect(splitCell('\n%%fit --json\n{"a": 1}')).toEqual([{ kind: "magic", name: "fit", args: "--json", line: 1, body: '{"a": 1}' }]);
  });
  it("refuses %%name below the first line", () => {
    expect(() => splitCell("1\n%%fit")).toThrow(/must be on the first line/);
  });
  it("does not take modulo or strings for magics", () => {
    expect(splitCell("const r = 7\n  % 3;")).toEqual([{ kind: "ts", code: "const r = 7\n  % 3;", line: 0 }]);
  });
});

describe("History", () => {
  const h = new History();
  ["a = 1", "b = 2", "a = 1", "print(a)"].forEach((code, i) => h.add(i + 1, code));
  h.setOutput(4, "1");
  it("answers tail, range and search", () => {
    expect(h.query({ hist_access_type: "tail", n: 2, output: false, raw: true, unique: false })).toEqual([
      [1, 3, "a = 1"],
      [1, 4, "print(a)"],
    ]);
    expect(h.query({ hist_access_type: "tail", n: 1, output: true, raw: true, unique: false })).toEqual([[1, 4, ["print(a)", "1"]]]);
    expect(h.query({ hist_access_type: "range", session: 0, start: 2, stop: 4, output: false, raw: true, unique: false }).map((x) => x[1])).toEqual([2, 3]);
    expect(h.query({ hist_access_type: "search", pattern: "a*", output: false, raw: true, unique: false })).toHaveLength(2);
    expect(h.query({ hist_access_type: "search", pattern: "a*", output: false, raw: true, unique: true })).toEqual([[1, 3, "a = 1"]]);
  });
});
