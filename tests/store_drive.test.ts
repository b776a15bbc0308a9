// %drive through the same registry path the kernel and the CLI use.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import "../magics/drive/magic";
import { invokeMagic } from "../magics/registry";
import { resolveDriveRoot } from "../engine/store/drive_root";
import { commitCheckpoint, createRun, updateRunJson } from "../engine/store";
import type { MagicContext } from "../magics/types";
import type { DriveStatus } from "../engine/store/drive";

function ctx(cwd: string): MagicContext & { out: string } {
  const c = {
    out: "",
    cwd,
    signal: new AbortController().signal,
    variables: {},
    rich: true,
    display: () => ({ update() {} }),
    stdout(t: string) {
      c.out += t;
    },
    stderr() {},
  };
  return c;
}

test("%drive mount creates and tests the folder, sets the root; %drive status lists runs newest first with free space", async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-drive-"));
  const mounted = await invokeMagic("drive", "mount my_drive", ctx(cwd));
  const m = mounted.result as DriveStatus;
  expect(m.root).toBe(path.join(cwd, "my_drive"));
  expect(fs.existsSync(path.join(cwd, "my_drive", "tscolab", "runs"))).toBe(true);
  expect(fs.readdirSync(path.join(cwd, "my_drive", "tscolab", "runs"))).toEqual([]);
  expect(resolveDriveRoot(undefined, "/")).toBe(m.root);
  expect(m.freeBytes).toBeGreaterThan(0);
  expect(mounted.bundle!["text/plain"]).toMatch(/Runs: 0 \(start one with %train\)/);

  const a = await createRun(m.root, { runName: "first", now: new Date("2026-01-01T00:00:00Z") });
  const b = await createRun(m.root, { runName: "second", now: new Date("2026-01-02T00:00:00Z") });
  await commitCheckpoint(b.runDir, { step: 40, epoch: 1, files: { "w.bin": Buffer.alloc(2048) }, isBest: true });
  await commitCheckpoint(b.runDir, { step: 80, epoch: 2, files: { "w.bin": Buffer.alloc(2048) } });
  await updateRunJson(b.runDir, { status: "interrupted", resumable: true });
  const status = await invokeMagic("drive", "status", ctx(cwd));
  const s = status.result as DriveStatus;
  expect(s.runs.map((r) => r.runId)).toEqual([b.runId, a.runId]);
  expect(s.runs[0]).toMatchObject({ status: "interrupted", resumable: true, checkpoints: 2, newestStep: 80, bestStep: 40 });
  expect(s.runs[0]!.bytes).toBeGreaterThan(3 * 2048);
  const text = status.bundle!["text/plain"];
  expect(text).toContain(`Drive root: ${m.root}`);
  expect(text).toMatch(new RegExp(`${b.runId}\\s+interrupted\\s+yes\\s+2\\s+80\\s+40`));
  expect(status.bundle!["text/html"]).toContain(`<td style="text-align:left">${a.runId}</td>`);

  fs.writeFileSync(path.join(b.runDir, "checkpoints", "step-000000080", "w.bin"), Buffer.alloc(2048, 1));
  const verified = await invokeMagic("drive", "status --verify", ctx(cwd));
  expect((verified.result as DriveStatus).runs[0]!.verified).toEqual({
    valid: 1,
    corrupt: [expect.stringMatching(/^step-000000080 is corrupt: w\.bin: sha256 mismatch: expected sha256 [0-9a-f]{64}, found [0-9a-f]{64}$/)],
  });
  expect(verified.bundle!["text/plain"]).toMatch(new RegExp(`${b.runId}\\s+interrupted\\s+yes\\s+1 valid / 2`));
  expect(verified.bundle!["text/plain"]).toContain(`Corrupt checkpoints (ignored by --resume):\n  ${b.runId}: step-000000080 is corrupt: w.bin: sha256 mismatch`);

  const file = path.join(cwd, "a_file");
  fs.writeFileSync(file, "x");
  await expect(invokeMagic("drive", `mount ${file}`, ctx(cwd))).rejects.toThrow(/cannot mount .*a_file: it is a file, not a folder/);
  await expect(invokeMagic("drive", "eject", ctx(cwd))).rejects.toThrow(/UsageError|action|mount|status/);
});

// Node's recursive mkdir loops forever when mkdir answers ENOENT under a parent
// that exists (/proc does; some FUSE mounts too): %drive mount /proc/x used to
// hang the kernel at 100% CPU, deaf to the stop button and SIGTERM.
test.runIf(fs.existsSync("/proc/self"))("%drive mount of a folder that cannot be created fails in one line instead of hanging", async () => {
  const { driveMount } = await import("../engine/store/drive");
  const t0 = Date.now();
  await expect(driveMount("/proc/tscolab-qa-drive")).rejects.toThrow(/cannot mount \/proc\/tscolab-qa-drive/);
  expect(Date.now() - t0).toBeLessThan(2000);
});
