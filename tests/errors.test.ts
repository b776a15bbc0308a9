// Which errors a cell shows as one line: decided by class (UserFacingError and
// its subclasses, zod's ZodError), never by the error's name; anything else is
// a bug and keeps its stack trace.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { registerMagic } from "../magics/registry";
import { UserFacingError } from "../engine/errors";
import { CellExecutor, magicErrorInfo } from "../kernel/execute";
import { TsRunner } from "../kernel/ts_runner";
import type { OutputSink } from "../kernel/display";

/** A user-facing error whose name no list of known names would contain. */
class DriveHiccup extends UserFacingError {
  override name = "DriveHiccup";
}

describe("magicErrorInfo", () => {
  it("shows a UserFacingError subclass with an unusual name as one line", () => {
    expect(magicErrorInfo(new DriveHiccup("the Drive blinked; run the cell again"))).toEqual({
      ename: "DriveHiccup",
      evalue: "the Drive blinked; run the cell again",
      traceback: ["DriveHiccup: the Drive blinked; run the cell again"],
    });
  });

  it("shows zod's report on bad input as one line", () => {
    const bad = z.object({ epochs: z.number() }).safeParse({ epochs: "ten" });
    expect(bad.success).toBe(false);
    const info = magicErrorInfo(bad.error);
    expect(info.ename).toBe("ZodError");
    expect(info.traceback).toEqual([`ZodError: ${info.evalue}`]);
  });

  it("keeps a plain Error's stack trace, even one that borrows a user-facing name", () => {
    for (const e of [new Error("a bug"), Object.assign(new Error("a bug"), { name: "UsageError" })]) {
      const info = magicErrorInfo(e);
      expect(info.traceback[0]).toBe(`${e.name}: a bug`);
      expect(info.traceback.length).toBeGreaterThan(1);
      expect(info.traceback.slice(1).every((l) => /^\s+at /.test(l))).toBe(true);
    }
  });
});

describe("a magic's error in a cell", () => {
  registerMagic({
    name: "test_hiccup",
    summary: "throws a DriveHiccup, or a plain Error with --bug",
    args: z.object({ bug: z.boolean().default(false) }),
    run: async ({ bug }) => {
      throw bug ? new Error("an engine bug") : new DriveHiccup("the Drive blinked");
    },
  });
  const errors: { ename: string; evalue: string; traceback: string[] }[] = [];
  const sink: OutputSink = {
    stream: () => undefined,
    display: () => undefined,
    result: () => undefined,
    error: (ename, evalue, traceback) => void errors.push({ ename, evalue, traceback }),
    clearOutput: () => undefined,
  };
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-errors-"));
  const executor = new CellExecutor(new TsRunner(cwd), cwd);

  it("fails the cell with one line for the user-facing error and a traceback for the bug", async () => {
    const hiccup = await executor.run("%test_hiccup", 1, sink);
    expect(hiccup.status).toBe("error");
    expect(errors[0]).toEqual({ ename: "DriveHiccup", evalue: "the Drive blinked", traceback: ["DriveHiccup: the Drive blinked"] });
    const bug = await executor.run("%test_hiccup --bug", 2, sink);
    expect(bug.status).toBe("error");
    expect(errors[1]!.traceback[0]).toBe("Error: an engine bug");
    expect(errors[1]!.traceback.length).toBeGreaterThan(1);
  });
});
