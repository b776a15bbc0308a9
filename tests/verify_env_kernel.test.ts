// The kernel never goes down: a notebook folder whose tfjs-node aborts and
// whose tfjs-node-gpu hangs on load, %verify_env in a real tscolab kernel
// (over ZeroMQ), and the kernel's state is intact afterwards.
// Needs the compiled kernel (`npx tsc -p .`, which `npm test` runs first).
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelClient } from "../kernel/client";
import { cleanScratch, envWithFakeSmi, fakePackage, installFakeNative, scratchDir } from "./fixtures/verify_env/scratch";

let kernel: KernelClient;
let notebook: string;

beforeAll(async () => {
  if (!fs.existsSync(path.join(__dirname, "..", "dist", "cli", "main.js"))) throw new Error("dist/ is not built: run `npx tsc -p .` (npm test does it in pretest)");
  notebook = scratchDir("kernel");
  installFakeNative(notebook, "abort", "tfjs-node");
  installFakeNative(notebook, "hang", "tfjs-node-gpu");
  kernel = await KernelClient.start({ cwd: notebook, env: envWithFakeSmi("t4", { TSCOLAB_PROBE_TIMEOUT: "3" }) });
});

afterAll(async () => {
  await kernel?.shutdown();
  cleanScratch();
});

const text = (r: Awaited<ReturnType<KernelClient["execute"]>>) =>
  r.outputs
    .filter((o) => o.msg_type === "execute_result" || o.msg_type === "display_data" || o.msg_type === "stream")
    .map((o) => String(o.content.data?.["text/plain"] ?? o.content.text ?? ""))
    .join("\n");

describe("%verify_env inside the kernel", () => {
  it("reports a crashing and a hanging binding, and the kernel and its variables survive", async () => {
    await kernel.execute("let kept: number = 41;");
    const r = await kernel.execute("%verify_env --as env");
    expect(r.reply.content.status).toBe("ok");
    const shown = text(r);
    expect(shown).toMatch(/@tensorflow\/tfjs-node crashed with SIGABRT during require/);
    expect(shown).toMatch(/@tensorflow\/tfjs-node-gpu hung during require \(killed after 3 s\)/);
    expect(shown).toMatch(/Tesla T4 detected, but training will run on the CPU \(wasm\)/);
    const result = r.outputs.find((o) => o.msg_type === "execute_result");
    expect(String(result?.content.data?.["text/html"])).toMatch(/<table/);
    // The probes took seconds: one progress display, updated in place, not a flood.
    expect(r.outputs.filter((o) => o.msg_type === "display_data")).toHaveLength(1);
    expect(r.outputs.filter((o) => o.msg_type === "update_display_data")).toHaveLength(1);
    const after = await kernel.execute("`${kept + 1} ${env.backend.selected} ${env.profile.name} ${env.gpu.devices[0].tier}`");
    expect(after.reply.content.status).toBe("ok");
    expect(text(after)).toContain("42 wasm cpu optimized");
    expect(kernel.child?.exitCode).toBeNull();
  });
});

describe("%verify_env failing in a notebook", () => {
  it("shows the report, then fails the cell so run-all stops there (as the CLI exits 1)", async () => {
    const folder = scratchDir("kernel-fail");
    fakePackage(folder, "@tensorflow/tfjs-core", "3.21.0"); // a second, older tfjs-core where cells import from
    const k = await KernelClient.start({ cwd: folder, env: envWithFakeSmi("t4", { TSCOLAB_PROBE_TIMEOUT: "3" }) });
    try {
      await k.execute("let kept = 'here';");
      const r = await k.execute("%verify_env --as env");
      expect(r.reply.content).toMatchObject({ status: "error", ename: "TscolabError" });
      expect(r.reply.content.evalue).toMatch(/^%verify_env failed: .*tfjs-core/);
      expect(r.outputs.some((o) => o.msg_type === "execute_result")).toBe(true);
      const after = await k.execute("`${env.status} ${kept}`");
      expect(after.outputs.find((o) => o.msg_type === "execute_result")?.content.data["text/plain"]).toBe("'fail here'");
    } finally {
      await k.shutdown();
    }
  });
});
