// Shutting the kernel down is clean every time: started and stopped by
// jupyter_client as Jupyter Notebook does, the process exits with code 0 and
// no native abort ("terminate called after throwing an instance of
// 'Napi::Error'", which came about 1 in 13 shutdowns when the process exited
// while the control thread was still closing its ZeroMQ sockets). And a
// restart in the middle of training leaves no frozen progress bar behind.
//
// TSCOLAB_SHUTDOWN_CYCLES sets the number of cycles (default 20, about a
// minute); `python3 tests/jupyter/shutdown_cycles.py 200` is the long soak.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KernelClient } from "../kernel/client";
import type { Message } from "../kernel/wire";
import { kernelspecEnv, requirePython } from "./helpers/jupyter";

const python = requirePython(["jupyter_client"], "the shutdown cycles test");
const CYCLES = Number(process.env.TSCOLAB_SHUTDOWN_CYCLES ?? 20);

describe.skipIf(!python)("start/stop cycles through jupyter_client", () => {
  const { env, prefix } = python ? kernelspecEnv() : { env: {}, prefix: "" };
  afterAll(() => prefix && fs.rmSync(prefix, { recursive: true, force: true }));

  it(`${CYCLES} cycles: every kernel exits by itself with code 0, never an abort`, () => {
    const res = spawnSync(python!, [path.join(__dirname, "jupyter", "shutdown_cycles.py"), String(CYCLES)], { cwd: os.tmpdir(), env, encoding: "utf8", timeout: 600_000 });
    const lines = res.stdout.trim().split("\n").filter(Boolean);
    const summary = JSON.parse(lines[lines.length - 1] ?? "{}") as { cycles: number; clean: number; aborts: number; per_cycle_ms: number };
    console.log(`shutdown cycles: ${JSON.stringify(summary)}`);
    expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
    expect(summary).toMatchObject({ cycles: CYCLES, clean: CYCLES, aborts: 0 });
  }, 660_000);
});

describe("a restart while %train runs", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-shutdown-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("marks the live progress display as stopped, then exits cleanly", async () => {
    const kernel = await KernelClient.start({ cwd: dir, env: { ...process.env, TSCOLAB_BACKEND: "wasm" } });
    const seen: Message[] = [];
    let firstDisplay: (m: Message) => void = () => {};
    const displayed = new Promise<Message>((resolve) => (firstDisplay = resolve));
    kernel.addIopubListener((m) => {
      seen.push(m);
      if (m.header.msg_type === "update_display_data" && /epoch [1-9]/.test(String(m.content.data["text/plain"]))) firstDisplay(m);
    });
    void kernel.execute("%train --data iris --epochs 2000 --batch-size 8 --tier 3");
    const live = await displayed; // training is under way, with an ETA on screen
    const id = live.content.transient.display_id as string;
    expect(String(live.content.data["text/plain"])).toMatch(/ETA /);

    const reply = await kernel.request("control", "shutdown_request", { restart: true }, { waitIdle: false });
    expect(reply.reply.content).toMatchObject({ status: "ok", restart: true });
    const exit = await kernel.exit!;
    await new Promise((r) => setTimeout(r, 200)); // the last iopub messages
    await kernel.shutdown();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(kernel.stderrText).not.toMatch(/terminate called|Napi::Error|Aborted/);
    const last = seen.filter((m) => m.header.msg_type === "update_display_data" && m.content.transient?.display_id === id).pop()!;
    expect(String(last.content.data["text/plain"])).toMatch(/\n⏹ stopped: the kernel restarted$/);
    expect(String(last.content.data["text/html"])).toMatch(/⏹ stopped: the kernel restarted<\/div>$/);
  });
});
