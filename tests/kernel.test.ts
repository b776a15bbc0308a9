// The kernel as a real process, driven over ZeroMQ by our Jupyter client.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient, type RequestResult } from "../kernel/client";

const ownVersion = require("../package.json").version as string;
const tsVersion = require("@tslab/typescript-for-tslab/package.json").version as string;

let kernel: KernelClient;
let startMs = 0;

const find = (r: RequestResult, type: string) => r.outputs.find((o) => o.msg_type === type);
const resultText = (r: RequestResult) => find(r, "execute_result")?.content.data["text/plain"];

beforeAll(async () => {
  const t0 = performance.now();
  kernel = await KernelClient.start();
  startMs = performance.now() - t0;
});
afterAll(async () => kernel?.shutdown());

describe("tscolab kernel over ZeroMQ", () => {
  it("answers kernel_info with status ok and real versions", async () => {
    const { reply } = await kernel.request("shell", "kernel_info_request", {});
    expect(reply.header.msg_type).toBe("kernel_info_reply");
    expect(reply.content.status).toBe("ok");
    expect(reply.content.protocol_version).toBe("5.3");
    expect(reply.content.implementation).toBe("tscolab");
    expect(reply.content.implementation_version).toBe(ownVersion);
    expect(reply.content.language_info).toMatchObject({ name: "typescript", version: tsVersion, file_extension: ".ts" });
    console.log(`kernel start (spawn to first kernel_info over iopub): ${startMs.toFixed(0)} ms`);
  });

  it("publishes execute_input and the last expression as execute_result", async () => {
    const r = await kernel.execute("const base: number = 40;\nbase + 2");
    expect(r.reply.content.status).toBe("ok");
    expect(find(r, "execute_input")?.content.code).toContain("base + 2");
    expect(resultText(r)).toBe("42");
    expect(r.outputs.some((o) => o.msg_type === "stream")).toBe(false);
  });

  it("round-trips 1+1 quickly", async () => {
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      const r = await kernel.execute("1+1");
      times.push(performance.now() - t0);
      expect(resultText(r)).toBe("2");
    }
    times.sort((a, b) => a - b);
    console.log(`1+1 round trip: median ${times[7].toFixed(1)} ms, min ${times[0].toFixed(1)} ms`);
  });

  it("reports runtime errors with ename, evalue and traceback on iopub and in the reply", async () => {
    const r = await kernel.execute('function fail() { throw new RangeError("too far") }\nfail()');
    expect(r.reply.content).toMatchObject({ status: "error", ename: "RangeError", evalue: "too far" });
    const err = find(r, "error")!;
    expect(err.content.ename).toBe("RangeError");
    expect(err.content.traceback[0]).toBe("RangeError: too far");
  });

  it("reports type errors with the cell's line number", async () => {
    const r = await kernel.execute("let ok = 1;\nconst s: string = 5;");
    expect(r.reply.content.ename).toBe("TypeScriptError");
    expect(r.reply.content.evalue).toMatch(/^2:7 - Type 'number' is not assignable to type 'string'/);
  });

  it("gives a one-line UsageError naming the flag, and keeps the notebook's state", async () => {
    await kernel.execute("let kept = 'still here';");
    const bad = await kernel.execute("%train --batch-size many");
    expect(bad.reply.content).toMatchObject({ status: "error", ename: "UsageError" });
    expect(bad.reply.content.evalue).toBe('--batch-size: expected number, got "many"');
    expect(bad.reply.content.traceback).toEqual([`UsageError: ${bad.reply.content.evalue}`]);
    const unknown = await kernel.execute("%train --epoch 3");
    expect(unknown.reply.content.evalue).toMatch(/unknown flag --epoch \(did you mean --epochs\?\)/);
    const missing = await kernel.execute("%train --epochs $nope");
    expect(missing.reply.content.evalue).toMatch(/\$nope is not a notebook variable/);
    const after = await kernel.execute("kept");
    expect(resultText(after)).toBe("'still here'");
  });

  it("runs TypeScript and magic lines of one cell in order, and binds results with --as", async () => {
    const r = await kernel.execute("console.log('before');\n%lsmagic --as magics\nconsole.log('after', magics.length > 3)");
    expect(r.reply.content.status).toBe("ok");
    const kinds = r.outputs.filter((o) => o.msg_type !== "execute_input").map((o) => o.msg_type);
    expect(kinds).toEqual(["stream", "display_data", "stream"]);
    expect(r.outputs[1].content.text).toBe("before\n");
    expect(find(r, "display_data")!.content.data["text/html"]).toContain("%train");
    const later = await kernel.execute("magics.map((m: { name: string }) => m.name).includes('%verify_env')");
    expect(resultText(later)).toBe("true");
  });

  it("shows help in the pager for %name? and on stdout for --help", async () => {
    const pager = await kernel.execute("%export?");
    expect(pager.reply.content.payload[0]).toMatchObject({ source: "page" });
    expect(pager.reply.content.payload[0].data["text/plain"]).toMatch(/--formats/);
    const help = await kernel.execute("%export --help");
    expect(find(help, "stream")!.content.text).toMatch(/^%export /);
  });

  it("interrupts a long await by signal within seconds and keeps state", async () => {
    await kernel.execute("let counter = 7;");
    const running = kernel.execute("await new Promise((r) => setTimeout(r, 60000)); 'never'");
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    await kernel.interrupt("signal");
    const r = await running;
    const ms = performance.now() - t0;
    expect(r.reply.content).toMatchObject({ status: "error", ename: "KeyboardInterrupt" });
    expect(ms).toBeLessThan(5000);
    expect(resultText(await kernel.execute("counter + 1"))).toBe("8");
  });

  it("interrupts a long await by interrupt_request on the control channel", async () => {
    const running = kernel.execute("await new Promise((r) => setTimeout(r, 60000))");
    await new Promise((r) => setTimeout(r, 500));
    await kernel.interrupt("message");
    const r = await running;
    expect(r.reply.content.ename).toBe("KeyboardInterrupt");
    expect(resultText(await kernel.execute("counter"))).toBe("7");
  });

  it("interrupts a synchronous busy loop by interrupt_request (control runs on its own thread)", async () => {
    const running = kernel.execute("let spins = 0; while (true) { spins++ }");
    await new Promise((r) => setTimeout(r, 800));
    await kernel.interrupt("message");
    const r = await running;
    expect(r.reply.content.ename).toBe("KeyboardInterrupt");
    expect(resultText(await kernel.execute("counter * 2"))).toBe("14");
  });

  it("survives an error thrown from a timer and shows it on the cell's stderr", async () => {
    const r = await kernel.execute("setTimeout(() => { throw new TypeError('late failure') }, 10);\nawait new Promise((r) => setTimeout(r, 200));\n'after'");
    expect(resultText(r)).toBe("'after'");
    const err = r.outputs.find((o) => o.msg_type === "stream" && o.content.name === "stderr");
    expect(err?.content.text).toBe("Uncaught exception: TypeError: late failure\n");
    expect(resultText(await kernel.execute("counter"))).toBe("7");
  });

  it("answers comm_info_request with comm_info_reply", async () => {
    const { reply } = await kernel.request("shell", "comm_info_request", {});
    expect(reply.header.msg_type).toBe("comm_info_reply");
    expect(reply.content).toEqual({ status: "ok", comms: {} });
  });

  it("answers history requests (tail, range, search)", async () => {
    await kernel.execute("'history-marker'");
    const tail = await kernel.request("shell", "history_request", { hist_access_type: "tail", n: 1, output: true, raw: true });
    expect(tail.reply.content.history).toEqual([[1, expect.any(Number), ["'history-marker'", "'history-marker'"]]]);
    const search = await kernel.request("shell", "history_request", { hist_access_type: "search", pattern: "*marker*", output: false, raw: true });
    expect(search.reply.content.history.map((h: unknown[]) => h[2])).toEqual(["'history-marker'"]);
    const line = tail.reply.content.history[0][1];
    const range = await kernel.request("shell", "history_request", { hist_access_type: "range", session: 0, start: line, stop: line + 1, output: false, raw: true });
    expect(range.reply.content.history).toEqual([[1, line, "'history-marker'"]]);
  });

  it("completes magic names and flags, and TypeScript members", async () => {
    const names = await kernel.request("shell", "complete_request", { code: "%ver", cursor_pos: 4 });
    expect(names.reply.content.matches).toEqual(["%verify_env"]);
    const flags = await kernel.request("shell", "complete_request", { code: "%train --batch-s", cursor_pos: 16 });
    expect(flags.reply.content.matches).toEqual(["--batch-size"]);
    const ts = await kernel.request("shell", "complete_request", { code: "%lsmagic\nMath.ab", cursor_pos: 16 });
    expect(ts.reply.content.matches).toContain("abs");
  });

  it("fails the cell when %train's tiers fail (run-all stops there, as the CLI exits 1), after showing and binding the summary", async () => {
    const drive = require("node:fs").mkdtempSync(require("node:path").join(require("node:os").tmpdir(), "tscolab-qa-fail-"));
    const r = await kernel.execute(`%train --data iris --tier 1 --lr 1000 --drive ${drive} --as failedRun`);
    expect(r.reply.content).toMatchObject({ status: "error", ename: "TscolabError" });
    expect(r.reply.content.evalue).toMatch(/^%train failed: tier 1 failed: .+\(fix: /);
    expect(resultText(r)).toMatch(/tier 1: failed/);
    expect(resultText(await kernel.execute("failedRun.status"))).toBe("'failed'");
  });

  it("fails the cell when %export's checks fail (a model of NaN weights), with the failing checks in one line", async () => {
    const out = require("node:fs").mkdtempSync(require("node:path").join(require("node:os").tmpdir(), "tscolab-qa-nan-"));
    await kernel.execute(
      'const tfq = require("@tensorflow/tfjs");\nconst nanModel = tfq.sequential({ layers: [tfq.layers.dense({ units: 2, inputShape: [3] })] });\nnanModel.layers[0].setWeights([tfq.fill([3, 2], NaN), tfq.zeros([2])]);',
    );
    const r = await kernel.execute(`%export nanModel --formats tfjs --out ${out}`);
    expect(r.reply.content).toMatchObject({ status: "error", ename: "TscolabError" });
    expect(r.reply.content.evalue).toMatch(/^%export failed: source\.params_finite: the model to export has 6 NaN\/Inf parameters.*\(report: .*health_report\.md\)$/);
  });

  it("aborts queued cells after an error (stop_on_error)", async () => {
    const failing = kernel.execute("await new Promise((r) => setTimeout(r, 300)); throw new Error('first')");
    const queued = kernel.execute("'should not run'");
    expect((await failing).reply.content.status).toBe("error");
    expect((await queued).reply.content.status).toBe("aborted");
    expect(resultText(await kernel.execute("'runs again'"))).toBe("'runs again'");
  });
});
